package ratelimit_test

import (
	"context"
	"testing"

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

	require.NoError(t, rdb.Del(ctx, "t:relay:smtp.example").Err()) // refill
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
