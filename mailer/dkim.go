package mailer

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
)

// DKIM is the signing identity of a Mailer: every message it sends carries
// a DKIM-Signature of Domain (d=) whose public key receivers find in DNS at
// Selector._domainkey.Domain.
type DKIM struct {
	Domain   string        // the signing domain, such as example.com
	Selector string        // the selector, such as nurture2026
	Key      crypto.Signer // the private key; see LoadDKIMKey
}

// String describes the identity and the kind of key, never the key itself:
// printed as it is, an Ed25519 key (a byte slice) would show its secret.
func (d DKIM) String() string {
	return fmt.Sprintf("dkim d=%s s=%s key=%s", d.Domain, d.Selector, keyKind(d.Key))
}

// GoString keeps the key out of %#v as well.
func (d DKIM) GoString() string { return d.String() }

// LogValue keeps the key out of structured logs.
func (d DKIM) LogValue() slog.Value { return slog.StringValue(d.String()) }

// MarshalText keeps the key out of JSON and other encodings, such as a
// whole Config logged by slog's JSON handler.
func (d DKIM) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// RSA key sizes: receivers ignore signatures by keys under 1024 bits (RFC
// 8301) and expect 2048; New logs a warning for a key in between.
const (
	minRSABits         = 1024
	recommendedRSABits = 2048
)

// LoadDKIMKey reads a DKIM private key from a PEM file holding one
// unencrypted key, as "PRIVATE KEY" (PKCS#8, RSA or Ed25519)
// or "RSA PRIVATE KEY" (PKCS#1), such as
//
//	openssl genpkey -algorithm ed25519 -out dkim.pem
//	openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out dkim.pem
//
// RSA keys under 1024 bits are refused, as receivers ignore their
// signatures (RFC 8301); 2048 bits is recommended. Many receivers do not
// verify Ed25519 yet (RFC 8463), so an Ed25519 key alone signs mail that
// they treat as unsigned. Errors name the file, never its content.
func LoadDKIMKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dkim key file: %w", err) // *PathError names the file
	}
	key, err := parseDKIMKey(data)
	if err != nil {
		return nil, fmt.Errorf("dkim key file %s: %w", path, err)
	}
	return key, nil
}

// parseDKIMKey finds the one private key among the PEM blocks of data.
func parseDKIMKey(data []byte) (crypto.Signer, error) {
	var (
		found []*pem.Block
		other []string
	)
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			found = append(found, block)
		} else {
			other = append(other, block.Type)
		}
	}
	switch {
	case len(found) > 1:
		return nil, fmt.Errorf("%d private keys, want one", len(found))
	case len(found) == 0 && len(other) > 0:
		return nil, fmt.Errorf("no private key, only PEM blocks of type %s", strings.Join(other, ", "))
	case len(found) == 0:
		return nil, errors.New("no PEM data (want a -----BEGIN PRIVATE KEY----- block)")
	}
	block := found[0]
	if _, ok := block.Headers["DEK-Info"]; ok {
		return nil, errors.New("the key is encrypted; store it unencrypted (openssl pkey -in key.pem -out dkim.pem)")
	}

	var (
		parsed any
		err    error
	)
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted; store it unencrypted (openssl pkey -in key.pem -out dkim.pem)")
	case "EC PRIVATE KEY":
		return nil, errors.New("ECDSA keys cannot sign DKIM (want RSA or Ed25519)")
	default:
		return nil, fmt.Errorf("PEM block %q not supported (want PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s block does not hold a valid key: %w", block.Type, err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T cannot sign DKIM (want RSA or Ed25519)", parsed)
	}
	if err := checkDKIMKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// checkDKIMKey accepts the keys DKIM knows: RSA of at least 1024 bits,
// and Ed25519.
func checkDKIMKey(key crypto.Signer) error {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too short: receivers ignore signatures by keys under %d bits (use %d)",
				bits, minRSABits, recommendedRSABits)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	default:
		return fmt.Errorf("%s keys cannot sign DKIM (want RSA or Ed25519)", keyKind(key))
	}
}

// keyKind names a key's algorithm (and size for RSA) for messages and logs.
func keyKind(key crypto.Signer) string {
	if key == nil {
		return "none"
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", pub.N.BitLen())
	case ed25519.PublicKey:
		return "ed25519"
	default: // *ecdsa.PublicKey reads ECDSA
		name, _, _ := strings.Cut(strings.TrimPrefix(fmt.Sprintf("%T", pub), "*"), ".")
		return strings.ToUpper(name)
	}
}

// newSigner checks a DKIM configuration and signs a probe message, so
// that a key that cannot sign (in FIPS-only mode, say) stops the start
// rather than every send. Its errors are invalid *nurture.Error values
// whose Field names the Config field at fault (FieldDKIMDomain...), for
// the caller to name the setting behind it.
func newSigner(d *DKIM, log *slog.Logger) (*signer, error) {
	if err := checkDomainName(d.Domain, 2); err != nil {
		return nil, nurture.FieldError(FieldDKIMDomain, "%q: %v", d.Domain, err)
	}
	if err := checkDomainName(d.Selector, 1); err != nil {
		return nil, nurture.FieldError(FieldDKIMSelector, "%q: %v", d.Selector, err)
	}
	if n := len(d.Selector) + len("._domainkey.") + len(d.Domain); n > 253 {
		return nil, nurture.FieldError(FieldDKIMSelector, "%s._domainkey.%s is %d characters long, DNS allows 253", d.Selector, d.Domain, n)
	}
	if d.Key == nil {
		return nil, nurture.FieldError(FieldDKIMKey, "no key")
	}
	if err := checkDKIMKey(d.Key); err != nil {
		return nil, nurture.FieldError(FieldDKIMKey, "%v", err)
	}
	if pub, ok := d.Key.Public().(*rsa.PublicKey); ok && pub.N.BitLen() < recommendedRSABits {
		log.Warn("dkim rsa key shorter than recommended", slog.Int("bits", pub.N.BitLen()), slog.Int("recommended", recommendedRSABits))
	}
	s := &signer{domain: d.Domain, selector: d.Selector, key: d.Key}
	probe := "From: probe@" + d.Domain + "\r\nSubject: probe\r\n\r\nprobe\r\n"
	if _, err := s.signature([]byte(probe), time.Unix(0, 0)); err != nil {
		return nil, nurture.FieldError(FieldDKIMKey, "the key cannot sign: %v", err)
	}
	return s, nil
}

// checkDomainName checks s for DNS syntax: at least minLabels labels of
// letters, digits and inner hyphens (A-labels, for a non-ASCII name),
// each up to 63 characters, without a trailing dot.
func checkDomainName(s string, minLabels int) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 253 {
		return errors.New("longer than 253 characters")
	}
	labels := strings.Split(s, ".")
	if len(labels) < minLabels {
		return errors.New("not a fully qualified domain name (want one such as example.com)")
	}
	for _, l := range labels {
		switch {
		case l == "":
			return errors.New("empty label (a leading, trailing or double dot)")
		case len(l) > 63:
			return fmt.Errorf("label %q longer than 63 characters", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return fmt.Errorf("label %q contains %q (want letters, digits and hyphens)", l, c)
			}
		}
	}
	return nil
}

// signer signs messages for one DKIM identity. It holds no state that
// changes, so any number of Sends sign at once, each on its own core.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

// signedHeaders are the header fields a signature covers when present.
// oversign lists a name once more than it occurs: a header of that name
// added on the way then breaks the signature, rather than being shown to
// the reader (a second From) or acted on (a second List-Unsubscribe) as if
// we had sent it. The MIME fields are covered so that the body cannot be
// reinterpreted; Content-Transfer-Encoding is a top-level field of a
// single-part message only.
var signedHeaders = [...]struct {
	name     string
	oversign bool
}{
	{"From", true},
	{"To", true},
	{"Subject", true},
	{"Date", false},
	{"Message-ID", false},
	{"Reply-To", true},
	{"List-Unsubscribe", true},
	{"List-Unsubscribe-Post", true},
	{"MIME-Version", false},
	{"Content-Type", false},
	{"Content-Transfer-Encoding", false},
}

// sign puts a DKIM-Signature field on top of m's message.
func (s *signer) sign(m *message) error {
	field, err := s.signature(m.data, m.date)
	if err != nil {
		return err
	}
	data := make([]byte, 0, len(field)+len(m.data)+len(endOfData))
	data = append(append(data, field...), m.data...)
	m.data = data
	return nil
}

// signature signs raw, a whole message, relaxed/relaxed with SHA-256 (RFC
// 6376, and RFC 8463 for Ed25519), as of at (its t= tag), and returns the
// DKIM-Signature header field, CRLF included.
//
// It is written here rather than taken from go-msgauth's signer, which
// canonicalises the body byte by byte behind a pipe and a goroutine per
// message and cost more than the rest of a send; go-msgauth's verifier
// checks this one in the tests, over every shape of message we make, and
// go-mail's own signer folds a long h= list inside a header name, which
// no verifier accepts.
func (s *signer) signature(raw []byte, at time.Time) (string, error) {
	header, body, found := bytes.Cut(raw, []byte("\r\n\r\n"))
	if found {
		header = raw[:len(header)+2] // with the last field's CRLF
	}
	bh := sha256.New()
	if isRelaxedBody(body) {
		bh.Write(body)
	} else {
		relaxBody(body, func(p []byte) { bh.Write(p) })
	}
	bodyHash := bh.Sum(nil)
	keys := headerKeys(raw)

	algo := "rsa-sha256"
	if _, ok := s.key.Public().(ed25519.PublicKey); ok {
		algo = "ed25519-sha256"
	}
	var f strings.Builder
	f.Grow(640)
	f.WriteString("DKIM-Signature: v=1; a=" + algo + "; c=relaxed/relaxed;\r\n")
	f.WriteString(" d=" + s.domain + "; s=" + s.selector + "; t=" + strconv.FormatInt(at.Unix(), 10) + ";\r\n h=")
	col := len(" h=")
	for i, k := range keys {
		if i > 0 {
			f.WriteByte(':')
			col++
		}
		if col+len(k) > maxLine-1 {
			f.WriteString("\r\n ")
			col = 1
		}
		f.WriteString(k)
		col += len(k)
	}
	f.WriteString(";\r\n bh=" + base64.StdEncoding.EncodeToString(bodyHash[:]) + ";\r\n b=")

	h := sha256.New()
	var canon []byte
	fields := headerFields(header)
	used := make([]bool, len(fields))
	for _, k := range keys {
		// Of several fields of a name, they are signed from the bottom up;
		// a name listed once more than it occurs signs its absence.
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && strings.EqualFold(fields[i].name, k) {
				used[i] = true
				canon = appendRelaxedField(canon, fields[i].raw)
				break
			}
		}
	}
	unsigned := f.String()
	canon = appendRelaxedField(canon, []byte(unsigned))
	canon = canon[:len(canon)-2] // the signature's own field is hashed without its CRLF
	h.Write(canon)
	sum := h.Sum(nil)

	opts := crypto.Hash(0) // Ed25519 signs the hash itself (RFC 8463)
	if algo == "rsa-sha256" {
		opts = crypto.SHA256
	}
	sig, err := s.key.Sign(rand.Reader, sum, opts)
	if err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	f.Reset()
	f.Grow(len(unsigned) + len(b64) + 16)
	f.WriteString(unsigned)
	for col := len(" b="); len(b64) > 0; col = 1 {
		n := min(len(b64), maxLine-col)
		f.WriteString(b64[:n])
		if b64 = b64[n:]; b64 != "" {
			f.WriteString("\r\n ")
		}
	}
	f.WriteString("\r\n")
	return f.String(), nil
}

// headerKeys is the h= list for raw: each of signedHeaders as many times
// as raw's header has it, and once more if it is oversigned.
func headerKeys(raw []byte) []string {
	var count [len(signedHeaders)]int
	header, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for line := range bytes.SplitSeq(header, []byte("\r\n")) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // a folded continuation
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		for i, h := range signedHeaders {
			if strings.EqualFold(string(name), h.name) {
				count[i]++
				break
			}
		}
	}
	keys := make([]string, 0, 2*len(signedHeaders))
	for i, h := range signedHeaders {
		n := count[i]
		if n > 0 && h.oversign {
			n++
		}
		for range n {
			keys = append(keys, h.name)
		}
	}
	return keys
}
