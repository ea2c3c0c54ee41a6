package mailer

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// crlfOnly turns every line break of b (CRLF, lone LF, lone CR) into CRLF.
// Our signer signs only bodies like that: quoted-printable writes every
// other CR and LF as =0D and =0A.
func crlfOnly(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// folded makes v a header field value: every line break becomes a fold
// (CRLF and a space), so that v cannot end the field or the header.
func folded(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.ReplaceAll(v, "\r", "")
	return strings.ReplaceAll(v, "\n", "\r\n ")
}

// theirBodyHash is the bh= that go-msgauth's signer computes for msg.
func theirBodyHash(t *testing.T, s *signer, msg []byte) string {
	t.Helper()
	var out strings.Builder
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: s.domain, Selector: s.selector, Signer: s.key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	require.NoError(t, err, "go-msgauth sign")
	return tagValue(t, out.String(), "bh")
}

// verifyTheirs checks our signature on signed with go-msgauth's verifier.
func verifyTheirs(t *testing.T, s *signer, signed []byte) {
	t.Helper()
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) { return []string{txtRecord(t, s.key)}, nil },
	})
	require.NoError(t, err, "go-msgauth does not verify our signature:\n%q", signed)
	require.Len(t, verifs, 1, "go-msgauth does not verify our signature:\n%q", signed)
	require.NoError(t, verifs[0].Err, "go-msgauth does not verify our signature:\n%q", signed)
}

// FuzzDKIM compares our DKIM signer with go-msgauth, the reference:
//   - our relaxed body hash equals the one go-msgauth's signer computes,
//     for any body with CRLF line breaks;
//   - a message with any header value (folded where it has line breaks,
//     any field-name case, white space anywhere) signed by us verifies
//     with go-msgauth's verifier, which canonicalises on its own;
//   - an email composed from any subject, display name and text, as the
//     mailer sends it, verifies too.
func FuzzDKIM(f *testing.F) {
	for _, s := range []struct {
		body, value, name string
		upper             bool
	}{
		{"Hello\r\n", " Hello", "Jörg", false},
		{"", "", "", true},
		{"\r\n\r\n\r\n", "  a  \t b \t", " ", false},
		{"a \t b \r\n\t\r\n  c  \r\n\r\n", "\tx\r\n\ty", "Zoë \"Z\" O'Brien", true},
		{"lone\rcr and lone\nlf\r\n", "a\nb\rc", "=?UTF-8?q?x?=", false},
		{" lead\r\n\r\n.\r\n..\r\n", "x:y:z", strings.Repeat("n", 200), false},
		{"\x00\xff\xfe binary \x80\r\n", "\x00\xff 8-bit", "\xff", true},
		{strings.Repeat("long line ", 100) + "\r\n", strings.Repeat("w ", 300), strings.Repeat("ü ", 100), false},
	} {
		f.Add([]byte(s.body), s.value, s.name, s.upper)
	}
	s := testSigners()["ed25519"]
	f.Fuzz(func(t *testing.T, body []byte, value, name string, upper bool) {
		body = crlfOnly(body)

		// The body hash.
		head := "From: a@nurture.test\r\nSubject: x\r\n\r\n"
		if isRelaxedBody(body) {
			require.Equal(t, string(body), string(relaxedBody(body)), "body %q was taken as relaxed already", body)
		}
		sum := sha256.Sum256(relaxedBody(body))
		require.Equal(t, theirBodyHash(t, s, append([]byte(head), body...)), base64.StdEncoding.EncodeToString(sum[:]),
			"body %q: our bh= against go-msgauth's", body)

		// A whole signature over any header value.
		subject := "Subject"
		if upper {
			subject = "SUBJECT"
		}
		raw := []byte("From: a@nurture.test\r\nTo: b@example.com\r\n" + subject + ":" + folded(value) + "\r\nDate: x\r\n\r\n")
		raw = append(raw, body...)
		field, err := s.signature(raw, time.Unix(0, 0))
		require.NoError(t, err)
		verifyTheirs(t, s, append([]byte(field), raw...))

		// An email as the mailer writes it.
		e := &nurture.Email{
			MessageID: "fuzz@nurture.test",
			From:      netmail.Address{Name: "Nurture", Address: "team@nurture.test"},
			To:        netmail.Address{Name: name, Address: "ada@example.com"},
			Subject:   value,
			Text:      string(body),
			Headers:   []nurture.Header{{Name: "X-Tag", Value: name}},
		}
		msg, err := compose(e, time.Unix(0, 0))
		if err != nil {
			return // refused input (control characters, invalid UTF-8): nothing to sign
		}
		require.NoError(t, s.sign(msg))
		verifyTheirs(t, s, msg.data)
	})
}
