package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// ExportVersion is the version of the export document (docs/export.md):
// it changes when a field changes meaning or goes away, not when one is
// added.
const ExportVersion = 1

// ExportTemplate is the template of the email that carries a person's
// copy of their data, asked for on the preference page.
const ExportTemplate = "data-export"

// ExportEvery is how often a person may ask for a copy of their data by
// email: one an address an hour.
const ExportEvery = time.Hour

// exportKeyPrefix starts the dedupe key of every export email, and of
// nothing else.
const exportKeyPrefix = "export:"

// ExportDedupeKey is the dedupe key of the export email contact id asked
// for at at: one per request.
func ExportDedupeKey(contactID int64, at time.Time) string {
	return fmt.Sprintf("%s%d:%d", exportKeyPrefix, contactID, at.Unix())
}

// IsExportRequest reports whether a message of that dedupe key answers a
// person's request for a copy of their data: delivery attaches the export
// document, read from the store when it sends, to such a message only.
func IsExportRequest(dedupeKey string) bool { return strings.HasPrefix(dedupeKey, exportKeyPrefix) }

// ExportFilename is the name of the attached export document made at at:
// nurture-export-2026-12-06.json, the date in UTC.
func ExportFilename(at time.Time) string {
	return "nurture-export-" + at.UTC().Format(time.DateOnly) + ".json"
}

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
