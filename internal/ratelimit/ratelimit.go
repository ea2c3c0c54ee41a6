// Package ratelimit owns the token buckets that every process of the engine
// shares: the API's limit per API key and the mail workers' sending rate per
// relay. A bucket lives in Redis and is read and changed by one Lua script
// in one round trip, timed by Redis's clock, so any number of processes, with
// clocks that disagree, see one bucket.
//
// It keeps no state of its own but caches: a bucket is only its Redis key,
// which expires once the bucket is full again, and the tokens a relay
// throttle takes ahead of need were taken from that bucket. It knows
// nothing of HTTP or SMTP either: answering 429, or lowering a relay's rate
// when the relay says "slow down", is the caller's decision. The limit is
// passed with every call and is not stored, so a caller that passes a lower
// Rate slows the shared bucket from that call on; telling the other processes
// the new rate is the caller's job too.
package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nurture-email/nurture"
)

//go:embed bucket.lua
var bucketLua string

// Limiter takes tokens from buckets kept in Redis. It is safe for concurrent
// use, and Limiters of different processes built with the same client
// settings and prefix share their buckets.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	bucket *redis.Script
}

// New returns a Limiter whose buckets live in rdb under keys that start with
// prefix, such as "nurture:rl:", so they cannot collide with other data.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, bucket: redis.NewScript(bucketLua)}
}

// Limit is how fast a bucket refills and how much it holds. It travels with
// every call rather than living in Redis, so changing it needs no migration
// and takes effect on the next call.
type Limit struct {
	// Rate is the tokens added per second; it may be fractional (0.5 is one
	// token every two seconds).
	Rate float64
	// Burst is the bucket's capacity: how many tokens an idle key can spend
	// at once.
	Burst int
}

// Validate reports a Rate that is not a positive finite number or a Burst
// below 1 as an invalid-input error naming the field. Check limits read from
// configuration with it at start-up; Allow checks them on every call anyway.
func (lim Limit) Validate() error {
	if !(lim.Rate > 0) || math.IsInf(lim.Rate, 1) {
		return nurture.FieldError("Rate", "must be a positive number of tokens per second, not %v", lim.Rate)
	}
	if lim.Burst < 1 {
		return nurture.FieldError("Burst", "must be at least 1, not %d", lim.Burst)
	}
	return nil
}

// Result is the answer to one request for tokens.
type Result struct {
	// Allowed says whether the tokens were taken.
	Allowed bool
	// Remaining is the whole tokens left in the bucket after this call.
	Remaining int
	// RetryAfter is how long until the tokens asked for will be there, when
	// they were refused; 0 when allowed. Nothing is reserved: another caller
	// may take them first.
	RetryAfter time.Duration
}

// Allow takes one token from the bucket named key, if it has one.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	return l.AllowN(ctx, key, lim, 1)
}

// AllowN takes n tokens from the bucket named key if it has them all, and
// otherwise takes none. An n above lim.Burst could never be allowed, so it is
// an invalid-input error, as are n < 1, an empty key and an invalid limit;
// Redis errors come back wrapped, and whether to let the request through
// then is the caller's choice.
func (l *Limiter) AllowN(ctx context.Context, key string, lim Limit, n int) (Result, error) {
	if err := lim.Validate(); err != nil {
		return Result{}, err
	}
	switch {
	case key == "":
		return Result{}, nurture.FieldError("key", "is required")
	case n < 1:
		return Result{}, nurture.FieldError("n", "must be at least 1, not %d", n)
	case n > lim.Burst:
		return Result{}, nurture.FieldError("n", "is %d, more than the burst of %d: it could never be allowed", n, lim.Burst)
	}

	reply, err := l.bucket.Run(ctx, l.rdb, []string{l.prefix + key},
		strconv.FormatFloat(lim.Rate, 'g', -1, 64), lim.Burst, n).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(reply) != 3 {
		return Result{}, fmt.Errorf("rate limit %s: script replied %v", key, reply)
	}
	return Result{
		Allowed:    reply[0] == 1,
		Remaining:  int(reply[1]),
		RetryAfter: time.Duration(reply[2]) * time.Microsecond,
	}, nil
}
