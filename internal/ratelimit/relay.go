package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// RelayThrottle is one SMTP relay's sending rate, shared by every worker.
// When the relay says it is overwhelmed (421, 454), SlowDown halves the rate
// for every worker, down to a sixteenth; the rate recovers by itself once
// the relay has been quiet for PenaltyTTL. The slow-down level is the one
// piece of state besides the bucket: a Redis key that expires.
type RelayThrottle struct {
	limiter *Limiter
	relay   string
	base    Limit

	mu        sync.Mutex
	level     int       // cached slow-down level: the rate is base / 2^level
	refreshed time.Time // when level was last read from Redis

	// held are tokens taken from the shared bucket ahead of need, at level
	// heldLevel, to be spent before heldUntil: asking Redis for every
	// message cost a round trip per email.
	held      int
	heldLevel int
	heldUntil time.Time
}

// Tokens are taken from the shared bucket ahead of need by the
// holdFor-worth at the current rate, and spent within heldFor; held
// tokens were taken from the shared bucket, so every worker together still
// keeps to the rate, and a worker that stops sending wastes at most that.
const (
	holdFor = 50 * time.Millisecond
	heldFor = time.Second
)

// PenaltyTTL is how long a slow-down lasts after the relay's last complaint.
const PenaltyTTL = 2 * time.Minute

const maxPenaltyLevel = 4

// NewRelayThrottle returns the throttle of the relay named relay (its host,
// say) at base messages per second.
func NewRelayThrottle(l *Limiter, relay string, base Limit) (*RelayThrottle, error) {
	if err := base.Validate(); err != nil {
		return nil, err
	}
	return &RelayThrottle{limiter: l, relay: relay, base: base}, nil
}

func (t *RelayThrottle) penaltyKey() string { return t.limiter.prefix + "relay-penalty:" + t.relay }

// currentLevel reads the slow-down level, at most once a second.
func (t *RelayThrottle) currentLevel(ctx context.Context) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.refreshed) < time.Second {
		return t.level
	}
	v, err := t.limiter.rdb.Get(ctx, t.penaltyKey()).Result()
	level := 0
	if err == nil {
		level, _ = strconv.Atoi(v)
	}
	t.level, t.refreshed = min(max(level, 0), maxPenaltyLevel), time.Now()
	return t.level
}

// Take asks for one send now. When the rate is used up it says how long to
// wait.
func (t *RelayThrottle) Take(ctx context.Context) (bool, time.Duration, error) {
	level := t.currentLevel(ctx)
	t.mu.Lock()
	if t.held > 0 && t.heldLevel == level && time.Now().Before(t.heldUntil) {
		t.held--
		t.mu.Unlock()
		return true, 0, nil
	}
	t.mu.Unlock()

	lim := Limit{Rate: t.base.Rate / float64(int(1)<<level), Burst: max(1, t.base.Burst>>level)}
	n := min(max(1, int(lim.Rate*holdFor.Seconds())), lim.Burst)
	r, err := t.limiter.AllowN(ctx, "relay:"+t.relay, lim, n)
	if err == nil && !r.Allowed && n > 1 {
		n = 1 // fewer than a handful are left: take one
		r, err = t.limiter.Allow(ctx, "relay:"+t.relay, lim)
	}
	if err != nil {
		return false, 0, err
	}
	if r.Allowed && n > 1 {
		t.mu.Lock()
		if t.heldLevel != level || !time.Now().Before(t.heldUntil) {
			t.held = 0
		}
		t.held += n - 1
		t.heldLevel, t.heldUntil = level, time.Now().Add(heldFor)
		t.mu.Unlock()
	}
	return r.Allowed, r.RetryAfter, nil
}

// SlowDown halves the relay's rate for every worker, for PenaltyTTL.
func (t *RelayThrottle) SlowDown(ctx context.Context) error {
	key := t.penaltyKey()
	pipe := t.limiter.rdb.TxPipeline()
	incr := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, PenaltyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("slow down relay %s: %w", t.relay, err)
	}
	if incr.Val() > maxPenaltyLevel {
		t.limiter.rdb.Set(ctx, key, maxPenaltyLevel, PenaltyTTL)
	}
	t.mu.Lock()
	t.level, t.refreshed = min(int(incr.Val()), maxPenaltyLevel), time.Now()
	t.held = 0 // taken at the old rate
	t.mu.Unlock()
	return nil
}
