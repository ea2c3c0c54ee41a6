package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/netip"
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
// does not cost a database query per request and a repeated wrong key does
// not reach the database either. Keys found and keys not found live apart:
// a flood of wrong keys evicts only other wrong keys, never a valid one.
// A revoked key stops working within keyCacheTTL.
type keyCache struct {
	mu      sync.Mutex
	found   *lru[*nurture.APIKey]
	missing *lru[struct{}]
}

const (
	keyCacheTTL     = 10 * time.Second
	keyCacheMissTTL = 2 * time.Second
	keyCacheMax     = 10000 // of each kind
)

func newKeyCache() *keyCache {
	return &keyCache{found: newLRU[*nurture.APIKey](keyCacheMax), missing: newLRU[struct{}](keyCacheMax)}
}

// get returns the key cached under hash; known says whether the cache knows
// the hash at all (key is nil for a hash known to match no key).
func (c *keyCache) get(hash string, now time.Time) (key *nurture.APIKey, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.found.get(hash, now); ok {
		return k, true
	}
	_, ok := c.missing.get(hash, now)
	return nil, ok
}

// put remembers the outcome of a look-up: k, or nil for no such key.
func (c *keyCache) put(hash string, k *nurture.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k == nil {
		c.found.remove(hash)
		c.missing.put(hash, struct{}{}, now.Add(keyCacheMissTTL))
		return
	}
	c.missing.remove(hash)
	c.found.put(hash, k, now.Add(keyCacheTTL))
}

// failedAuth limits failed authentications per client address, so that
// guessing keys costs an attacker time and us no database queries. Every
// failure takes a token from the address's bucket in Redis, shared by
// every API process; when the bucket is empty the process remembers the
// address as blocked until the bucket has a token again, and answers it
// 429 without asking the database or Redis. A key this process has seen
// valid recently keeps working from a blocked address.
type failedAuth struct {
	mu      sync.Mutex
	blocked *lru[time.Time] // address -> blocked until
}

// maxBlocked bounds the addresses remembered as blocked; an address
// forgotten early costs one more look-up before it is blocked again.
const maxBlocked = 10000

func newFailedAuth() *failedAuth { return &failedAuth{blocked: newLRU[time.Time](maxBlocked)} }

// blockedFor says how long addr remains blocked, or 0.
func (f *failedAuth) blockedFor(addr string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	until, ok := f.blocked.get(addr, now)
	if !ok {
		return 0
	}
	return until.Sub(now)
}

func (f *failedAuth) block(addr string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked.put(addr, until, until)
}

// clientBucket names the failure bucket of a client address: the address
// itself for IPv4, its /64 for IPv6, where one subscriber holds a whole /64
// and could otherwise try from a new address each time.
func clientBucket(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "auth:" + ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "auth:" + p.String()
	}
	return "auth:" + addr.String()
}

// presentedKey reads the key from an Authorization header: HTTP Basic with
// the key as the user name, as Segment's API does (RFC 7617), or a Bearer
// token (RFC 6750). Anything that does not follow those RFCs gives "":
// the scheme compared without regard to ASCII case, one or more spaces, and
// credentials in token68 characters; a Basic user name without ":" after
// it, or with a control character in it, is refused.
func presentedKey(h string) string {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	cred := strings.TrimLeft(rest, " ")
	if !isToken68(cred) {
		return ""
	}
	switch {
	case asciiEqualFold(scheme, "bearer"):
		return cred
	case asciiEqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.Strict().DecodeString(cred)
		if err != nil {
			return ""
		}
		user, _, ok := strings.Cut(string(raw), ":")
		if !ok {
			return ""
		}
		for i := 0; i < len(user); i++ {
			if user[i] < 0x20 || user[i] == 0x7f {
				return ""
			}
		}
		return user
	}
	return ""
}

// isToken68 reports whether s is RFC 7235's token68: letters, digits and
// -._~+/ then any number of "=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0 {
			i++
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// asciiEqualFold compares s with lower, which is lower case ASCII, ignoring
// the case of ASCII letters only (strings.EqualFold would take the long s,
// U+017F, for an s).
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// maxKeyLength is longer than any key Nurture makes; a longer one is
// refused before it is hashed.
const maxKeyLength = 200

// bodyWriteKey reads the writeKey field of a Segment call or batch, as
// Segment's HTTP API accepts it when there is no Authorization header. The
// body is read here, under the limit of its endpoint and decompressed, and
// handed on to the handler as plain bytes, so the handler's own limits and
// checks apply as before; the handler leaves writeKey out of what it stores.
func bodyWriteKey(c *gin.Context) (string, error) {
	limit := int64(MaxCallBytes)
	if p := c.FullPath(); strings.HasSuffix(p, "/batch") || strings.HasSuffix(p, "/import") {
		limit = MaxBatchBytes
	}
	data, err := readBody(c.Request, limit)
	if err != nil {
		return "", err
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(data))
	c.Request.ContentLength = int64(len(data))
	c.Request.Header.Del("Content-Encoding")
	var v struct {
		WriteKey any `json:"writeKey"`
	}
	if json.Unmarshal(data, &v) != nil {
		return "", nil // not JSON: no key in it; the handler never runs
	}
	key, _ := v.WriteKey.(string)
	return key, nil
}

const keyContextKey = "nurture.apikey"

// requireScope lets a request through only with a live key carrying scope,
// in the Authorization header. A missing, wrong or revoked key gets 401 and
// a key without the scope 403; neither says more. Failures are limited per
// client address (failedAuth).
func (a *API) requireScope(scope nurture.Scope) gin.HandlerFunc {
	return a.authenticate(scope, false)
}

// requireIngestKey is requireScope(ScopeIngest) for Segment's endpoints,
// which also take the key as writeKey in the JSON body when no
// Authorization header is sent.
func (a *API) requireIngestKey() gin.HandlerFunc {
	return a.authenticate(nurture.ScopeIngest, true)
}

func (a *API) authenticate(scope nurture.Scope, bodyKey bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := presentedKey(c.Request.Header.Get("Authorization"))
		if bodyKey && len(c.Request.Header.Values("Authorization")) == 0 {
			var err error
			if raw, err = bodyWriteKey(c); err != nil {
				fail(c, err)
				return
			}
		}
		now := a.cfg.Clock.Now()
		var hash []byte
		var key *nurture.APIKey
		known := false
		if raw != "" && len(raw) <= maxKeyLength {
			hash = nurture.HashAPIKey(raw)
			key, known = a.keys.get(string(hash), now)
		}
		if key == nil {
			addr := c.ClientIP()
			if wait := a.failures.blockedFor(addr, now); wait > 0 {
				a.refuseAddress(c, wait)
				return
			}
			if hash != nil && !known {
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
				a.failedAttempt(c, addr, now)
				return
			}
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

// failedAttempt answers a request without a valid key: 401, or 429 once the
// client's address has used up its failures.
func (a *API) failedAttempt(c *gin.Context, addr string, now time.Time) {
	if a.cfg.AuthFailureLimiter != nil {
		ok, retry, checked := a.limits.allow(c.Request.Context(), a.cfg.AuthFailureLimiter, clientBucket(addr))
		if checked && !ok {
			retry = max(retry, time.Second)
			a.failures.block(addr, now.Add(retry))
			a.refuseAddress(c, retry)
			return
		}
	}
	c.Header("WWW-Authenticate", `Basic realm="nurture"`)
	fail(c, nurture.Errorf(nurture.CodeUnauthorized, "a valid API key is required"))
}

// refuseAddress answers 429 to a client address with too many failed
// attempts.
func (a *API) refuseAddress(c *gin.Context, wait time.Duration) {
	secs := retryAfterSeconds(c, wait)
	fail(c, nurture.Errorf(nurture.CodeRateLimited, "too many failed attempts to authenticate; retry after %d s", secs))
}

// allow applies the per-key rate limit. When the limiter cannot answer
// (Redis down or slow) the request goes through: losing data the product
// sends is worse than a moment without limits.
func (a *API) allow(c *gin.Context, key *nurture.APIKey) bool {
	if a.cfg.RateLimiter == nil {
		return true
	}
	ok, retry, checked := a.limits.allow(c.Request.Context(), a.cfg.RateLimiter, "key:"+strconv.FormatInt(key.ID, 10))
	if !checked || ok {
		return true
	}
	secs := retryAfterSeconds(c, retry)
	fail(c, nurture.Errorf(nurture.CodeRateLimited, "too many requests for this key; retry after %d s", secs))
	return false
}

// retryAfterSeconds sets Retry-After to wait in whole seconds, rounded up
// so that a polite client never comes back too early, and returns them.
func retryAfterSeconds(c *gin.Context, wait time.Duration) int {
	secs := int(wait / time.Second)
	if time.Duration(secs)*time.Second < wait {
		secs++
	}
	secs = max(secs, 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	return secs
}
