package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
)

// ExportVersion is the version of the export document (docs/export.md):
// it changes when a field changes meaning or goes away, not when one is
// added.
const ExportVersion = 1

// ErasedBy says who asked for an erasure, for its audit record: an API
// key (by its id), or the person through the preference page.
type ErasedBy struct {
	APIKeyID int64 // 0: the person
}

// Person reports whether the person asked, rather than an API key.
func (b ErasedBy) Person() bool { return b.APIKeyID == 0 }

// ErasedAddressHash is what erasure keeps of an address: HMAC-SHA256 of
// the lower-cased, trimmed address under a key of its own that the
// database never holds, so that a dump alone cannot test guesses against
// it (a plain SHA-256, like EmailHash, is reversed by a dictionary of
// addresses).
func ErasedAddressHash(key []byte, email string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return m.Sum(nil)
}

// HoldReason is the skipped reason of an email other than a transactional
// one to a held contact: its address was erased before and came back, and
// no new opt-in has been given since.
const HoldReason = "held: the address was erased before; awaiting a new opt-in"
