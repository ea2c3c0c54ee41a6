package mailer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzParseURL(f *testing.F) {
	for _, seed := range []string{
		"smtp://relay.example.com",
		"smtp://user:pass@relay.example.com:2525?tls=none",
		"smtps://u:p%40ss@[::1]:465",
		"smtp://localhost?tls=opportunistic",
		"smtp://[fe80::1%25eth0]:25",
		"smtp://127.0.0.1:0",
		"smtp://a:b@c:d@e",
		"smtp://host?tls=none&tls=starttls",
		"smtp:host",
		"://",
		"smtp://h\x00st",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ParseURL(raw)
		if err != nil {
			require.Equal(t, Relay{}, r, "ParseURL(%q) returned a relay with error %v", raw, err)
			return
		}
		require.NotEmpty(t, r.Host, "ParseURL(%q) = %#v: empty host", raw, r)
		require.True(t, r.Port >= 1 && r.Port <= 65535, "ParseURL(%q) = %#v: port out of range", raw, r)
		require.NotEqual(t, r.Implicit, r.TLS != "", "ParseURL(%q) = %#v: want either Implicit or a TLS mode", raw, r)
		require.Equal(t, r.Username == "", r.Password == "", "ParseURL(%q) = %#v: half a credential", raw, r)
		again, err := ParseURL(r.url(false))
		require.NoError(t, err, "ParseURL(%q) = %#v, but its URL %q does not parse", raw, r, r.url(false))
		require.Equal(t, r, again, "ParseURL(%q): its URL %q parses to another relay", raw, r.url(false))
	})
}
