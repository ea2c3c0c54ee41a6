package nurture

import (
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// BounceType says what a provider reported about an address.
type BounceType string

// The kinds of bounce. A hard bounce and a complaint suppress the address at
// once; soft bounces do after a configurable number of them.
const (
	BounceHard      BounceType = "hard"
	BounceSoft      BounceType = "soft"
	BounceComplaint BounceType = "complaint"
)

// Valid reports whether t is one of the bounce types.
func (t BounceType) Valid() bool {
	return t == BounceHard || t == BounceSoft || t == BounceComplaint
}

// Bounce is one report that mail to an address failed or was complained
// about. The adapters that read the providers' formats (package providers)
// make one with Normalize: the domain sees these fields, never a provider's
// own names for them.
type Bounce struct {
	Email  string
	Type   BounceType
	Reason string // what the receiving server or the provider said, without the address
	// MessageID is the Message-ID header value of the mail concerned, without
	// angle brackets (ours look like nurture.123.<tag>@acme.example: see
	// MessageIDs), when the provider reports it.
	MessageID string
	At        time.Time // when the provider saw it; zero when it did not say
	// Provider names the format the report came in: api (the generic
	// endpoint), ses, sendgrid or postmark.
	Provider string
	// EventID is the provider's id of the event, the same on each of its
	// retries; empty when it gives none. It makes recording idempotent.
	EventID string
}

// MaxBounceReason is how much of a provider's reason is kept.
const MaxBounceReason = 1000

// Normalize checks and tidies a bounce as an adapter read it, and returns
// the bounce to record. Email must be one address: a display name is
// dropped and the domain lower-cased. Reason is clipped to MaxBounceReason
// and loses every copy of the address, so that erasing the person leaves
// nothing behind. MessageID loses its angle brackets; MessageID and EventID
// are clipped to 255 bytes; NUL bytes, which PostgreSQL text cannot hold,
// go everywhere. An address that is not one is an invalid error naming
// emailField, the address's field as the sender of the report spelled it.
func (b Bounce) Normalize(emailField string) (Bounce, error) {
	addr, err := bounceAddress(b.Email)
	if err != nil {
		return Bounce{}, FieldError(emailField, "%s", err.Error())
	}
	reason := replaceFold(strings.TrimSpace(strings.ReplaceAll(b.Reason, "\x00", "")), addr, "<recipient>")
	b.Email = addr
	b.Reason = clip(reason, MaxBounceReason)
	b.MessageID = clip(trimAngles(b.MessageID), 255)
	b.EventID = clip(strings.TrimSpace(b.EventID), 255)
	return b, nil
}

// bounceAddress accepts what providers write in their address fields: a
// bare address, or one with a display name.
func bounceAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is required")
	}
	if len(s) > 320 {
		return "", errors.New("is longer than 320 characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || len(addr.Address) > 254 || strings.ContainsFunc(addr.Address, unicode.IsControl) {
		return "", errors.New("is not a valid email address")
	}
	at := strings.LastIndexByte(addr.Address, '@')
	return addr.Address[:at] + "@" + strings.ToLower(addr.Address[at+1:]), nil
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowerOld) != len(old) {
		return strings.ReplaceAll(s, old, repl) // case mapping changed the length: be exact only
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// clip cuts s to at most n bytes without splitting a character, and drops
// NUL bytes, which PostgreSQL text cannot hold.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// trimAngles drops the angle brackets around a Message-ID.
func trimAngles(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">"))
}
