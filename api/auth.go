package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// KeyStore finds API keys by the hash of the key.
type KeyStore interface {
	APIKeyByHash(ctx context.Context, hash []byte) (*nurture.APIKey, error)
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error
}

// RateLimiter says whether the caller identified by key may make one more
// request now, and if not, when it may.
type RateLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// keyCache keeps recent key look-ups, found or not, so that a busy client
// does not cost a database query per request and a flood of wrong keys
// does not reach the database either. A revoked key stops working within
// keyCacheTTL.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyCacheEntry
}

type keyCacheEntry struct {
	key     *nurture.APIKey // nil: no such key
	expires time.Time
}

const (
	keyCacheTTL     = 10 * time.Second
	keyCacheMissTTL = 2 * time.Second
	keyCacheMax     = 10000
)

func (c *keyCache) get(hash string, now time.Time) (*nurture.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.key, true
}

func (c *keyCache) put(hash string, k *nurture.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= keyCacheMax {
		c.entries = map[string]keyCacheEntry{}
	}
	ttl := keyCacheTTL
	if k == nil {
		ttl = keyCacheMissTTL
	}
	c.entries[hash] = keyCacheEntry{key: k, expires: now.Add(ttl)}
}

// presentedKey reads the key from HTTP Basic (the key as user name, as
// Segment's API does) or a Bearer token.
func presentedKey(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user
	}
	return ""
}

const keyContextKey = "nurture.apikey"

// requireScope lets a request through only with a live key carrying scope.
// A missing, wrong or revoked key gets 401 and a key without the scope 403;
// neither says more.
func (a *API) requireScope(scope nurture.Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := presentedKey(c.Request)
		if raw == "" || len(raw) > 200 {
			c.Header("WWW-Authenticate", `Basic realm="nurture"`)
			fail(c, nurture.Errorf(nurture.CodeUnauthorized, "a valid API key is required"))
			return
		}
		hash := nurture.HashAPIKey(raw)
		now := a.cfg.Clock.Now()
		key, cached := a.keys.get(string(hash), now)
		if !cached {
			var err error
			key, err = a.cfg.Keys.APIKeyByHash(c.Request.Context(), hash)
			if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
				fail(c, err)
				return
			}
			a.keys.put(string(hash), key, now)
			if key != nil {
				// Once per cache period, not per request: "last used" is a day's news.
				if err := a.cfg.Keys.TouchAPIKey(c.Request.Context(), key.ID, now); err != nil {
					a.cfg.Logger.Warn("record api key use", "err", err)
				}
			}
		}
		if key == nil {
			c.Header("WWW-Authenticate", `Basic realm="nurture"`)
			fail(c, nurture.Errorf(nurture.CodeUnauthorized, "a valid API key is required"))
			return
		}
		if !key.Has(scope) {
			fail(c, nurture.Errorf(nurture.CodeForbidden, "this key may not call this endpoint"))
			return
		}
		c.Set(keyContextKey, key)
		if !a.allow(c, key) {
			return
		}
		c.Next()
	}
}

// allow applies the per-key rate limit. When the limiter itself fails
// (Redis down) the request goes through: losing data the product sends is
// worse than a moment without limits.
func (a *API) allow(c *gin.Context, key *nurture.APIKey) bool {
	if a.cfg.RateLimiter == nil {
		return true
	}
	ok, retry, err := a.cfg.RateLimiter.Allow(c.Request.Context(), "key:"+strconv.FormatInt(key.ID, 10))
	if err != nil {
		a.cfg.Logger.Warn("rate limiter unavailable; request let through", "err", err)
		return true
	}
	if !ok {
		secs := int(retry.Seconds())
		if time.Duration(secs)*time.Second < retry {
			secs++
		}
		c.Header("Retry-After", strconv.Itoa(max(secs, 1)))
		fail(c, nurture.Errorf(nurture.CodeRateLimited, "too many requests for this key; retry after %d s", max(secs, 1)))
		return false
	}
	return true
}
