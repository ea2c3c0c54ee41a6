// Go refuses to make RSA keys under 1024 bits unless told otherwise; the
// tests need one to see that the mailer refuses it too.
//
//go:debug rsa1024min=0

package mailer_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/mailer"
)

func TestNewValidatesDKIM(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	good := func(change func(*mailer.DKIM)) *mailer.DKIM {
		d := &mailer.DKIM{Domain: "mail.nurture.test", Selector: "nurture-2026.eu", Key: ed25519Key()}
		change(d)
		return d
	}
	tests := []struct {
		name  string
		dkim  *mailer.DKIM
		field string // the Config field named
		want  string // in the message
	}{
		{"empty domain", good(func(d *mailer.DKIM) { d.Domain = "" }), mailer.FieldDKIMDomain, ""},
		{"single-label domain", good(func(d *mailer.DKIM) { d.Domain = "nurture" }), mailer.FieldDKIMDomain, ""},
		{"domain with trailing dot", good(func(d *mailer.DKIM) { d.Domain = "nurture.test." }), mailer.FieldDKIMDomain, ""},
		{"domain with space", good(func(d *mailer.DKIM) { d.Domain = "nurture .test" }), mailer.FieldDKIMDomain, ""},
		{"domain with CRLF", good(func(d *mailer.DKIM) { d.Domain = "nurture.test\r\nBcc: x@evil.example" }), mailer.FieldDKIMDomain, ""},
		{"domain with semicolon", good(func(d *mailer.DKIM) { d.Domain = "nurture.test; s=x" }), mailer.FieldDKIMDomain, ""},
		{"domain label with hyphen at end", good(func(d *mailer.DKIM) { d.Domain = "nurture-.test" }), mailer.FieldDKIMDomain, ""},
		{"domain label too long", good(func(d *mailer.DKIM) { d.Domain = strings.Repeat("a", 64) + ".test" }), mailer.FieldDKIMDomain, ""},
		{"non-ASCII domain", good(func(d *mailer.DKIM) { d.Domain = "bäckerei.test" }), mailer.FieldDKIMDomain, ""},
		{"empty selector", good(func(d *mailer.DKIM) { d.Selector = "" }), mailer.FieldDKIMSelector, ""},
		{"selector with underscore", good(func(d *mailer.DKIM) { d.Selector = "_domainkey" }), mailer.FieldDKIMSelector, ""},
		{"selector with semicolon", good(func(d *mailer.DKIM) { d.Selector = "s1;" }), mailer.FieldDKIMSelector, ""},
		{"selector with double dot", good(func(d *mailer.DKIM) { d.Selector = "a..b" }), mailer.FieldDKIMSelector, ""},
		{"record name too long", good(func(d *mailer.DKIM) {
			d.Selector = strings.Repeat(strings.Repeat("s", 60)+".", 4) + "s"
		}), mailer.FieldDKIMSelector, ""},
		{"no key", good(func(d *mailer.DKIM) { d.Key = nil }), mailer.FieldDKIMKey, "no key"},
		{"ECDSA key", good(func(d *mailer.DKIM) { d.Key = ecKey }), mailer.FieldDKIMKey, "ECDSA keys cannot sign DKIM"},
		{"RSA-512 key", good(func(d *mailer.DKIM) { d.Key = rsa512(t) }), mailer.FieldDKIMKey, "RSA key of 512 bits is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := mailer.New(mailer.Config{URL: "smtp://relay.example.com", DKIM: tt.dkim})
			var ne *nurture.Error
			require.ErrorAs(t, err, &ne, "New")
			require.Equal(t, nurture.CodeInvalid, ne.Code, "New = %v", err)
			require.Equal(t, tt.field, ne.Field, "New = %v", err)
			require.Contains(t, ne.Message, tt.want, "New = %v", err)
			require.NotContains(t, err.Error(), "NURTURE_", "the mailer names no configuration variable")
		})
	}
	for _, d := range []*mailer.DKIM{
		good(func(*mailer.DKIM) {}),
		good(func(d *mailer.DKIM) { d.Key, d.Selector, d.Domain = rsaKey(), "s1", "Nurture.Test" }),
	} {
		m, err := mailer.New(mailer.Config{URL: "smtp://relay.example.com", DKIM: d})
		require.NoError(t, err, "New with %v", d)
		_ = m.Close()
	}
}

func TestNewWarnsAboutShortRSAKey(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	var logs bytes.Buffer
	m, err := mailer.New(mailer.Config{
		URL:    "smtp://relay.example.com",
		DKIM:   &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err, "New with an RSA-1024 key")
	_ = m.Close()
	require.Contains(t, logs.String(), "level=WARN", "no warning about the 1024-bit key")
	require.Contains(t, logs.String(), "bits=1024", "no warning about the 1024-bit key")
}

// writePEM writes blocks to a file in a fresh directory and returns its path.
func writePEM(t *testing.T, blocks ...*pem.Block) string {
	t.Helper()
	var buf bytes.Buffer
	for _, b := range blocks {
		require.NoError(t, pem.Encode(&buf, b))
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

// rsa512 makes an RSA key too short for DKIM.
func rsa512(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 512)
	require.NoError(t, err)
	return k
}

func pkcs8(t *testing.T, key any) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func TestLoadDKIMKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		block func(t *testing.T) []*pem.Block
		want  crypto.PublicKey
	}{
		{"PKCS#8 RSA", func(t *testing.T) []*pem.Block { return []*pem.Block{pkcs8(t, rsaKey())} }, rsaKey().Public()},
		{"PKCS#1 RSA", func(*testing.T) []*pem.Block {
			return []*pem.Block{{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())}}
		}, rsaKey().Public()},
		{"PKCS#8 Ed25519", func(t *testing.T) []*pem.Block { return []*pem.Block{pkcs8(t, ed25519Key())} }, ed25519Key().Public()},
		{"key after a certificate-like block", func(t *testing.T) []*pem.Block {
			return []*pem.Block{{Type: "CERTIFICATE", Bytes: []byte("not read")}, pkcs8(t, ed25519Key())}
		}, ed25519Key().Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := mailer.LoadDKIMKey(writePEM(t, tt.block(t)...))
			require.NoError(t, err, "LoadDKIMKey")
			pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
			require.True(t, ok, "a public key without Equal: %T", key.Public())
			require.True(t, pub.Equal(tt.want), "loaded a key whose public half is %v", key.Public())
			// The key works: New takes it and it signs.
			m, err := mailer.New(mailer.Config{URL: "smtp://relay.example.com", DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}})
			require.NoError(t, err, "New")
			_ = m.Close()
		})
	}
}

func TestLoadDKIMKeyErrors(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(ed25519Key().Public())
	require.NoError(t, err)
	raw := func(s string) func(*testing.T) string {
		return func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "dkim.pem")
			require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
			return path
		}
	}
	blocks := func(bs ...func(*testing.T) *pem.Block) func(*testing.T) string {
		return func(t *testing.T) string {
			var out []*pem.Block
			for _, b := range bs {
				out = append(out, b(t))
			}
			return writePEM(t, out...)
		}
	}
	block := func(typ string, der []byte) func(*testing.T) *pem.Block {
		return func(*testing.T) *pem.Block { return &pem.Block{Type: typ, Bytes: der} }
	}
	tests := []struct {
		name string
		path func(*testing.T) string
		want string
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing.pem") }, "no such file"},
		{"empty file", raw(""), "no PEM data"},
		{"not PEM", raw("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host\n"), "no PEM data"},
		{"public key only", blocks(block("PUBLIC KEY", pubDER)), "no private key, only PEM blocks of type PUBLIC KEY"},
		{"two keys", blocks(func(t *testing.T) *pem.Block { return pkcs8(t, ed25519Key()) }, func(t *testing.T) *pem.Block { return pkcs8(t, rsaKey()) }), "2 private keys"},
		{"ECDSA, SEC 1", blocks(block("EC PRIVATE KEY", ecDER)), "ECDSA keys cannot sign DKIM"},
		{"ECDSA, PKCS#8", blocks(func(t *testing.T) *pem.Block { return pkcs8(t, ecKey) }), "ECDSA keys cannot sign DKIM"},
		{"PKCS#8 encrypted", blocks(block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0})), "encrypted"},
		{"legacy encrypted PEM", blocks(func(*testing.T) *pem.Block {
			return &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}
		}), "encrypted"},
		{"OpenSSH key", blocks(block("OPENSSH PRIVATE KEY", []byte("openssh-key-v1"))), `"OPENSSH PRIVATE KEY" not supported`},
		{"corrupt PKCS#8", blocks(block("PRIVATE KEY", []byte("garbage"))), "PRIVATE KEY block does not hold a valid key"},
		{"corrupt PKCS#1", blocks(block("RSA PRIVATE KEY", []byte("garbage"))), "RSA PRIVATE KEY block does not hold a valid key"},
		{"PKCS#1 label on PKCS#8 data", blocks(func(t *testing.T) *pem.Block {
			b := pkcs8(t, rsaKey())
			b.Type = "RSA PRIVATE KEY"
			return b
		}), "use ParsePKCS8PrivateKey"},
		{"RSA-512", blocks(func(t *testing.T) *pem.Block { return pkcs8(t, rsa512(t)) }), "RSA key of 512 bits is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path(t)
			key, err := mailer.LoadDKIMKey(path)
			require.ErrorContains(t, err, tt.want, "LoadDKIMKey returned %v", key)
			require.ErrorContains(t, err, path, "the error does not name the file")
			require.NotContains(t, err.Error(), "AAAA", "the error shows the file's content")
			require.NotContains(t, err.Error(), "MII", "the error shows the file's content")
		})
	}
}

func TestDKIMHidesKey(t *testing.T) {
	t.Parallel()
	for _, key := range []crypto.Signer{ed25519Key(), rsaKey()} {
		d := &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("dkim", "dkim", d, "config", mailer.Config{DKIM: d})
		secret := fmt.Sprint(ed25519Key().Seed()) //nolint:staticcheck // QF1010: the printed bytes are what a careless log would show
		if rk, ok := key.(*rsa.PrivateKey); ok {
			secret = rk.D.String()
		}
		slog.New(slog.NewTextHandler(&logs, nil)).Info("dkim", "dkim", d, "config", mailer.Config{DKIM: d})
		asJSON, err := json.Marshal(mailer.Config{DKIM: d}) //nolint:staticcheck // SA1026: the point is what encoding/json makes of a Config
		require.NoError(t, err)
		for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", *d), fmt.Sprintf("%#v", d), fmt.Sprintf("%+v", mailer.Config{DKIM: d}), logs.String(), string(asJSON)} {
			require.NotContains(t, s, secret, "key shown")
			require.NotContains(t, s, secret[1:20], "key shown")
		}
		require.Contains(t, d.String(), "d=nurture.test s=s1 key=", "String")
	}
}
