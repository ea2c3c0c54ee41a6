// Package ratelimit owns the rate limits that every process of the engine
// shares: the API's limit per API key and per client address, the mail
// workers' sending rate per relay, and lead enrichment's pace per domain
// (domain.go). A limit's state lives in Redis and is
// read and changed in one round trip, timed by Redis's clock, so any number
// of processes, with clocks that disagree, see one bucket.
//
// The buckets are github.com/go-redis/redis_rate's GCRA (the generic cell
// rate algorithm, a token bucket kept as one timestamp: when the bucket will
// be full again). This package adds what the callers need around it: limits
// with fractional rates, checked before Redis is asked, errors in the
// domain's terms, and the relay throttle (relay.go). It replaced a Lua token
// bucket of our own; the one thing that bucket did and GCRA does not is
// recover at once when Redis's clock steps back (a failover to a server whose
// clock is behind): a GCRA bucket then waits for the clock to catch up, at
// most the size of the step (TestRedisClockSteppedBackStallsTheBucket).
//
// It keeps no state of its own but caches: a bucket is only its Redis key,
// which expires about when the bucket is full again, and the tokens a relay
// throttle takes ahead of need were taken from that bucket. It knows
// nothing of HTTP or SMTP either: answering 429, or lowering a relay's rate
// when the relay says "slow down", is the caller's decision. The limit is
// passed with every call and is not stored; telling the other processes of a
// new rate is the caller's job.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/nurture-email/nurture"
)

// Limiter takes tokens from buckets kept in Redis. It is safe for concurrent
// use, and Limiters of different processes built with the same client
// settings and prefix share their buckets.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	gcra   *redis_rate.Limiter
}

// New returns a Limiter whose buckets live in rdb under keys that contain
// prefix, such as "nurture:rl:", so they cannot collide with other data
// (redis_rate puts "rate:" before it). Give it a client from NewClient when
// callers bound their calls with a context deadline.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, gcra: redis_rate.NewLimiter(rdb)}
}

// NewClient returns a Redis client for limiters, from the options of the
// engine's Redis (one server, or a primary found through Sentinel: the
// client is then a failover client with the same settings). Unlike
// go-redis's default it honours context deadlines on every read and write,
// so a caller that gives a limit check a budget of a few milliseconds gets
// its answer (or an error) within it even when Redis hangs or fails over;
// with the default a call waits for the client's own 3 s timeouts. It
// keeps a few connections open, dialled in the background: a dial (TLS to
// a distant Redis, say) may take longer than such a budget, and would
// otherwise be given up every time.
func NewClient(opt *redis.UniversalOptions) redis.UniversalClient {
	return redis.NewUniversalClient(ClientOptions(opt))
}

// ClientOptions are the options of NewClient's client, a copy of opt, for
// a caller that needs to change one of them (a test stretching the
// client's own timeouts).
func ClientOptions(opt *redis.UniversalOptions) *redis.UniversalOptions {
	o := *opt
	o.ContextTimeoutEnabled = true
	o.MinIdleConns = max(o.MinIdleConns, minIdleConns)
	return &o
}

// minIdleConns is how many connections a limiter's client keeps ready.
const minIdleConns = 4

// Limit is how fast a bucket refills and how much it holds. It travels with
// every call rather than living in Redis, so changing it needs no migration
// and takes effect on the next call.
type Limit struct {
	// Rate is the tokens added per second; it may be fractional (0.5 is one
	// token every two seconds), from MinRate up.
	Rate float64
	// Burst is the bucket's capacity: how many tokens an idle key can spend
	// at once.
	Burst int
}

// MinRate is the slowest Rate a Limit may have: one token in about eleven
// days. (A bucket's period must fit in a time.Duration.)
const MinRate = 1e-6

// Validate reports a Rate that is not a finite number of at least MinRate or
// a Burst below 1 as an invalid-input error naming the field. Check limits
// read from configuration with it at start-up; Allow checks them on every
// call anyway.
func (lim Limit) Validate() error {
	if !(lim.Rate >= MinRate) || math.IsInf(lim.Rate, 1) {
		return nurture.FieldError("Rate", "must be a finite number of tokens per second of at least %g, not %v", MinRate, lim.Rate)
	}
	if lim.Burst < 1 {
		return nurture.FieldError("Burst", "must be at least 1, not %d", lim.Burst)
	}
	return nil
}

// gcra expresses lim in redis_rate's terms, which count whole events per
// period: N events every N/Rate seconds, with N chosen so that the period is
// about 1,000 s and its rounding to nanoseconds costs nothing measurable.
func (lim Limit) gcra() redis_rate.Limit {
	n := max(1, math.Round(lim.Rate*1000))
	return redis_rate.Limit{Rate: int(n), Burst: lim.Burst, Period: time.Duration(n / lim.Rate * float64(time.Second))}
}

// Result is the answer to one request for tokens.
type Result struct {
	// Allowed says whether the tokens were taken.
	Allowed bool
	// Remaining is the whole tokens left in the bucket after this call.
	Remaining int
	// RetryAfter is how long until the tokens asked for will be there, when
	// they were refused, rounded up to the microsecond; 0 when allowed.
	// Nothing is reserved: another caller may take them first.
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
	res, err := l.gcra.AllowN(ctx, l.prefix+key, lim.gcra(), n)
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return Result{Allowed: true, Remaining: res.Remaining}, nil
	}
	// A refusal reports no tokens left; what is left follows from when the
	// bucket will be full. A millionth of a token covers the rounding of
	// the seconds redis_rate prints.
	left := math.Floor(float64(lim.Burst) - res.ResetAfter.Seconds()*lim.Rate + 1e-6)
	return Result{
		Remaining:  int(min(max(left, 0), float64(lim.Burst))),
		RetryAfter: (res.RetryAfter + time.Microsecond - 1).Truncate(time.Microsecond),
	}, nil
}
