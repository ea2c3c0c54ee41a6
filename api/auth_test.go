package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/ratelimit"
)

// A missing, wrong or revoked key gets 401 with WWW-Authenticate, a key
// without the scope 403; neither says which case it is.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	both := b.newKey(t, nurture.ScopeIngest, nurture.ScopeAdmin)
	revoked, stored, err := nurture.NewAPIKey("revoked", []nurture.Scope{nurture.ScopeIngest, nurture.ScopeAdmin})
	require.NoError(t, err)
	require.NoError(t, b.store.CreateAPIKey(context.Background(), stored))
	require.NoError(t, b.store.RevokeAPIKey(context.Background(), stored.ID))
	wrong, _, err := nurture.NewAPIKey("never stored", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)

	track := obj{"userId": "u1", "event": "Report Created"}
	tests := []struct {
		name          string
		method, path  string
		authorization string // the header as sent
		status        int
	}{
		{"no key", "POST", "/v1/track", "", 401},
		{"wrong key", "POST", "/v1/track", basic(wrong), 401},
		{"wrong key as Bearer", "POST", "/v1/track", "Bearer " + wrong, 401},
		{"revoked key", "POST", "/v1/track", basic(revoked), 401},
		{"revoked key on admin", "GET", "/v1/contacts/1", "Bearer " + revoked, 401},
		{"key as the password", "POST", "/v1/track", "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+b.ingest)), 401},
		{"Basic not base64", "POST", "/v1/track", "Basic %%%", 401},
		{"unknown scheme", "POST", "/v1/track", "Token " + b.ingest, 401},
		{"empty Bearer", "POST", "/v1/track", "Bearer ", 401},
		{"a huge key", "POST", "/v1/track", "Bearer " + strings.Repeat("k", 10000), 401},
		{"ingest key on admin", "GET", "/v1/contacts/1", "Bearer " + b.ingest, 403},
		{"admin key on track", "POST", "/v1/track", basic(b.admin), 403},
		{"admin key on batch", "POST", "/v1/batch", "Bearer " + b.admin, 403},
		{"ingest key by Basic", "POST", "/v1/track", basic(b.ingest), 200},
		{"ingest key by Bearer", "POST", "/v1/track", "bearer " + b.ingest, 200},
		{"both scopes on track", "POST", "/v1/track", basic(both), 200},
		{"both scopes on admin", "GET", "/v1/contacts/999", "Bearer " + both, 404},
		{"admin key on admin", "GET", "/v1/contacts/999", "Bearer " + b.admin, 404},
	}
	messages := map[int]map[string]bool{401: {}, 403: {}}
	for _, tt := range tests {
		body := any(track)
		if tt.path == "/v1/batch" {
			body = obj{"batch": []obj{{"type": "track", "userId": "u1", "event": "x"}}}
		}
		if tt.method == "GET" {
			body = nil
		}
		res := b.do(t, request{method: tt.method, path: tt.path, body: body,
			headers: map[string]string{"Authorization": tt.authorization}})
		if tt.status == 200 {
			requireSuccess(t, res)
			continue
		}
		e := requireError(t, res, tt.status, "")
		if tt.status == 401 {
			require.Equal(t, `Basic realm="nurture"`, res.header.Get("WWW-Authenticate"), tt.name)
		}
		if msgs := messages[tt.status]; msgs != nil {
			msgs[e.Error.Message] = true
			for _, leak := range []string{"revoked", "not found", "unknown", "expired", "scope", "nk_", "admin", "ingest"} {
				require.NotContains(t, strings.ToLower(e.Error.Message), leak, tt.name)
			}
		}
	}
	require.Len(t, messages[401], 1, "every 401 says the same: %v", messages[401])
	require.Len(t, messages[403], 1, "every 403 says the same: %v", messages[403])
	require.Equal(t, 3, b.counts(t).Events, "only the accepted calls are stored")

	var lastUsed *time.Time
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT last_used_at FROM api_keys WHERE hash = $1`, nurture.HashAPIKey(b.ingest)).Scan(&lastUsed))
	require.NotNil(t, lastUsed, "a key's use is recorded")
	require.Equal(t, received, lastUsed.UTC())
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// The API caches keys for a few seconds, by its own clock: a key revoked
// meanwhile stops working when its entry expires, and so does the memory
// of a key that was not found.
func TestRevokedKeyStopsWorking(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, stored, err := nurture.NewAPIKey("soon revoked", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)
	require.NoError(t, b.store.CreateAPIKey(context.Background(), stored))
	track := obj{"userId": "u1", "event": "x"}

	requireSuccess(t, b.do(t, request{path: "/v1/track", body: track, key: key}))
	require.NoError(t, b.store.RevokeAPIKey(context.Background(), stored.ID))
	b.clock.Advance(time.Minute)
	res := b.do(t, request{path: "/v1/track", body: track, key: key})
	requireError(t, res, http.StatusUnauthorized, "")

	// A key stored after a failed attempt with it works once the failure
	// is forgotten.
	late, stored, err := nurture.NewAPIKey("late", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)
	requireError(t, b.do(t, request{path: "/v1/track", body: track, key: late}), http.StatusUnauthorized, "")
	require.NoError(t, b.store.CreateAPIKey(context.Background(), stored))
	b.clock.Advance(time.Minute)
	requireSuccess(t, b.do(t, request{path: "/v1/track", body: track, key: late}))
}

// With a burst of 2, the third request of a key at once gets 429 with a
// Retry-After of whole seconds; other keys are not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *api.Config) {
		c.RateLimiter = redisLimiter(t, ratelimit.Limit{Rate: 0.1, Burst: 2})
	})
	other := b.newKey(t, nurture.ScopeIngest)
	track := func(key, id string) response {
		return b.do(t, request{path: "/v1/track", key: key, body: obj{"userId": "u1", "event": "x", "messageId": id}})
	}
	requireSuccess(t, track(b.ingest, "m1"))
	requireSuccess(t, track(b.ingest, "m2"))
	res := track(b.ingest, "m3")
	e := requireError(t, res, http.StatusTooManyRequests, "")
	require.Equal(t, "rate_limited", e.Error.Code)
	retry, err := strconv.Atoi(res.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q is whole seconds", res.header.Get("Retry-After"))
	require.GreaterOrEqual(t, retry, 1)
	require.LessOrEqual(t, retry, 10, "one token comes back in 10 s at 0.1/s")

	requireSuccess(t, track(other, "m4"))
	require.Equal(t, 3, b.counts(t).Events, "the refused call is not stored")
}

// failingLimiter is a limiter whose Redis is down.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, 0, errors.New("redis: connection refused")
}

// When the limiter fails, requests go through: losing the product's data
// is worse than a moment without limits.
func TestRateLimiterDownLetsRequestsThrough(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *api.Config) { c.RateLimiter = failingLimiter{} })
	for range 3 {
		requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "x"}))
	}
}

// Segment's HTTP API also takes the key as writeKey in the JSON body, when
// no Authorization header is sent; the key is never stored with the call.
func TestWriteKeyInTheBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	identify := func(key any) obj {
		return obj{"writeKey": key, "userId": "u1", "traits": obj{"email": "ada@example.com"}}
	}
	batch := func(key any, ids ...string) obj {
		var calls []obj
		for _, id := range ids {
			calls = append(calls, obj{"type": "track", "userId": "u1", "event": "x", "messageId": id, "writeKey": key})
		}
		return obj{"writeKey": key, "batch": calls}
	}
	tests := []struct {
		name    string
		path    string
		body    any
		gzip    bool
		headers map[string]string
		status  int
	}{
		{"batch", "/v1/batch", batch(b.ingest, "b1", "b2"), false, nil, 200},
		{"gzipped batch", "/v1/batch", batch(b.ingest, "b3"), true, nil, 200},
		{"import", "/v1/import", batch(b.ingest, "b4"), false, nil, 200},
		{"identify", "/v1/identify", identify(b.ingest), false, nil, 200},
		{"track", "/v1/track", obj{"writeKey": b.ingest, "userId": "u1", "event": "x"}, false, nil, 200},
		{"group", "/v1/group", obj{"writeKey": b.ingest, "userId": "u1", "groupId": "g1"}, false, nil, 200},
		{"wrong key", "/v1/batch", batch(wrongKey(t), "w1"), false, nil, 401},
		{"admin key", "/v1/batch", batch(b.admin, "w2"), false, nil, 403},
		{"key not a string", "/v1/identify", identify(42), false, nil, 401},
		{"not JSON", "/v1/identify", "writeKey=" + b.ingest, false, nil, 401},
		{"the header wins", "/v1/batch", batch(b.ingest, "w3"), false, map[string]string{"Authorization": "Bearer " + wrongKey(t)}, 401},
		{"a bad header is not replaced", "/v1/batch", batch(b.ingest, "w4"), false, map[string]string{"Authorization": "Bearer"}, 401},
		{"too large", "/v1/identify", obj{"writeKey": b.ingest, "userId": "u1", "traits": obj{"bio": strings.Repeat("x", api.MaxCallBytes)}}, false, nil, 413},
		{"gzip bomb", "/v1/batch", obj{"writeKey": b.ingest, "batch": []obj{}, "pad": strings.Repeat(" ", api.MaxBatchBytes)}, true, nil, 413},
	}
	for _, tt := range tests {
		res := b.do(t, request{path: tt.path, body: tt.body, gzip: tt.gzip, headers: tt.headers})
		if tt.status == 200 {
			requireSuccess(t, res)
			continue
		}
		requireError(t, res, tt.status, "")
	}
	var stored, leaked int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE raw::text LIKE '%writeKey%' OR raw::text LIKE '%nk\_%') FROM events`).Scan(&stored, &leaked))
	require.Equal(t, 7, stored, "the calls accepted are stored")
	require.Zero(t, leaked, "a key was stored with its call")
}
