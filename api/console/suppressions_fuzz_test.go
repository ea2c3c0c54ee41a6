package console

import (
	"bytes"
	"testing"
	"time"
)

// The "before" of the suppression list comes from the address bar: any
// text is refused or read as a place that writes back to the same text
// and reads again as the same place.
func FuzzSuppressionCursor(f *testing.F) {
	f.Add("")
	f.Add("2026-03-01T10:00:00.123456Z_00ff")
	f.Add(formatSuppressionCursor(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), []byte{0xde, 0xad}))
	f.Add("2026-03-01T10:00:00+02:00_")
	f.Add("yesterday_zz")
	f.Fuzz(func(t *testing.T, s string) {
		at, hash, err := parseSuppressionCursor(s)
		if err != nil || s == "" {
			return
		}
		again := formatSuppressionCursor(at, hash)
		at2, hash2, err := parseSuppressionCursor(again)
		if err != nil {
			t.Fatalf("%q read as %q, which does not read: %v", s, again, err)
		}
		if !at2.Equal(at) || !bytes.Equal(hash2, hash) {
			t.Fatalf("%q read as (%v, %x), then as (%v, %x)", s, at, hash, at2, hash2)
		}
	})
}
