package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

func TestHELOName(t *testing.T) {
	t.Parallel()
	host := func(name string, err error) func() (string, error) {
		return func() (string, error) { return name, err }
	}
	tests := []struct {
		name     string
		setting  string
		hostname func() (string, error)
		from     string
		want     string
	}{
		{"the setting wins", "mta.acme.example", host("box.internal.example", nil), "hello@acme.example", "mta.acme.example"},
		{"a fully qualified host name", "", host("box.internal.example", nil), "hello@acme.example", "box.internal.example"},
		{"a container id is not", "", host("3f2a1b9c8d7e", nil), "hello@acme.example", "acme.example"},
		{"no host name", "", host("", errors.New("no name")), "hello@acme.example", "acme.example"},
		{"a host name with odd characters", "", host("box 1.example", nil), "hello@acme.example", "acme.example"},
		{"neither usable", "", host("3f2a1b9c8d7e", nil), "hello@[192.0.2.1]", ""},
		{"a single-label From domain", "", host("3f2a1b9c8d7e", nil), "hello@localhost", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, heloName(tt.setting, tt.hostname, tt.from), tt.name)
	}
}

// The worker says the configured HELO to the relay.
func TestWorkerGivesTheConfiguredHELO(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.env["NURTURE_SMTP_HELO"] = "mta-7.acme.example"
	e.start("all")
	e.waitReady()
	e.mustPost("/v1/identify", map[string]any{"userId": "u-helo", "traits": map[string]any{"email": "helo@example.com"}})
	e.mustPost("/v1/track", map[string]any{"userId": "u-helo", "event": "signed_up"})
	require.Equal(t, "mta-7.acme.example", e.smtp.WaitForMessages(t, 1, 20*time.Second)[0].Helo)
}

// runLine runs `nurture worker` with env until it exits and returns its
// exit code and its error output, which must be one line.
func runLine(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, []string{"worker"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	out := strings.TrimRight(stderr.String(), "\n")
	require.NotContains(t, out, "\n", "one line: %q", out)
	return code, out
}

func TestWorkerRefusesHalfADKIMConfiguration(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"NURTURE_DKIM_DOMAIN": "acme.example"},
		{"NURTURE_DKIM_KEY_FILE": "/etc/nurture/dkim.pem"},
	} {
		env["NURTURE_SECRET"], env["NURTURE_ERASURE_KEY"] = config.NewSecret(), config.NewSecret()
		code, out := runLine(t, env)
		require.NotEqual(t, 0, code)
		require.Contains(t, out, "NURTURE_DKIM_DOMAIN")
		require.Contains(t, out, "NURTURE_DKIM_KEY_FILE")
	}
}

// The mailer's errors name a field of its Config; the binary names the
// variable behind it.
func TestWorkerNamesTheDKIMVariableAtFault(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))

	for _, tt := range []struct{ variable, value string }{
		{"NURTURE_DKIM_DOMAIN", "acme..example"},
		{"NURTURE_DKIM_SELECTOR", "s1;x"},
	} {
		e := setup(t)
		e.env["NURTURE_DKIM_DOMAIN"], e.env["NURTURE_DKIM_KEY_FILE"] = "acme.example", keyFile
		e.env[tt.variable] = tt.value
		e.env["NURTURE_PUBLIC_URL"] = "https://links.acme.example" // no http warning in the way
		code, out := runLine(t, e.env)
		require.NotEqual(t, 0, code)
		require.Contains(t, out, "invalid "+tt.variable)
	}
}
