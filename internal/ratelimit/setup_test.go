package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
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

// keys lists the bundle's keys in Redis (redis_rate puts "rate:" before
// the prefix).
func (b bundle) keys(t testing.TB) []string {
	t.Helper()
	keys, _, err := b.rdb.Scan(context.Background(), 0, "*"+b.prefix+"*", 1000).Result()
	require.NoError(t, err)
	return keys
}

// bucketKey is the Redis key of the bucket named name.
func (b bundle) bucketKey(name string) string { return "rate:" + b.prefix + name }

// perToken is how long one token takes to come back at lim's rate.
func perToken(lim ratelimit.Limit) time.Duration {
	return time.Duration(float64(time.Second) / lim.Rate)
}

// requireWithin fails unless lo <= got <= hi.
func requireWithin(t testing.TB, got, lo, hi time.Duration, what string) {
	t.Helper()
	require.GreaterOrEqual(t, got, lo, what)
	require.LessOrEqual(t, got, hi, what)
}

// hangingServer is a TCP server that accepts connections and never answers,
// as a Redis stuck on a slow disk or behind a broken network does.
func hangingServer(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, unread
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln
}
