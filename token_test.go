package nurture_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

var (
	secretA = strings.Repeat("a", 32)
	secretB = strings.Repeat("b", 32)
)

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := nurture.NewSigner(secretA)
	require.NoError(t, err)
	for _, tok := range []nurture.Token{
		{Purpose: nurture.PurposeOpen, MessageID: 1, ContactID: 2},
		{Purpose: nurture.PurposeUnsubscribe, MessageID: 1 << 40, ContactID: 7},
		{Purpose: nurture.PurposeView, MessageID: 5, ContactID: 9},
		{Purpose: nurture.PurposeClick, MessageID: 3, ContactID: 4, LinkIndex: 12, URL: "https://example.com/docs?a=1&b=%C3%A9#x"},
	} {
		signed := s.Sign(tok)
		require.NotContains(t, signed, "=")
		require.NotContains(t, signed, "/")
		got, err := s.Verify(signed)
		require.NoError(t, err)
		require.Equal(t, tok, got)
	}
}

func TestTokenRejections(t *testing.T) {
	t.Parallel()
	s, _ := nurture.NewSigner(secretA)
	other, _ := nurture.NewSigner(secretB)
	valid := s.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: 3, ContactID: 4, URL: "https://example.com/"})
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := map[string]string{
		"empty":              "",
		"not base64":         "***",
		"truncated":          valid[:len(valid)-3],
		"tampered purpose":   flip(2),
		"tampered message":   flip(3),
		"tampered url":       flip(len(raw) - 20),
		"tampered mac":       flip(len(raw) - 1),
		"foreign key":        other.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 3, ContactID: 4}),
		"unsigned url":       base64.RawURLEncoding.EncodeToString([]byte("https://evil.example")),
		"huge":               strings.Repeat("A", 10000),
		"open with trailing": s.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 1, ContactID: 1}) + "AA",
	}
	for name, tok := range tests {
		_, err := s.Verify(tok)
		require.ErrorIs(t, err, nurture.ErrBadToken, name)
	}
}

func TestTokenKeyRotation(t *testing.T) {
	t.Parallel()
	old, _ := nurture.NewSigner(secretA)
	rotated, err := nurture.NewSigner(secretB, secretA)
	require.NoError(t, err)
	tok := nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 1, ContactID: 2}
	got, err := rotated.Verify(old.Sign(tok))
	require.NoError(t, err, "a link sent before the rotation still works")
	require.Equal(t, tok, got)

	dropped, _ := nurture.NewSigner(secretB)
	_, err = dropped.Verify(old.Sign(tok))
	require.ErrorIs(t, err, nurture.ErrBadToken, "once the previous secret is dropped its links die")

	_, err = nurture.NewSigner("short")
	require.Error(t, err)
}

func TestSafeLinkTarget(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{
		"https://example.com/a?b=c":                        true,
		"http://example.com":                               true,
		"javascript:alert(1)":                              false,
		"//evil.example":                                   false,
		"/relative":                                        false,
		"https://user:pw@example.com/":                     false,
		"https://example.com/\r\nx":                        false,
		"mailto:a@example.com":                             false,
		"https:///nohost":                                  false,
		"https://example.com/" + strings.Repeat("a", 3000): false,
	} {
		require.Equal(t, want, nurture.SafeLinkTarget(u), u)
	}
}

func FuzzVerifyToken(f *testing.F) {
	s, _ := nurture.NewSigner(secretA)
	f.Add(s.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: 3, ContactID: 4, URL: "https://example.com/"}))
	f.Add(s.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 1, ContactID: 2}))
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok)
		if err != nil {
			return
		}
		// Whatever verifies re-signs to the same token: nothing else can be forged.
		require.Equal(t, tok, s.Sign(got), "token %q verified as %+v but signs differently", tok, got)
		require.False(t, got.Purpose == nurture.PurposeClick && !nurture.SafeLinkTarget(got.URL), "unsafe target %q verified", got.URL)
	})
}

// BenchmarkVerify checks a click token, as every hit of /c/ does.
func BenchmarkVerify(b *testing.B) {
	s, err := nurture.NewSigner(strings.Repeat("k", 32))
	if err != nil {
		b.Fatal(err)
	}
	token := s.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: 123456, ContactID: 654321,
		IssuedAt: time.Now(), LinkIndex: 3, URL: "https://app.example.com/docs/getting-started?utm_source=email"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOpen checks a pixel's token, as every hit of /o/ does.
func BenchmarkVerifyOpen(b *testing.B) {
	s, err := nurture.NewSigner(strings.Repeat("k", 32))
	if err != nil {
		b.Fatal(err)
	}
	token := s.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 123456, ContactID: 654321, IssuedAt: time.Now()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// The domain names no configuration variable (only cmd and internal/config
// know them): a short secret is reported by which secret it is.
func TestNewSignerNamesTheShortSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		current  string
		previous []string
		field    string
	}{
		{"short", nil, nurture.FieldSecret},
		{secretA, []string{secretB, "short"}, nurture.FieldSecretPrevious},
	} {
		_, err := nurture.NewSigner(tt.current, tt.previous...)
		var ne *nurture.Error
		require.ErrorAs(t, err, &ne)
		require.Equal(t, nurture.CodeInvalid, ne.Code)
		require.Equal(t, tt.field, ne.Field)
		require.NotContains(t, err.Error(), "NURTURE_")
	}
}
