package ratelimit_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/testkit"
)

func TestRelayThrottleSlowsEveryWorkerDown(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testkit.RedisURL(t))
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	base := ratelimit.Limit{Rate: 1, Burst: 8}
	// Two workers, one relay.
	a, err := ratelimit.NewRelayThrottle(ratelimit.New(rdb, "t:"), "smtp.example", base)
	require.NoError(t, err)
	b, err := ratelimit.NewRelayThrottle(ratelimit.New(rdb, "t:"), "smtp.example", base)
	require.NoError(t, err)

	taken := func(th *ratelimit.RelayThrottle) int {
		n := 0
		for range 20 {
			ok, _, err := th.Take(ctx)
			require.NoError(t, err)
			if ok {
				n++
			}
		}
		return n
	}
	require.Equal(t, 8, taken(a), "the full burst at the base rate")

	require.NoError(t, rdb.Del(ctx, "rate:t:relay:smtp.example").Err()) // refill
	require.NoError(t, a.SlowDown(ctx))
	require.NoError(t, a.SlowDown(ctx))
	// b learns of the slow-down from Redis (its cache is new) and gets a quarter of the burst.
	require.Equal(t, 2, taken(b))

	ttl, err := rdb.TTL(ctx, "t:relay-penalty:smtp.example").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, ratelimit.PenaltyTTL/2, "the slow-down wears off by itself")

	for range 10 {
		require.NoError(t, a.SlowDown(ctx))
	}
	lvl, err := rdb.Get(ctx, "t:relay-penalty:smtp.example").Int()
	require.NoError(t, err)
	require.Equal(t, 4, lvl, "never slower than a sixteenth")
}

func TestRelayThrottleTakesTokensAheadFromTheSharedBucket(t *testing.T) {
	t.Parallel()
	lim := setup(t).limiter
	ctx := context.Background()
	base := ratelimit.Limit{Rate: 1000, Burst: 1000}
	th, err := ratelimit.NewRelayThrottle(lim, "smtp.example", base)
	require.NoError(t, err)

	// remaining reads the shared bucket by taking one token from it.
	remaining := func() int {
		r, err := lim.Allow(ctx, "relay:smtp.example", base)
		require.NoError(t, err)
		return r.Remaining
	}
	start := time.Now()
	ok, _, err := th.Take(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	first := remaining()
	// What refilled meanwhile, at 1000 a second, comes on top: a loaded
	// machine may take milliseconds between the two calls.
	refill := int(math.Ceil(base.Rate * time.Since(start).Seconds()))
	require.LessOrEqual(t, first, 1000-50-1+refill, "one Take takes 50 ms worth (50 tokens) from the shared bucket")

	for range 40 {
		ok, _, err := th.Take(ctx)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.GreaterOrEqual(t, remaining(), first-1, "the next Takes spend the tokens held, not the bucket's")

	// A worker that takes more than it holds goes back to the bucket, and
	// together they never take more than the bucket has.
	total, start := 0, time.Now()
	for range 3000 {
		ok, _, err := th.Take(ctx)
		require.NoError(t, err)
		if ok {
			total++
		}
	}
	refilled := base.Rate * time.Since(start).Seconds()
	require.LessOrEqual(t, float64(total), 1000+refilled+1, "no more than the burst and what refilled meanwhile")
	require.Less(t, total, 3000, "Takes beyond that are refused")
}
