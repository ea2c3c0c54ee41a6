package nurture

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// A form token proves that a change of preferences was sent by the
// preference page's own form: the page puts one in a hidden field, bound to
// the page's link token and to the time it was served, and the POST must
// carry it back. A form on another site cannot have one (it cannot read our
// page), so it cannot re-subscribe a person who opted out. It needs no
// cookie, and the page no script.
//
// It is signed like link tokens, with the same keys (a rotated secret keeps
// the pages already open working), over a text that begins with a prefix
// no link token body can begin with.
const (
	formTokenVersion = 2
	formTokenPrefix  = "nurture preference form\x00"
	// MaxFormTokenAge is how long a preference page may stay open before
	// its form is refused as out of date (the page then shows itself again
	// with a new token, and nothing changed).
	MaxFormTokenAge = 24 * time.Hour
	// formTokenSkew is how far in the future a form token may say it was
	// made: the clocks of two API processes differ a little.
	formTokenSkew = 5 * time.Minute
)

// FormToken returns the form token of the preference page whose link token
// is page, served at now.
func (s *Signer) FormToken(page string, now time.Time) string {
	k := s.keys[0]
	buf := make([]byte, 0, 2+binary.MaxVarintLen64+macSize)
	buf = append(buf, formTokenVersion, k.id)
	buf = binary.AppendUvarint(buf, uint64(max(now.Unix(), 0)))
	buf = k.sum(buf, formTokenText(page, buf))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// CheckFormToken reports whether form is a form token of the page whose
// link token is page, made by one of the signer's keys no more than
// MaxFormTokenAge before now.
func (s *Signer) CheckFormToken(page, form string, now time.Time) bool {
	if len(form) > 64 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(form)
	if err != nil || len(raw) < 3+macSize || raw[0] != formTokenVersion {
		return false
	}
	body, mac := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	issued, n := binary.Uvarint(body[2:])
	if n <= 0 || 2+n != len(body) || issued > 1<<62 {
		return false
	}
	at := time.Unix(int64(issued), 0)
	if at.Before(now.Add(-MaxFormTokenAge)) || at.After(now.Add(formTokenSkew)) {
		return false
	}
	text := formTokenText(page, body)
	var want [macSize]byte
	for i := range s.keys {
		if s.keys[i].id == body[1] && hmac.Equal(mac, s.keys[i].sum(want[:0], text)) {
			return true
		}
	}
	return false
}

// formTokenText is what a form token's MAC covers: the prefix, the page's
// link token and the token's own version, key id and time.
func formTokenText(page string, head []byte) []byte {
	text := make([]byte, 0, len(formTokenPrefix)+len(page)+1+len(head))
	text = append(text, formTokenPrefix...)
	text = append(text, page...)
	text = append(text, 0)
	return append(text, head...)
}
