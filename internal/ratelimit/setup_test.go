package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/testkit"
)

// bundle is what a test gets from setup: a Limiter on a Redis of the test's
// own, under a key prefix, and a client to look at the keys behind it.
type bundle struct {
	rdb     *redis.Client
	addr    string
	limiter *ratelimit.Limiter
	prefix  string
}

// newClient returns another client of the bundle's Redis, as another
// process would have.
func (b bundle) newClient(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: b.addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// setup returns a bundle on a redis-server of the test's own.
func setup(t testing.TB) bundle {
	t.Helper()
	addr := testkit.NewRedisServer(t).Addr
	rdb := bundle{addr: addr}.newClient(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "nurture:test:ratelimit:" + hex.EncodeToString(b) + ":"
	return bundle{rdb: rdb, addr: addr, limiter: ratelimit.New(rdb, prefix), prefix: prefix}
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
