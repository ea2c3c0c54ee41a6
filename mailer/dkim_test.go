package mailer_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/mailer"
)

// Test keys are made once per run: an RSA-2048 key takes a while.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ed25519Key = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// keyTypes are the DKIM algorithms tested, by the a= tag they sign with.
var keyTypes = []struct {
	algo string
	key  func() crypto.Signer
}{
	{"rsa-sha256", func() crypto.Signer { return rsaKey() }},
	{"ed25519-sha256", func() crypto.Signer { return ed25519Key() }},
}

// dnsRecord is the TXT record that publishes key's public half, written
// out here rather than by the code under test.
func dnsRecord(t testing.TB, key crypto.Signer) string {
	t.Helper()
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	require.Failf(t, "unknown key type", "no DNS record for %T", key)
	return ""
}

// verify checks data's DKIM signatures with go-msgauth against a DNS that
// holds only selector._domainkey.domain, and returns the one there is.
func verify(t testing.TB, data []byte, domain, selector string, key crypto.Signer) *dkim.Verification {
	t.Helper()
	record := dnsRecord(t, key)
	lookups := 0
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			lookups++
			if name != selector+"._domainkey."+domain {
				return nil, fmt.Errorf("no TXT record for %s", name)
			}
			return []string{record}, nil
		},
	})
	require.NoError(t, err, "dkim.Verify")
	require.Len(t, verifs, 1, "DKIM signatures:\n%s", data)
	require.Equal(t, 1, lookups, "key lookups")
	return verifs[0]
}

func TestDKIMSignatureVerifies(t *testing.T) {
	t.Parallel()
	longUnsub := newEmail("long-unsubscribe")
	longUnsub.Subject = "Ihre Bestätigung, Zoë – 注文の確認 – please confirm your subscription to our weekly newsletter"
	longUnsub.From.Name = "Ærøskøbing Bäckerei – Frühstücksservice"
	longUnsub.To.Name = "Zoë Ñúñez-Øvergård"
	longUnsub.Headers[0].Value = "<https://links.example.com/unsubscribe/one-click/" + strings.Repeat("a1b2c3d4e5", 11) + ">, " +
		"<mailto:unsubscribe+" + strings.Repeat("f6g7h8i9j0", 8) + "@bounces.nurture.test?subject=unsubscribe>"
	require.GreaterOrEqual(t, len(longUnsub.Headers[0].Value), 280, "List-Unsubscribe characters, want about 300")
	require.LessOrEqual(t, len(longUnsub.Headers[0].Value), 320, "List-Unsubscribe characters, want about 300")
	noUnsub := newEmail("no-unsubscribe")
	noUnsub.Headers = slices.DeleteFunc(noUnsub.Headers, func(h nurture.Header) bool {
		return strings.HasPrefix(h.Name, "List-Unsubscribe")
	})
	textOnly, htmlOnly := newEmail("text-only"), newEmail("html-only")
	textOnly.HTML, htmlOnly.Text = "", ""
	dotted := newEmail("dotted")
	dotted.Text = ".\n..\n.leading dot\ntrailing spaces   \n\n\n"
	dotted.Headers = nil

	emails := []*nurture.Email{newEmail("default"), longUnsub, noUnsub, textOnly, htmlOnly, dotted}
	for _, kt := range keyTypes {
		t.Run(kt.algo, func(t *testing.T) {
			t.Parallel()
			key := kt.key()
			b := setup(t, mailer.Config{DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "nurture2026", Key: key}})
			for _, e := range emails {
				require.NoError(t, b.mailer.Send(t.Context(), e), "Send %s", e.MessageID)
			}
			msgs := b.relay.WaitForMessages(t, len(emails), 5*time.Second)
			for i, m := range msgs {
				e := emails[i]
				t.Run(e.MessageID, func(t *testing.T) {
					v := verify(t, m.Data, "nurture.test", "nurture2026", key)
					require.NoError(t, v.Err, "signature does not verify:\n%s", m.Data)
					require.Equal(t, "nurture.test", v.Domain, "d=")
					sig := m.Header("DKIM-Signature")
					require.Contains(t, sig, "a="+kt.algo+";", "DKIM-Signature")
					require.Contains(t, sig, "c=relaxed/relaxed;", "DKIM-Signature")
					require.Equal(t, 1, bytes.Count(bytes.ToLower(append([]byte("\n"), m.Data...)), []byte("\ndkim-signature:")), "DKIM-Signature fields")

					signed := map[string]int{}
					for _, k := range v.HeaderKeys {
						signed[strings.ToLower(k)]++
					}
					extra := map[string]string{}
					for _, h := range e.Headers {
						extra[strings.ToLower(h.Name)] = h.Value
					}
					want := []string{"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
					for _, h := range []string{"list-unsubscribe", "list-unsubscribe-post", "reply-to"} {
						if _, ok := extra[h]; ok {
							want = append(want, h)
						}
					}
					for _, h := range want {
						require.NotZero(t, signed[h], "h= %v lacks %s", v.HeaderKeys, h)
					}
					require.Equal(t, 2, signed["from"], "h= %v: From, oversigned", v.HeaderKeys)
					if _, ok := extra["list-unsubscribe"]; !ok {
						require.Zero(t, signed["list-unsubscribe"]+signed["list-unsubscribe-post"],
							"h= %v lists List-Unsubscribe, which the message does not have", v.HeaderKeys)
					}

					// The signature is an addition: the message still reads as sent.
					require.Equal(t, e.Subject, m.Header("Subject"), "Subject")
					require.True(t, sameAddress(m.Header("To"), e.To.String()), "To = %q, want %q", m.Header("To"), e.To.String())
					require.Equal(t, extra["list-unsubscribe"], m.Header("List-Unsubscribe"), "List-Unsubscribe")
					if e.Text != "" {
						// A single-part body comes without its last line break.
						got := strings.ReplaceAll(m.Part("text/plain"), "\r\n", "\n")
						require.True(t, got == e.Text || got+"\n" == e.Text, "text part = %q, want %q", got, e.Text)
					}
				})
			}
		})
	}
}

// sameAddress compares two renderings of an address by what they mean.
func sameAddress(a, b string) bool {
	pa, errA := mail.ParseAddress(a)
	pb, errB := mail.ParseAddress(b)
	return errA == nil && errB == nil && *pa == *pb
}

// TestDKIMSignatureDetectsChanges makes sure the verification above can
// fail: a changed body, a changed or an added From, and an added
// List-Unsubscribe break the signature.
func TestDKIMSignatureDetectsChanges(t *testing.T) {
	t.Parallel()
	key := ed25519Key()
	b := setup(t, mailer.Config{DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}})
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("tamper")))
	data := string(b.relay.WaitForMessages(t, 1, 5*time.Second)[0].Data)
	require.NoError(t, verify(t, []byte(data), "nurture.test", "s1", key).Err, "untouched message does not verify")
	tests := []struct {
		name   string
		change func(string) string
	}{
		{"body", func(s string) string { return strings.Replace(s, "welcome aboard", "welcome abroad", 1) }},
		{"From", func(s string) string {
			return strings.Replace(s, "From: \"Nurture Team\"", "From: \"Nurture Teams\"", 1)
		}},
		{"added From", func(s string) string { return "From: ceo@evil.example\r\n" + s }},
		{"added List-Unsubscribe", func(s string) string { return "List-Unsubscribe: <https://evil.example/u>\r\n" + s }},
		{"another domain's key", func(s string) string { return strings.Replace(s, "d=nurture.test", "d=nurture.test.evil.example", 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			changed := tt.change(data)
			require.NotEqual(t, data, changed, "the change did not apply")
			verifs, err := dkim.VerifyWithOptions(strings.NewReader(changed), &dkim.VerifyOptions{
				LookupTXT: func(string) ([]string, error) { return []string{dnsRecord(t, key)}, nil },
			})
			require.NoError(t, err)
			require.Len(t, verifs, 1)
			require.Error(t, verifs[0].Err, "changed message still verifies")
		})
	}
}

func TestDKIMSignsInParallel(t *testing.T) {
	t.Parallel()
	key := rsaKey()
	b := setup(t, mailer.Config{PoolSize: 2, DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := b.mailer.Send(t.Context(), newEmail(fmt.Sprint("parallel-", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, m := range b.relay.WaitForMessages(t, n, 10*time.Second) {
		require.NoError(t, verify(t, m.Data, "nurture.test", "s1", key).Err, m.Header("Message-ID"))
	}
}

// TestDKIMSignsOutsideThePool sends two messages through a single
// connection with a key that only signs once two signatures are under way
// at the same time: were signing done while holding the connection (or a
// slot for one), the second could never start and both would time out.
func TestDKIMSignsOutsideThePool(t *testing.T) {
	t.Parallel()
	key := &rendezvousSigner{Signer: ed25519Key(), arrived: make(chan struct{}, 2), both: make(chan struct{})}
	b := setup(t, mailer.Config{PoolSize: 1, DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}})
	key.armed.Store(true) // New signed a probe message; from now on, wait
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if err := b.mailer.Send(t.Context(), newEmail(fmt.Sprint("together-", i))); err != nil {
				t.Error(err)
			}
		})
	}
	go func() {
		for range 2 {
			<-key.arrived
		}
		close(key.both)
	}()
	wg.Wait()
	for _, m := range b.relay.WaitForMessages(t, 2, 5*time.Second) {
		require.NoError(t, verify(t, m.Data, "nurture.test", "s1", key).Err, m.Header("Message-ID"))
	}
}

// rendezvousSigner, once armed, holds each signature until two are under
// way, or gives up after a few seconds.
type rendezvousSigner struct {
	crypto.Signer
	armed   atomic.Bool
	arrived chan struct{}
	both    chan struct{}
}

func (s *rendezvousSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.armed.Load() {
		s.arrived <- struct{}{}
		select {
		case <-s.both:
		case <-time.After(5 * time.Second):
			return nil, errors.New("signing is serialised: the other signature never started")
		}
	}
	return s.Signer.Sign(r, digest, opts)
}

func TestSendReportsSigningFailure(t *testing.T) {
	t.Parallel()
	key := &failingSigner{Signer: ed25519Key()}
	b := setup(t, mailer.Config{DKIM: &mailer.DKIM{Domain: "nurture.test", Selector: "s1", Key: key}})
	key.fail.Store(true)
	err := b.mailer.Send(t.Context(), newEmail("unsigned"))
	require.Equal(t, nurture.DeliveryTemporary, deliveryError(t, err).Kind, "Send = %v", err)
	require.ErrorIs(t, err, errHSM, "Send: want the signer's error wrapped")
	require.Zero(t, b.relay.Sessions(), "connections for a message that could not be signed")
}

var errHSM = errors.New("hsm unavailable")

// failingSigner is a key whose signing fails on cue, as a remote one can.
type failingSigner struct {
	crypto.Signer
	fail atomic.Bool
}

func (s *failingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.fail.Load() {
		return nil, errHSM
	}
	return s.Signer.Sign(r, digest, opts)
}
