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
	// ScopeAdmin may call the admin REST API.
	ScopeAdmin Scope = "admin"
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

// Has reports whether the key carries scope s.
func (k *APIKey) Has(s Scope) bool { return slices.Contains(k.Scopes, s) }

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
		return "", nil, FieldError("scopes", "at least one of ingest, admin is required")
	}
	for _, s := range scopes {
		if s != ScopeIngest && s != ScopeAdmin {
			return "", nil, FieldError("scopes", "unknown scope %q (want ingest or admin)", s)
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

// ParseScopes reads a comma-separated list such as "ingest,admin".
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if Scope(p) != ScopeIngest && Scope(p) != ScopeAdmin {
			return nil, FieldError("scopes", "unknown scope %q (want ingest or admin)", p)
		}
		out = append(out, Scope(p))
	}
	if len(out) == 0 {
		return nil, FieldError("scopes", "at least one of ingest, admin is required")
	}
	return out, nil
}
