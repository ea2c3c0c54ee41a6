package nurture

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strings"
	"time"
)

// Scope is what an API key may do.
type Scope string

// The scopes of API keys.
const (
	// ScopeIngest may call the ingestion endpoints (/v1/identify, /v1/track, ...).
	ScopeIngest Scope = "ingest"
	// ScopeAdmin may call the admin REST API, and receive webhooks too.
	ScopeAdmin Scope = "admin"
	// ScopeWebhooks may only post bounce and complaint webhooks
	// (/v1/webhooks/...): the key a mail provider holds in its webhook URL.
	ScopeWebhooks Scope = "webhooks"
)

// APIKey is a key as stored: never the key itself, only its hash and a
// prefix that lets a person tell keys apart in a list.
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string
	Hash       []byte
	Scopes     []Scope
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
	RevokedAt  time.Time // zero unless revoked
}

// Has reports whether the key carries scope s. An admin key may do what a
// webhooks key may.
func (k *APIKey) Has(s Scope) bool {
	return slices.Contains(k.Scopes, s) || (s == ScopeWebhooks && slices.Contains(k.Scopes, ScopeAdmin))
}

// validScope reports whether s is one of the scopes.
func validScope(s Scope) bool { return s == ScopeIngest || s == ScopeAdmin || s == ScopeWebhooks }

// keyPrefix starts every key, so that secret scanners can recognise one.
const keyPrefix = "nk_"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAPIKey makes a key with 160 random bits. It returns the key, to show
// once, and what to store. A key this random needs no slow hash: SHA-256
// cannot be brute-forced back to it.
func NewAPIKey(name string, scopes []Scope) (key string, stored *APIKey, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, FieldError("name", "must be 1 to 100 characters")
	}
	if len(scopes) == 0 {
		return "", nil, FieldError("scopes", "at least one of ingest, admin, webhooks is required")
	}
	for _, s := range scopes {
		if !validScope(s) {
			return "", nil, FieldError("scopes", "unknown scope %q (want ingest, admin or webhooks)", s)
		}
	}
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	key = keyPrefix + strings.ToLower(keyEncoding.EncodeToString(b))
	return key, &APIKey{Name: name, Prefix: key[:len(keyPrefix)+6], Hash: HashAPIKey(key), Scopes: slices.Compact(slices.Sorted(slices.Values(scopes)))}, nil
}

// HashAPIKey is what is stored of key and what a presented key is looked up by.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// ParseScopes reads a comma-separated list such as "ingest,admin" or "webhooks".
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !validScope(Scope(p)) {
			return nil, FieldError("scopes", "unknown scope %q (want ingest, admin or webhooks)", p)
		}
		out = append(out, Scope(p))
	}
	if len(out) == 0 {
		return nil, FieldError("scopes", "at least one of ingest, admin, webhooks is required")
	}
	return out, nil
}
