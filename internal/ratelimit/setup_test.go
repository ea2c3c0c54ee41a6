package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/ratelimit"
)

// bundle is what a test gets from setup: a Limiter on the test Redis with a
// key prefix of its own, and a client to look at the keys behind it.
type bundle struct {
	rdb     *redis.Client
	limiter *ratelimit.Limiter
	prefix  string
}

// redisOptions reads NURTURE_TEST_REDIS_URL, or the local default.
func redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	url := os.Getenv("NURTURE_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err, "NURTURE_TEST_REDIS_URL")
	return opt
}

func newClient(t testing.TB) *redis.Client {
	t.Helper()
	opt := redisOptions(t)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer (run `make test`, which starts it): %v", opt.Addr, err)
	}
	return rdb
}

// setup returns a bundle whose keys are deleted when the test ends.
func setup(t testing.TB) bundle {
	t.Helper()
	rdb := newClient(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "nurture:test:ratelimit:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return bundle{rdb: rdb, limiter: ratelimit.New(rdb, prefix), prefix: prefix}
}

// keys lists the bundle's keys in Redis.
func (b bundle) keys(t testing.TB) []string {
	t.Helper()
	keys, _, err := b.rdb.Scan(context.Background(), 0, b.prefix+"*", 1000).Result()
	require.NoError(t, err)
	return keys
}

// perToken is how long one token takes to come back at lim's rate.
func perToken(lim ratelimit.Limit) time.Duration {
	return time.Duration(float64(time.Second) / lim.Rate)
}

// requireWithin fails unless lo <= got <= hi.
func requireWithin(t testing.TB, got, lo, hi time.Duration, what string) {
	t.Helper()
	if got < lo || got > hi {
		t.Fatalf("%s = %v, want between %v and %v", what, got, lo, hi)
	}
}
