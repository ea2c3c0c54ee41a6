package mailer

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

var testSigners = sync.OnceValue(func() map[string]*signer {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.DiscardHandler)
	out := map[string]*signer{}
	for name, key := range map[string]crypto.Signer{"rsa-2048": rk, "ed25519": ek} {
		s, err := newSigner(&DKIM{Domain: "nurture.test", Selector: "s1", Key: key}, log)
		if err != nil {
			panic(err)
		}
		out[name] = s
	}
	return out
})

// testEmails are messages of every shape compose makes.
func testEmails() []*nurture.Email {
	base := func(id string) *nurture.Email {
		return &nurture.Email{
			MessageID: id + "@nurture.test",
			From:      netmail.Address{Name: "Nurture Team – Ünïcödé", Address: "team@nurture.test"},
			To:        netmail.Address{Name: "Jörg Müller", Address: "joerg@example.com"},
			Subject:   "Willkommen, Jörg: " + strings.Repeat("a long subject that needs folding ", 4),
			Text:      "Hello Jörg,\n.\n..\n" + strings.Repeat("a very long line of text ", 10) + "\n\n\n",
			HTML:      "<p>Hello Jörg</p>",
			Headers: []nurture.Header{
				{Name: "List-Unsubscribe", Value: "<https://links.example.com/u/" + strings.Repeat("x", 200) + ">, <mailto:u+abc@nurture.test>"},
				{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
				{Name: "Reply-To", Value: "Søren <support@nurture.test>"},
				{Name: "X-Nurture-Step", Value: "onboarding/2 – tips"},
			},
		}
	}
	textOnly, htmlOnly, bare, huge := base("text-only"), base("html-only"), base("bare"), base("huge-names")
	textOnly.HTML, htmlOnly.Text = "", ""
	bare.Headers, bare.HTML = nil, ""
	huge.To.Name = strings.Repeat("Zoë ", 1000) + strings.Repeat("x", 3000)
	huge.Subject = "Welcome, " + huge.To.Name
	return []*nurture.Email{base("alternative"), textOnly, htmlOnly, bare, huge}
}

// TestSignatureVerifies signs every shape of message compose makes with
// both kinds of key and checks the result with go-msgauth's verifier; the
// body hash must also be the one go-msgauth's own signer computes.
func TestSignatureVerifies(t *testing.T) {
	t.Parallel()
	for name, s := range testSigners() {
		for _, e := range testEmails() {
			t.Run(name+"/"+e.MessageID, func(t *testing.T) {
				t.Parallel()
				msg, err := compose(e, time.Now())
				require.NoError(t, err)
				unsigned := slices.Clone(msg.data)
				require.NoError(t, s.sign(msg))
				field, rest := cutField(t, msg.data, "DKIM-Signature")
				require.Equal(t, string(unsigned), string(rest), "signing changed the message (less the signature)")
				for line := range bytes.SplitSeq(bytes.TrimSuffix(field, []byte("\r\n")), []byte("\r\n")) {
					require.LessOrEqual(t, len(line), maxLine, "signature line %q", line)
				}
				verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg.data), &dkim.VerifyOptions{
					LookupTXT: func(string) ([]string, error) { return []string{txtRecord(t, s.key)}, nil },
				})
				require.NoError(t, err, "verify:\n%s", msg.data)
				require.Len(t, verifs, 1, "verify:\n%s", msg.data)
				require.NoError(t, verifs[0].Err, "verify:\n%s", msg.data)

				// go-msgauth's signer agrees on the body hash.
				var theirs strings.Builder
				err = dkim.Sign(&theirs, bytes.NewReader(unsigned), &dkim.SignOptions{
					Domain: s.domain, Selector: s.selector, Signer: s.key, Hash: crypto.SHA256,
					HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
				})
				require.NoError(t, err)
				require.Equal(t, tagValue(t, theirs.String(), "bh"), tagValue(t, string(field), "bh"), "bh=, against go-msgauth's")
			})
		}
	}
}

// tagValue returns the value of a DKIM-Signature tag in msg, unfolded.
func tagValue(t *testing.T, msg, tag string) string {
	t.Helper()
	unfolded := strings.ReplaceAll(msg, "\r\n", "")
	_, rest, ok := strings.Cut(unfolded, " "+tag+"=")
	require.True(t, ok, "no %s= in %q", tag, msg)
	v, _, _ := strings.Cut(rest, ";")
	return strings.TrimSpace(v)
}

func TestRelaxedBody(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"\r\n\r\n", ""},
		{"a", "a\r\n"},
		{"a\r\n", "a\r\n"},
		{"a  b\t c \t\r\n\r\n \r\n", "a b c\r\n"},
		{"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n"},
		{" lead\r\n", " lead\r\n"},
		{"\r\n", ""},
		{"\r\na b\r\n", "\r\na b\r\n"},
		{"a \r\n", "a\r\n"},
		{"a\tb\r\n", "a b\r\n"},
		{"lone\rcr \rx\r\n", "lone\rcr \rx\r\n"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(relaxedBody([]byte(tt.in))), "relaxedBody(%q)", tt.in)
		// The shortcut of the signer: a body taken as relaxed already is.
		require.Equal(t, tt.in == tt.want, isRelaxedBody([]byte(tt.in)), "isRelaxedBody(%q)", tt.in)
	}
}

func TestRelaxedField(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Subject: Hello\r\n", "subject:Hello\r\n"},
		{"SUBJECT \t:  a   b \t\r\n", "subject:a b\r\n"},
		{"To: a,\r\n b,\r\n\tc\r\n", "to:a, b, c\r\n"},
		{"X-Empty:\r\n", "x-empty:\r\n"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(appendRelaxedField(nil, []byte(tt.in))), "appendRelaxedField(%q)", tt.in)
	}
}

// cutField removes the header field name (with its continuation lines)
// from msg and returns it and what remains; it fails unless there is
// exactly one.
func cutField(t *testing.T, msg []byte, name string) (field, rest []byte) {
	t.Helper()
	header, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	require.True(t, ok, "no end of header")
	lines := bytes.SplitAfter(header, []byte("\r\n"))
	start := slices.IndexFunc(lines, func(l []byte) bool {
		return bytes.HasPrefix(bytes.ToLower(l), []byte(strings.ToLower(name)+":"))
	})
	require.GreaterOrEqual(t, start, 0, "no %s field:\n%s", name, msg)
	end := start + 1
	for end < len(lines) && (lines[end][0] == ' ' || lines[end][0] == '\t') {
		end++
	}
	field = bytes.Join(lines[start:end], nil)
	if !bytes.HasSuffix(field, []byte("\r\n")) {
		field = append(field, "\r\n"...) // it was the last line of the header
	}
	rest = slices.Concat(bytes.Join(lines[:start], nil), bytes.Join(lines[end:], nil))
	rest = bytes.TrimSuffix(rest, []byte("\r\n"))
	rest = slices.Concat(rest, []byte("\r\n\r\n"), body)
	require.NotContains(t, strings.ToLower(string(rest)), "\n"+strings.ToLower(name)+":", "more than one %s field", name)
	return field, rest
}

func txtRecord(t testing.TB, key crypto.Signer) string {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	require.Failf(t, "unknown key type", "no record for %T", key)
	return ""
}

func TestHeaderKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header string
		want         string
	}{
		{"minimal", "From: a@b.test\r\n", "From:From"},
		{"case and spaces", "from : a@b.test\r\nSUBJECT: x\r\ncontent-type: text/plain\r\n", "From:From:Subject:Subject:Content-Type"},
		{"folded values are not fields", "From: a@b.test\r\nSubject:\r\n =?UTF-8?q?x?=\r\n To: not a field\r\n\tDate: nor this\r\n", "From:From:Subject:Subject"},
		{"unsigned fields are left out", "X-Nurture-Step: 2\r\nFrom: a@b.test\r\nReceived: x\r\n", "From:From"},
		{"every field once, in our order", "Content-Transfer-Encoding: qp\r\nContent-Type: t\r\nMIME-Version: 1.0\r\n" +
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nList-Unsubscribe: <u>\r\nReply-To: r@b.test\r\n" +
			"Message-ID: <m@b.test>\r\nDate: d\r\nSubject: s\r\nTo: t@b.test\r\nFrom: a@b.test\r\n",
			"From:From:To:To:Subject:Subject:Date:Message-ID:Reply-To:Reply-To:List-Unsubscribe:List-Unsubscribe:" +
				"List-Unsubscribe-Post:List-Unsubscribe-Post:MIME-Version:Content-Type:Content-Transfer-Encoding"},
		{"a field twice is signed twice", "From: a@b.test\r\nDate: 1\r\nDate: 2\r\n", "From:From:Date:Date"},
		{"the body is not the header", "From: a@b.test\r\n\r\nSubject: in the body\r\n", "From:From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.header
			if !strings.Contains(raw, "\r\n\r\n") {
				raw += "\r\nbody\r\n"
			}
			require.Equal(t, tt.want, strings.Join(headerKeys([]byte(raw)), ":"), "headerKeys")
		})
	}
}

func TestCheckDomainName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"example.com", "mail.example.co.uk", "xn--bckerei-5wa.test", "a-b.c-d.test", "EXAMPLE.COM", "1.example.com"} {
		require.NoError(t, checkDomainName(ok, 2), "checkDomainName(%q)", ok)
	}
	for _, bad := range []string{"", "example", ".example.com", "example.com.", "ex..ample.com", "-ex.com", "ex-.com", "ex_ample.com",
		"ex ample.com", "ex\tample.com", "bäckerei.test", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "aa"} {
		require.Error(t, checkDomainName(bad, 2), "checkDomainName(%q) accepted it", bad)
	}
	require.NoError(t, checkDomainName("s1", 1), "a one-label selector")
}

// BenchmarkSign measures signing alone, on an already composed message.
func BenchmarkSign(b *testing.B) {
	msg, err := compose(testEmails()[0], time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"ed25519", "rsa-2048"} {
		s := testSigners()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.signature(msg.data, msg.date); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
