package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Purpose says what a recipient link is for.
type Purpose byte

// The purposes of recipient links.
const (
	PurposeOpen        Purpose = 'o' // the open-tracking pixel
	PurposeClick       Purpose = 'c' // a tracked link to Token.URL
	PurposeUnsubscribe Purpose = 'u' // the unsubscribe and preference page
	PurposeView        Purpose = 'v' // the email in a browser
	PurposeConfirm     Purpose = 'k' // the confirmation of an opt-in (double opt-in)
)

func (p Purpose) valid() bool {
	switch p {
	case PurposeOpen, PurposeClick, PurposeUnsubscribe, PurposeView, PurposeConfirm:
		return true
	}
	return false
}

// Token is what a recipient link carries: which message and contact it is
// about, what it is for and, for clicks, where it leads. It is signed, so a
// recipient holds the capability to do exactly that and nothing else.
type Token struct {
	Purpose   Purpose
	MessageID int64
	ContactID int64
	LinkIndex int    // clicks: the link's position in the email, from 0
	URL       string // clicks: the target, which must be http or https
	// IssuedAt is when the link was made, to the second: moments before the
	// email left. Hit classification reads the time since sending from it,
	// without a database read per hit.
	IssuedAt time.Time
}

// ErrBadToken is returned for a token that is malformed, truncated, signed
// with an unknown key or tampered with. Callers answer 404 and record
// nothing; the error says no more, on purpose.
var ErrBadToken = &Error{Code: CodeNotFound, Message: "not found"}

const (
	tokenVersion = 1
	macSize      = 16 // 128 bits of HMAC-SHA256: forgery stays out of reach
	maxTokenURL  = 2048
)

// Signer signs and verifies tokens with a current key and, during a
// rotation, previous keys that still verify.
type Signer struct {
	keys []signingKey // the first one signs
	// decoded holds buffers (*[verifyBuffer]byte) that Verify decodes
	// tokens into, so that checking a hit's token copies nothing to the
	// heap.
	decoded *sync.Pool
}

type signingKey struct {
	id byte
	// macs holds HMAC states (*tokenMAC) keyed with the MAC key derived
	// from the secret, reset and reused: making one costs two SHA-256
	// states and a padded key, on every link signed and every hit checked.
	macs *sync.Pool
}

// tokenMAC is a pooled HMAC state with room for its sum, which would
// otherwise be copied to the heap on every use (Sum is called through an
// interface).
type tokenMAC struct {
	hash hash.Hash
	sum  [sha256.Size]byte
}

// Fields of NewSigner's errors: which secret is at fault, for the caller
// to name the setting it came from.
const (
	FieldSecret         = "secret"
	FieldSecretPrevious = "previous secret"
)

// NewSigner returns a Signer that signs with current and also accepts tokens
// signed with any of previous. A secret too short to be safe is an invalid
// *Error whose Field is FieldSecret or FieldSecretPrevious.
func NewSigner(current string, previous ...string) (*Signer, error) {
	s := &Signer{decoded: &sync.Pool{New: func() any { return new([verifyBuffer]byte) }}}
	for i, secret := range append([]string{current}, previous...) {
		if len(secret) < 32 {
			if i == 0 {
				return nil, FieldError(FieldSecret, "must be at least 32 characters")
			}
			return nil, FieldError(FieldSecretPrevious, "must be at least 32 characters")
		}
		sum := sha256.Sum256([]byte("nurture token key id\x00" + secret))
		mac := sha256.Sum256([]byte("nurture token mac key\x00" + secret))
		s.keys = append(s.keys, signingKey{id: sum[0], macs: &sync.Pool{
			New: func() any { return &tokenMAC{hash: hmac.New(sha256.New, mac[:])} },
		}})
	}
	return s, nil
}

// Sign returns t as a URL-safe token.
func (s *Signer) Sign(t Token) string {
	k := s.keys[0]
	buf := make([]byte, 0, 32+len(t.URL)+macSize)
	buf = append(buf, tokenVersion, k.id, byte(t.Purpose))
	buf = binary.AppendUvarint(buf, uint64(t.MessageID))
	buf = binary.AppendUvarint(buf, uint64(t.ContactID))
	buf = binary.AppendUvarint(buf, uint64(max(t.IssuedAt.Unix(), 0)))
	if t.Purpose == PurposeClick {
		buf = binary.AppendUvarint(buf, uint64(t.LinkIndex))
		buf = append(buf, t.URL...)
	}
	buf = k.sum(buf, buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// sum appends the MAC of data to dst.
func (k *signingKey) sum(dst, data []byte) []byte {
	m := k.macs.Get().(*tokenMAC)
	m.hash.Reset()
	m.hash.Write(data)
	dst = append(dst, m.hash.Sum(m.sum[:0])[:macSize]...)
	k.macs.Put(m)
	return dst
}

// strictBase64 decodes tokens: the encoding Sign writes, refusing the
// other spellings of the same bytes (trailing bits that are not zero).
var strictBase64 = base64.RawURLEncoding.Strict()

// verifyBuffer is how long a token Verify decodes without a buffer on the
// heap: pixel tokens, and clicks to a target of up to about 150 bytes.
const verifyBuffer = 192

// Verify checks a token's signature with each known key and returns what it
// carries. Any fault is ErrBadToken.
func (s *Signer) Verify(token string) (Token, error) {
	// Only the spelling Sign writes verifies: the decoder skips line
	// breaks, which no token holds (and strictBase64 refuses the rest).
	if len(token) > 4*(maxTokenURL+64)/3 || strings.ContainsAny(token, "\r\n") {
		return Token{}, ErrBadToken
	}
	if n := base64.RawURLEncoding.DecodedLen(len(token)); n > verifyBuffer {
		return s.verify(token, make([]byte, 0, n))
	}
	buf := s.decoded.Get().(*[verifyBuffer]byte)
	t, err := s.verify(token, buf[:0])
	s.decoded.Put(buf)
	return t, err
}

// verify is Verify, decoding the token into buf; what it returns holds
// nothing of buf.
func (s *Signer) verify(token string, buf []byte) (Token, error) {
	raw, err := strictBase64.AppendDecode(buf, []byte(token))
	if err != nil || len(raw) < 3+2+macSize || raw[0] != tokenVersion {
		return Token{}, ErrBadToken
	}
	body, mac := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	var key *signingKey
	var want [macSize]byte
	for i := range s.keys {
		if s.keys[i].id == raw[1] && hmac.Equal(mac, s.keys[i].sum(want[:0], body)) {
			key = &s.keys[i]
			break
		}
	}
	if key == nil {
		return Token{}, ErrBadToken
	}
	t := Token{Purpose: Purpose(body[2])}
	rest := body[3:]
	var fields [4]uint64
	n := 3
	if t.Purpose == PurposeClick {
		n = 4
	}
	for i := 0; i < n; i++ {
		v, size := binary.Uvarint(rest)
		if size <= 0 || v > 1<<62 {
			return Token{}, ErrBadToken
		}
		fields[i], rest = v, rest[size:]
	}
	t.MessageID, t.ContactID, t.LinkIndex = int64(fields[0]), int64(fields[1]), int(fields[3])
	if fields[2] > 0 {
		t.IssuedAt = time.Unix(int64(fields[2]), 0).UTC()
	}
	if !t.Purpose.valid() || (t.Purpose != PurposeClick && len(rest) > 0) {
		return Token{}, ErrBadToken
	}
	if t.Purpose == PurposeClick {
		t.URL = string(rest)
		if !SafeLinkTarget(t.URL) {
			return Token{}, ErrBadToken
		}
	}
	return t, nil
}

// SafeLinkTarget reports whether u may be the target of a tracked link: an
// absolute http or https URL with a host, no credentials, no control
// characters, of reasonable length.
func SafeLinkTarget(u string) bool {
	if len(u) == 0 || len(u) > maxTokenURL || strings.ContainsAny(u, "\x00\r\n\t\\") {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && p.User == nil
}
