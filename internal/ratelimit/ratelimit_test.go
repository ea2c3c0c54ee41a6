package ratelimit_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/testkit"
)

func TestBurstIsHonoured(t *testing.T) {
	t.Parallel()
	// Rates slow enough that a token coming back during the test would take
	// seconds of stalling: exactly Burst calls must pass, then none.
	for _, lim := range []ratelimit.Limit{
		{Rate: 0.5, Burst: 1},
		{Rate: 0.5, Burst: 10},
		{Rate: 0.25, Burst: 3},
		{Rate: 0.1, Burst: 50},
		{Rate: 0.01, Burst: 7},
	} {
		t.Run(fmt.Sprintf("rate %v burst %d", lim.Rate, lim.Burst), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()

			start := time.Now()
			for i := 1; i <= lim.Burst; i++ {
				res, err := b.limiter.Allow(ctx, "key", lim)
				require.NoError(t, err)
				require.Equal(t, ratelimit.Result{Allowed: true, Remaining: lim.Burst - i}, res, "call %d", i)
			}
			res, err := b.limiter.Allow(ctx, "key", lim)
			elapsed := time.Since(start)
			require.NoError(t, err)
			require.False(t, res.Allowed, "call %d of a burst of %d", lim.Burst+1, lim.Burst)
			require.Zero(t, res.Remaining)
			// The first token comes back 1/Rate after the first call, which
			// was at most `elapsed` ago.
			requireWithin(t, res.RetryAfter, perToken(lim)-elapsed-time.Millisecond, perToken(lim)+time.Microsecond, "RetryAfter")
		})
	}
}

func TestRefill(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 100, Burst: 5} // a token every 10 ms

	// Drain the bucket; at 100/s a token may come back while we do.
	var res ratelimit.Result
	var err error
	for range 1000 {
		res, err = b.limiter.Allow(ctx, "key", lim)
		require.NoError(t, err)
		if !res.Allowed {
			break
		}
	}
	require.False(t, res.Allowed, "1000 calls at 100/s with a burst of 5 were all allowed")
	requireWithin(t, res.RetryAfter, time.Microsecond, perToken(lim), "RetryAfter")

	// The promised token is there once RetryAfter has passed.
	time.Sleep(res.RetryAfter)
	res, err = b.limiter.Allow(ctx, "key", lim)
	require.NoError(t, err)
	require.True(t, res.Allowed, "no token %v after RetryAfter", res.RetryAfter)

	// After Burst/Rate the bucket is full again, and no fuller.
	time.Sleep(time.Duration(lim.Burst) * perToken(lim))
	res, err = b.limiter.Allow(ctx, "key", lim)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Result{Allowed: true, Remaining: lim.Burst - 1}, res)
}

func TestKeysAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 0.01, Burst: 2}

	drain := func(t *testing.T, l *ratelimit.Limiter, key string) {
		t.Helper()
		for i := range lim.Burst {
			res, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.True(t, res.Allowed, "call %d", i+1)
		}
		res, err := l.Allow(ctx, key, lim)
		require.NoError(t, err)
		require.False(t, res.Allowed)
	}

	t.Run("keys", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		drain(t, b.limiter, "key_a")
		drain(t, b.limiter, "key_b")
		require.ElementsMatch(t, []string{b.bucketKey("key_a"), b.bucketKey("key_b")}, b.keys(t))
	})

	t.Run("prefixes", func(t *testing.T) {
		t.Parallel()
		b1, b2 := setup(t), setup(t)
		drain(t, b1.limiter, "key")
		drain(t, b2.limiter, "key")
	})

	t.Run("one bucket for processes sharing a prefix", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		other := ratelimit.New(b.newClient(t), b.prefix) // as another process would
		res, err := b.limiter.Allow(ctx, "key", lim)
		require.NoError(t, err)
		require.True(t, res.Allowed)
		res, err = other.Allow(ctx, "key", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)
		res, err = b.limiter.Allow(ctx, "key", lim)
		require.NoError(t, err)
		require.False(t, res.Allowed)
	})
}

func TestConcurrentCallersShareTheBucket(t *testing.T) {
	t.Parallel()
	const goroutines, calls = 8, 40
	for _, tc := range []struct {
		lim ratelimit.Limit
		n   int
	}{
		{lim: ratelimit.Limit{Rate: 0.01, Burst: 20}, n: 1}, // exactly 20 tokens
		{lim: ratelimit.Limit{Rate: 50, Burst: 20}, n: 1},   // a relay at 50 messages/s
		{lim: ratelimit.Limit{Rate: 50, Burst: 20}, n: 3},
		{lim: ratelimit.Limit{Rate: 1000, Burst: 100}, n: 1},
	} {
		t.Run(fmt.Sprintf("rate %v burst %d n %d", tc.lim.Rate, tc.lim.Burst, tc.n), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// Two Limiters with clients of their own, as two processes have.
			limiters := []*ratelimit.Limiter{b.limiter, ratelimit.New(b.newClient(t), b.prefix)}

			var (
				mu      sync.Mutex
				granted int
				wg      sync.WaitGroup
				errs    = make(chan error, goroutines)
			)
			start := time.Now()
			for g := range goroutines {
				wg.Go(func() {
					l := limiters[g%len(limiters)]
					for range calls {
						res, err := l.AllowN(context.Background(), "relay", tc.lim, tc.n)
						if err != nil {
							errs <- err
							return
						}
						if res.Allowed {
							mu.Lock()
							granted += tc.n
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}

			most := tc.lim.Burst + int(elapsed.Seconds()*tc.lim.Rate)
			least := tc.lim.Burst - tc.lim.Burst%tc.n // the full bucket, in takes of n
			t.Logf("%d tokens granted in %v (at most %d)", granted, elapsed, most)
			require.LessOrEqual(t, granted, most, "more tokens than Burst + elapsed*Rate")
			require.GreaterOrEqual(t, granted, least, "a full bucket was not spent")
		})
	}
}

func TestAllowN(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 0.1, Burst: 10} // a token every 10 s

	start := time.Now()
	for _, step := range []struct {
		n         int
		allowed   bool
		remaining int
		tokensDue int // tokens missing when refused
	}{
		{n: 4, allowed: true, remaining: 6},
		{n: 7, allowed: false, remaining: 6, tokensDue: 1}, // refused, takes nothing
		{n: 6, allowed: true, remaining: 0},
		{n: 1, allowed: false, remaining: 0, tokensDue: 1},
		{n: 10, allowed: false, remaining: 0, tokensDue: 10},
	} {
		res, err := b.limiter.AllowN(ctx, "key", lim, step.n)
		require.NoError(t, err)
		require.Equal(t, step.allowed, res.Allowed, "AllowN(%d)", step.n)
		require.Equal(t, step.remaining, res.Remaining, "AllowN(%d)", step.n)
		if step.allowed {
			require.Zero(t, res.RetryAfter, "AllowN(%d)", step.n)
			continue
		}
		due := time.Duration(step.tokensDue) * perToken(lim)
		requireWithin(t, res.RetryAfter, due-time.Since(start)-time.Millisecond, due+time.Microsecond, fmt.Sprintf("AllowN(%d).RetryAfter", step.n))
	}

	// A whole burst at once from a fresh bucket.
	res, err := b.limiter.AllowN(ctx, "other", lim, lim.Burst)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)
}

func TestInvalidCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Cleanup(func() { // before setup's clean-up, after the subtests
		if keys := b.keys(t); len(keys) > 0 {
			t.Errorf("invalid calls wrote %v to Redis", keys)
		}
	})
	ok := ratelimit.Limit{Rate: 1, Burst: 5}
	for _, tc := range []struct {
		name     string
		emptyKey bool
		lim      ratelimit.Limit
		n        int
		field    string
	}{
		{name: "zero rate", lim: ratelimit.Limit{Rate: 0, Burst: 5}, field: "Rate"},
		{name: "negative rate", lim: ratelimit.Limit{Rate: -1, Burst: 5}, field: "Rate"},
		{name: "NaN rate", lim: ratelimit.Limit{Rate: math.NaN(), Burst: 5}, field: "Rate"},
		{name: "infinite rate", lim: ratelimit.Limit{Rate: math.Inf(1), Burst: 5}, field: "Rate"},
		{name: "zero burst", lim: ratelimit.Limit{Rate: 1, Burst: 0}, field: "Burst"},
		{name: "negative burst", lim: ratelimit.Limit{Rate: 1, Burst: -3}, field: "Burst"},
		{name: "zero limit", lim: ratelimit.Limit{}, field: "Rate"},
		{name: "rate below the least", lim: ratelimit.Limit{Rate: ratelimit.MinRate / 2, Burst: 5}, field: "Rate"},
		{name: "n above burst", lim: ok, n: 6, field: "n"},
		{name: "zero n", lim: ok, n: 0, field: "n"},
		{name: "negative n", lim: ok, n: -1, field: "n"},
		{name: "empty key", emptyKey: true, lim: ok, n: 1, field: "key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := "key"
			if tc.emptyKey {
				key = ""
			}
			n := tc.n
			if tc.field == "Rate" || tc.field == "Burst" {
				n = 1
				err := tc.lim.Validate()
				var de *nurture.Error
				require.ErrorAs(t, err, &de)
				require.Equal(t, tc.field, de.Field)
			}
			res, err := b.limiter.AllowN(context.Background(), key, tc.lim, n)
			var de *nurture.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, nurture.CodeInvalid, de.Code)
			require.Equal(t, tc.field, de.Field, "error %q", err)
			require.Zero(t, res)
		})
	}
	require.NoError(t, ok.Validate())
}

// A bucket's key lives about as long as the bucket is not full: redis_rate
// sets its expiry in whole seconds, rounded up.
func TestKeysExpireWhenFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("fast", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		lim := ratelimit.Limit{Rate: 100, Burst: 10} // full again 30 ms after 3 are taken
		res, err := b.limiter.AllowN(ctx, "key", lim, 3)
		require.NoError(t, err)
		require.True(t, res.Allowed)
		ttl, err := b.rdb.PTTL(ctx, b.bucketKey("key")).Result()
		require.NoError(t, err)
		requireWithin(t, ttl, time.Millisecond, time.Second, "PTTL")

		deadline := time.Now().Add(10 * time.Second) // a bound for failing, not a timing
		for len(b.keys(t)) > 0 {
			require.True(t, time.Now().Before(deadline), "the key is still there")
			time.Sleep(20 * time.Millisecond)
		}
		// Gone means full.
		res, err = b.limiter.AllowN(ctx, "key", lim, lim.Burst)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)
	})

	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		lim := ratelimit.Limit{Rate: 0.5, Burst: 4} // a token every 2 s
		start := time.Now()
		for _, step := range []struct {
			n      int
			fullIn time.Duration
		}{
			{n: 1, fullIn: 2 * time.Second}, // 1 token missing
			{n: 2, fullIn: 6 * time.Second}, // 3 missing
		} {
			res, err := b.limiter.AllowN(ctx, "key", lim, step.n)
			require.NoError(t, err)
			require.True(t, res.Allowed)
			ttl, err := b.rdb.PTTL(ctx, b.bucketKey("key")).Result()
			require.NoError(t, err)
			requireWithin(t, ttl, step.fullIn-time.Since(start)-time.Millisecond, step.fullIn+time.Second, fmt.Sprintf("PTTL after AllowN(%d)", step.n))
		}
		// A refusal changes nothing, expiry included.
		before, err := b.rdb.PTTL(ctx, b.bucketKey("key")).Result()
		require.NoError(t, err)
		res, err := b.limiter.AllowN(ctx, "key", lim, 2) // 1 left
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.Equal(t, 1, res.Remaining, "a refusal still says what is left")
		after, err := b.rdb.PTTL(ctx, b.bucketKey("key")).Result()
		require.NoError(t, err)
		require.LessOrEqual(t, after, before)
	})
}

// A limit travels with each call, so a changed one applies to the next
// call. GCRA keeps what was spent as time owed (when the bucket will be full
// again), so a lowered limit sees the debt in time, not in tokens.
func TestChangedLimitAppliesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a lowered rate and burst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// The relay throttle lowers both together, keeping a second's worth.
		fast := ratelimit.Limit{Rate: 100, Burst: 100}
		slow := ratelimit.Limit{Rate: 1, Burst: 1} // the relay said 421: slow down
		start := time.Now()
		res, err := b.limiter.AllowN(ctx, "relay", fast, fast.Burst)
		require.NoError(t, err)
		require.True(t, res.Allowed)
		res, err = b.limiter.Allow(ctx, "relay", slow)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		requireWithin(t, res.RetryAfter, perToken(slow)-time.Since(start)-time.Millisecond, perToken(slow)+time.Microsecond, "RetryAfter")
	})

	t.Run("a lowered burst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res, err := b.limiter.Allow(ctx, "key", ratelimit.Limit{Rate: 0.01, Burst: 10})
		require.NoError(t, err)
		require.Equal(t, 9, res.Remaining)
		// The token spent counts against the smaller bucket too.
		res, err = b.limiter.Allow(ctx, "key", ratelimit.Limit{Rate: 0.01, Burst: 3})
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 1}, res)
	})
}

// TestRedisClockSteppedBackStallsTheBucket fakes a bucket last touched 10 s
// in Redis's future, as after a failover to a server whose clock is behind.
// It knows redis_rate's layout: a string holding when the bucket is full
// again, in seconds since 2017-01-01. This is what GCRA costs over the Lua
// bucket this package had, which counted from the new "now" at once: the
// bucket refuses until Redis's clock has caught up with the step.
func TestRedisClockSteppedBackStallsTheBucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 100, Burst: 5}

	now, err := b.rdb.Time(ctx).Result()
	require.NoError(t, err)
	jan2017 := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 10 * time.Second
	full := now.Add(step).Sub(jan2017).Seconds()
	require.NoError(t, b.rdb.Set(ctx, b.bucketKey("key"), fmt.Sprintf("%.6f", full), time.Minute).Err())

	res, err := b.limiter.Allow(ctx, "key", lim)
	require.NoError(t, err)
	require.False(t, res.Allowed)
	// Refused until the step, less the burst's worth, has passed; never longer.
	burstTime := time.Duration(lim.Burst-1) * perToken(lim)
	requireWithin(t, res.RetryAfter, step-burstTime-time.Second, step-burstTime+time.Millisecond, "RetryAfter")
}

func TestRedisErrors(t *testing.T) {
	t.Parallel()
	lim := ratelimit.Limit{Rate: 1, Burst: 1}

	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.limiter.Allow(ctx, "key", lim)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, b.keys(t))
	})

	t.Run("no server", func(t *testing.T) {
		t.Parallel()
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
		defer rdb.Close()
		_, err := ratelimit.New(rdb, "nurture:test:").Allow(context.Background(), "key", lim)
		require.Error(t, err)
		require.Equal(t, nurture.CodeInternal, nurture.ErrorCodeOf(err), "a Redis failure is not the caller's mistake")
	})

	// A client from NewClient keeps to the caller's deadline whatever Redis
	// does: the API gives each check a few milliseconds. The client's own
	// timeouts are stretched to an hour, so only the deadline can end the
	// call before the test gives up.
	for _, tc := range []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"a stopped server", func(t *testing.T) string {
			s := testkit.NewRedisServer(t)
			s.Stop()
			return s.Addr
		}},
		{"a server that never answers", func(t *testing.T) string { return hangingServer(t).Addr().String() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opt := ratelimit.ClientOptions(&redis.UniversalOptions{Addrs: []string{tc.addr(t)}})
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Hour, time.Hour, time.Hour
			rdb := redis.NewUniversalClient(opt)
			defer rdb.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := ratelimit.New(rdb, "nurture:test:").Allow(ctx, "key", lim)
				done <- err
			}()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.DeadlineExceeded)
			case <-time.After(20 * time.Second): // a bound for failing, not a timing
				t.Fatal("the call outlived its deadline")
			}
		})
	}
}

func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		lim  ratelimit.Limit
	}{
		{name: "allowed", lim: ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}},
		{name: "refused", lim: ratelimit.Limit{Rate: 1e-3, Burst: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bb := setup(b)
			for b.Loop() {
				if _, err := bb.limiter.Allow(ctx, "key", bc.lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	b.Run("parallel", func(b *testing.B) {
		bb := setup(b)
		lim := ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bb.limiter.Allow(ctx, "key", lim); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
