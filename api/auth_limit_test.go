package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/testkit"
)

// countingKeys counts the look-ups that reach the key store.
type countingKeys struct {
	api.KeyStore
	mu      sync.Mutex
	lookups map[string]int // by hash
	total   int
}

func (k *countingKeys) APIKeyByHash(ctx context.Context, hash []byte) (*nurture.APIKey, error) {
	k.mu.Lock()
	if k.lookups == nil {
		k.lookups = map[string]int{}
	}
	k.lookups[string(hash)]++
	k.total++
	k.mu.Unlock()
	return k.KeyStore.APIKeyByHash(ctx, hash)
}

func (k *countingKeys) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.total
}

func (k *countingKeys) countOf(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lookups[string(nurture.HashAPIKey(key))]
}

// memoryKeys is a key store without a database, for floods of look-ups.
type memoryKeys map[string]*nurture.APIKey

func (m memoryKeys) APIKeyByHash(_ context.Context, hash []byte) (*nurture.APIKey, error) {
	if k, ok := m[string(hash)]; ok {
		return k, nil
	}
	return nil, nurture.Errorf(nurture.CodeNotFound, "no such key")
}

func (memoryKeys) TouchAPIKey(context.Context, int64, time.Time) error { return nil }

// wrongKey is a key of the right shape that no store holds.
func wrongKey(t testing.TB) string {
	t.Helper()
	k, _, err := nurture.NewAPIKey("never stored", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)
	return k
}

// Failed authentications are limited per client address: past the limit the
// address gets 429 with Retry-After, and its attempts cost no database
// query; a key the API has seen valid keeps working, other addresses are not
// affected, and X-Forwarded-For counts only from a trusted proxy.
func TestFailedAuthIsLimitedPerClientAddress(t *testing.T) {
	t.Parallel()
	const attacker, neighbour = "198.51.100.7:4000", "198.51.100.8:4000"
	keys := &countingKeys{}
	b := setup(t, func(c *api.Config) {
		keys.KeyStore = c.Keys
		c.Keys = keys
		// Three failures, then one a minute.
		c.AuthFailureLimiter = redisLimiter(t, ratelimit.Limit{Rate: 1.0 / 60, Burst: 3})
	})
	track := obj{"userId": "u1", "event": "x"}
	try := func(key, remote string, headers map[string]string) response {
		return b.do(t, request{path: "/v1/track", body: track, key: key, remote: remote, headers: headers})
	}
	requireRefused := func(res response) int {
		t.Helper()
		e := requireError(t, res, http.StatusTooManyRequests, "")
		require.Equal(t, "rate_limited", e.Error.Code)
		secs, err := strconv.Atoi(res.header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After %q", res.header.Get("Retry-After"))
		require.True(t, secs >= 1 && secs <= 60, "Retry-After %d: a token comes back within a minute", secs)
		return secs
	}

	requireSuccess(t, try(b.ingest, attacker, nil)) // the valid key is now cached
	for range 3 {
		requireError(t, try(wrongKey(t), attacker, nil), http.StatusUnauthorized, "")
	}
	require.Equal(t, 4, keys.count())
	// The fourth failure is one too many: looked up once more, then refused.
	requireRefused(try(wrongKey(t), attacker, nil))
	require.Equal(t, 5, keys.count())

	// From now on, without a query.
	requireRefused(try(wrongKey(t), attacker, nil))
	requireRefused(try("", attacker, nil))
	fresh := b.newKey(t, nurture.ScopeIngest)
	requireRefused(try(fresh, attacker, nil)) // a valid key not seen yet waits too
	forged := map[string]string{"X-Forwarded-For": "203.0.113.50"}
	secs := requireRefused(try(wrongKey(t), attacker, forged)) // no proxy is trusted
	require.Equal(t, 5, keys.count(), "a blocked address reached the key store")

	requireSuccess(t, try(b.ingest, attacker, nil))
	requireError(t, try(wrongKey(t), neighbour, nil), http.StatusUnauthorized, "")
	requireSuccess(t, try(fresh, neighbour, nil))

	// Once Retry-After has passed by the API's clock, one more attempt is
	// looked up; Redis's bucket (by its own clock) still has no token.
	b.clock.Advance(time.Duration(secs) * time.Second)
	before := keys.count()
	requireRefused(try(wrongKey(t), attacker, nil))
	require.Equal(t, before+1, keys.count())
}

// Behind a trusted proxy, each X-Forwarded-For address has its own
// failures; IPv6 clients are counted by their /64, which one subscriber
// holds whole.
func TestFailedAuthAddresses(t *testing.T) {
	t.Parallel()
	const proxy = "192.0.2.1:4000"
	for _, tc := range []struct {
		name             string
		trusted          []string
		first, second    request // the first exhausts its failures; is the second refused too?
		sameClient       bool
		firstRemoteProxy bool
	}{
		{name: "addresses behind a trusted proxy", trusted: []string{"192.0.2.1"},
			first:  request{remote: proxy, headers: map[string]string{"X-Forwarded-For": "203.0.113.9"}},
			second: request{remote: proxy, headers: map[string]string{"X-Forwarded-For": "203.0.113.10"}}},
		{name: "forwarded addresses from an untrusted peer", trusted: nil, sameClient: true,
			first:  request{remote: proxy, headers: map[string]string{"X-Forwarded-For": "203.0.113.9"}},
			second: request{remote: proxy, headers: map[string]string{"X-Forwarded-For": "203.0.113.10"}}},
		{name: "IPv6 in one /64", sameClient: true,
			first: request{remote: "[2001:db8:1:2::1]:4000"}, second: request{remote: "[2001:db8:1:2:ffff::9]:4000"}},
		{name: "IPv6 in another /64",
			first: request{remote: "[2001:db8:1:2::1]:4000"}, second: request{remote: "[2001:db8:1:3::1]:4000"}},
		{name: "IPv4-mapped IPv6 is the IPv4 address", sameClient: true,
			first: request{remote: "[::ffff:198.51.100.7]:4000"}, second: request{remote: "198.51.100.7:5000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *api.Config) {
				c.TrustedProxies = tc.trusted
				c.AuthFailureLimiter = redisLimiter(t, ratelimit.Limit{Rate: 1.0 / 60, Burst: 1})
			})
			send := func(r request) response {
				r.path, r.body, r.key = "/v1/track", obj{"userId": "u1", "event": "x"}, wrongKey(t)
				return b.do(t, r)
			}
			requireError(t, send(tc.first), http.StatusUnauthorized, "")
			requireError(t, send(tc.first), http.StatusTooManyRequests, "")
			want := http.StatusUnauthorized
			if tc.sameClient {
				want = http.StatusTooManyRequests
			}
			requireError(t, send(tc.second), want, "")
		})
	}
}

// A flood of wrong keys fills only the cache of keys not found, which
// forgets its least recently used entries: a valid key stays cached and
// costs no query after it (the cache used to be wiped when it held 10,000
// entries, valid keys with the rest).
func TestWrongKeysDoNotEvictValidOnes(t *testing.T) {
	t.Parallel()
	admin, stored, err := nurture.NewAPIKey("admin", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	stored.ID = 1
	keys := &countingKeys{KeyStore: memoryKeys{string(stored.Hash): stored}}
	b := setup(t, func(c *api.Config) { c.Keys = keys })

	get := func(key string) response {
		return b.do(t, request{method: "GET", path: "/metrics", key: key, bearer: true})
	}
	require.Equal(t, http.StatusOK, get(admin).status)
	// The valid key is not used during the flood: it is the least recently
	// used entry of all, and still kept.
	for i := range 25_000 {
		require.Equal(t, http.StatusUnauthorized, get(fmt.Sprintf("nk_wrong%d", i)).status)
	}
	require.Equal(t, http.StatusOK, get(admin).status)
	require.Equal(t, 1, keys.countOf(admin), "the valid key was looked up again")
	require.Equal(t, 25_001, keys.count())

	// The flood's keys are remembered (the latest ones): repeating them costs nothing.
	require.Equal(t, http.StatusUnauthorized, get("nk_wrong24999").status)
	require.Equal(t, 25_001, keys.count())
}

// countingLimiter counts the calls that reach a limiter.
type countingLimiter struct {
	api.RateLimiter
	mu    sync.Mutex
	calls int
}

func (l *countingLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	l.calls++
	l.mu.Unlock()
	return l.RateLimiter.Allow(ctx, key)
}

func (l *countingLimiter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// hangingServer accepts TCP connections and never answers, as a Redis stuck
// on a slow disk or behind a broken network does.
func hangingServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, unread
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// metric reads a value of GET /metrics. The request that reads it is
// limited too: its own check counts when Redis is away.
func (b *bundle) metric(t testing.TB, name string) int64 {
	t.Helper()
	res := b.do(t, request{method: "GET", path: "/metrics", key: b.admin, bearer: true})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	for line := range strings.SplitSeq(string(res.body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64) // Prometheus writes large counts as 1e+06
			require.NoError(t, err)
			return int64(f)
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", name, res.body)
	return 0
}

// When Redis is stopped or hangs, the rate limits let requests through (the
// README's choice): each check gives up within its budget, then Redis is
// not asked at all for a second, and /metrics counts every check skipped.
// The Redis client is the one cmd/nurture builds (ratelimit.NewClient), with
// its own timeouts stretched to an hour: only the budget can end a check
// before the test gives up.
func TestRateLimitsSkippedWhileRedisIsAway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		addr   func(t *testing.T) string
		reason string
	}{
		{"redis stopped", func(t *testing.T) string {
			s := testkit.NewRedisServer(t)
			s.Stop()
			return s.Addr
		}, ""},
		{"redis hangs", func(t *testing.T) string { return hangingServer(t) }, "no answer within the budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opt := ratelimit.ClientOptions(&redis.UniversalOptions{Addrs: []string{tc.addr(t)}})
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Hour, time.Hour, time.Hour
			rdb := redis.NewUniversalClient(opt)
			t.Cleanup(func() { _ = rdb.Close() })
			limiter := ratelimit.New(rdb, "nurture:test:")
			perKey := &countingLimiter{RateLimiter: keyLimiter{limiter: limiter, limit: ratelimit.Limit{Rate: 1, Burst: 1}}}
			failures := &countingLimiter{RateLimiter: keyLimiter{limiter: limiter, limit: ratelimit.Limit{Rate: 1, Burst: 1}}}
			var logs testkit.SyncBuffer
			b := setup(t, func(c *api.Config) {
				c.RateLimiter, c.AuthFailureLimiter = perKey, failures
				c.RateLimitBudget, c.RateLimitCooldown = 25*time.Millisecond, time.Second
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})

			// send runs a request, failing the test if it hangs.
			send := func(r request) response {
				t.Helper()
				done := make(chan response, 1)
				// b.do checks only the request this test builds; should one
				// fail here, the wait below fails the test.
				go func() { done <- b.do(t, r) }() //nolint:testifylint // see above
				select {
				case res := <-done:
					return res
				case <-time.After(20 * time.Second): // a bound for failing, not a timing
					t.Fatal("a request waited for Redis past its budget")
					return response{}
				}
			}
			track := func(id string) response {
				return send(request{path: "/v1/track", key: b.ingest, body: obj{"userId": "u1", "event": "x", "messageId": id}})
			}

			// A burst of 1, yet both go through: the first check fails, the second is skipped.
			requireSuccess(t, track("m1"))
			require.Equal(t, 1, perKey.count())
			require.Contains(t, logs.String(), "rate limits skipped: redis unavailable")
			require.Contains(t, logs.String(), tc.reason)
			requireSuccess(t, track("m2"))
			requireError(t, send(request{path: "/v1/track", key: wrongKey(t), body: obj{}}), http.StatusUnauthorized, "")
			require.Equal(t, 1, perKey.count()+failures.count(), "Redis was asked while the circuit was open")

			// After the cooldown Redis is asked again, once.
			b.clock.Advance(time.Second + time.Millisecond)
			requireSuccess(t, track("m3"))
			requireSuccess(t, track("m4"))
			require.Equal(t, 2, perKey.count())
			require.Equal(t, 0, failures.count())

			require.Equal(t, 4, b.counts(t).Events, "every call let through is stored")
			require.EqualValues(t, 5+1, b.metric(t, "nurture_ratelimit_skipped_total"), "4 tracks, 1 failure, and the /metrics request itself")
		})
	}
}

// A client that hangs up while its check is in flight says nothing about
// Redis: it must not open the circuit (and so switch the limits off).
func TestClientHangingUpDoesNotSkipLimits(t *testing.T) {
	t.Parallel()
	limiter := &countingLimiter{RateLimiter: contextLimiter{}}
	b := setup(t, func(c *api.Config) { c.RateLimiter = limiter })
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "x"})) // the key is cached
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.do(t, request{path: "/v1/track", key: b.ingest, body: obj{"userId": "u1", "event": "x"}, ctx: ctx})
	require.Equal(t, 2, limiter.count())

	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "x"}))
	require.Equal(t, 3, limiter.count(), "the limiter was skipped after a client hung up")
	require.EqualValues(t, 0, b.metric(t, "nurture_ratelimit_skipped_total"))
}

// contextLimiter allows everything while its caller's context lives.
type contextLimiter struct{}

func (contextLimiter) Allow(ctx context.Context, _ string) (bool, time.Duration, error) {
	return ctx.Err() == nil, 0, ctx.Err()
}
