package mailer_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/mailer"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want mailer.Relay
	}{
		{"smtp://relay.example.com", mailer.Relay{Host: "relay.example.com", Port: 587, TLS: mailer.TLSStartTLS}},
		{"smtp://relay.example.com/", mailer.Relay{Host: "relay.example.com", Port: 587, TLS: mailer.TLSStartTLS}},
		{"SMTP://Relay.Example.com:25", mailer.Relay{Host: "Relay.Example.com", Port: 25, TLS: mailer.TLSStartTLS}},
		{"smtp://relay.example.com:2525?tls=opportunistic", mailer.Relay{Host: "relay.example.com", Port: 2525, TLS: mailer.TLSOpportunistic}},
		{"smtp://relay.example.com?tls=none", mailer.Relay{Host: "relay.example.com", Port: 587, TLS: mailer.TLSNone}},
		{"smtp://apikey:p%40ss%3Aw0rd@smtp.example.com:587", mailer.Relay{Host: "smtp.example.com", Port: 587, Username: "apikey", Password: "p@ss:w0rd", TLS: mailer.TLSStartTLS}},
		{"smtps://user:pass@smtp.example.com", mailer.Relay{Host: "smtp.example.com", Port: 465, Username: "user", Password: "pass", Implicit: true}},
		{"smtps://smtp.example.com:2465", mailer.Relay{Host: "smtp.example.com", Port: 2465, Implicit: true}},
		{"smtp://203.0.113.7", mailer.Relay{Host: "203.0.113.7", Port: 587, TLS: mailer.TLSStartTLS}},
		// A loopback relay defaults to opportunistic STARTTLS.
		{"smtp://localhost:1025", mailer.Relay{Host: "localhost", Port: 1025, TLS: mailer.TLSOpportunistic}},
		{"smtp://LocalHost", mailer.Relay{Host: "LocalHost", Port: 587, TLS: mailer.TLSOpportunistic}},
		{"smtp://127.0.0.1:25", mailer.Relay{Host: "127.0.0.1", Port: 25, TLS: mailer.TLSOpportunistic}},
		{"smtp://127.8.9.10", mailer.Relay{Host: "127.8.9.10", Port: 587, TLS: mailer.TLSOpportunistic}},
		{"smtp://[::1]:25", mailer.Relay{Host: "::1", Port: 25, TLS: mailer.TLSOpportunistic}},
		{"smtp://localhost?tls=starttls", mailer.Relay{Host: "localhost", Port: 587, TLS: mailer.TLSStartTLS}},
		{"smtp://localhost?tls=none", mailer.Relay{Host: "localhost", Port: 587, TLS: mailer.TLSNone}},
		// Names that only look local are not.
		{"smtp://localhost.example.com", mailer.Relay{Host: "localhost.example.com", Port: 587, TLS: mailer.TLSStartTLS}},
		{"smtp://[2001:db8::1]:25", mailer.Relay{Host: "2001:db8::1", Port: 25, TLS: mailer.TLSStartTLS}},
		{"smtp://[fe80::1%25eth0]:25", mailer.Relay{Host: "fe80::1%eth0", Port: 25, TLS: mailer.TLSStartTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			got, err := mailer.ParseURL(tt.raw)
			require.NoError(t, err, "ParseURL")
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
	}{
		{"", "scheme missing"},
		{"relay.example.com:587", "scheme"},
		{"http://relay.example.com", `scheme "http" not supported`},
		{"smtp:relay.example.com", "host missing"},
		{"smtp://", "host missing"},
		{"smtp://:25", "host missing"},
		{"smtp://relay.example.com:0", "port"},
		{"smtp://relay.example.com:65536", "port"},
		{"smtp://relay.example.com:", "port empty"},
		{"smtp://relay.example.com:smtp", "port"},
		{"smtp://relay.example.com?tls=maybe", `tls="maybe" not supported`},
		{"smtp://relay.example.com?tls=", "tls is empty"},
		{"smtp://relay.example.com?tls=STARTTLS", "not supported"},
		{"smtp://relay.example.com?tls=none&tls=starttls", "more than once"},
		{"smtp://relay.example.com?timeout=5s", `unknown parameter "timeout"`},
		{"smtp://relay.example.com?tls=none;x", "query"},
		{"smtps://relay.example.com?tls=none", "not allowed with smtps"},
		{"smtp://user@relay.example.com", "both a user name and a password"},
		{"smtp://:pass@relay.example.com", "both a user name and a password"},
		{"smtp://relay.example.com/submit", "unexpected path"},
		{"smtp://relay.example.com#x", "fragment"},
		{"smtp://relay_example.com\x7f", "control character"},
		{"smtp://::0%25:1", "brackets"},
		{"smtp://relay.exa%20mple.com", "escape"},
		{"smtp://relay.exa%41mple.com", "escape"},
		{"smtp://relay*.example.com", "not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			_, err := mailer.ParseURL(tt.raw)
			require.ErrorContains(t, err, tt.want, "ParseURL(%q)", tt.raw)
			require.True(t, strings.HasPrefix(err.Error(), "smtp url: "), "error %q does not say it is about the smtp url", err)
		})
	}
}

func TestParseURLErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"smtp://user:hunter2@relay.example.com:bad",
		"smtp://user:hunter2@relay.example.com?tls=maybe",
		"smtp://user:hunter2@relay.example.com/path",
		"smtp://user:hunter2@relay\x00.example.com",
		"smtp://user:hunter2@[::1",
	} {
		_, err := mailer.ParseURL(raw)
		require.Error(t, err, "ParseURL(%q)", raw)
		require.NotContains(t, err.Error(), "hunter2", "ParseURL(%q): the error shows the password", raw)
	}
}

func TestRelayHidesPassword(t *testing.T) {
	t.Parallel()
	r, err := mailer.ParseURL("smtp://user:hunter2@relay.example.com")
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("relay", "relay", r)
	for _, s := range []string{r.String(), fmt.Sprint(r), fmt.Sprintf("%+v", r), buf.String()} {
		require.NotContains(t, s, "hunter2", "password shown")
	}
	require.Equal(t, "smtp://user:xxxxx@relay.example.com:587?tls=starttls", r.String())
}

func ExampleParseURL() {
	r, err := mailer.ParseURL("smtp://apikey:secret@smtp.example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Host, r.Port, r.TLS)
	fmt.Println(r)

	local, _ := mailer.ParseURL("smtp://localhost:1025")
	fmt.Println(local.TLS)
	// Output:
	// smtp.example.com 587 starttls
	// smtp://apikey:xxxxx@smtp.example.com:587?tls=starttls
	// opportunistic
}
