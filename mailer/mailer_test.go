package mailer_test

import (
	"context"
	"crypto"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/mailer"
)

// bundle is what a mailer test works with: a relay and a mailer bound to it.
type bundle struct {
	relay  *smtptest.Server
	mailer *mailer.Mailer
}

// setup starts a test relay and a Mailer delivering to it (or to cfg.URL
// when set), closed when the test ends, before the relay stops.
func setup(t testing.TB, cfg mailer.Config, opts ...smtptest.Option) bundle {
	t.Helper()
	relay := smtptest.Start(t, opts...)
	if cfg.URL == "" {
		cfg.URL = relay.URL()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	m, err := mailer.New(cfg)
	require.NoError(t, err, "mailer.New")
	t.Cleanup(func() { _ = m.Close() })
	return bundle{relay: relay, mailer: m}
}

// newEmail returns a complete email whose Message-ID starts with id.
func newEmail(id string) *nurture.Email {
	return &nurture.Email{
		MessageID: id + "@nurture.test",
		From:      mail.Address{Name: "Nurture Team", Address: "team@nurture.test"},
		To:        mail.Address{Name: "Jörg Müller", Address: "joerg@example.com"},
		Subject:   "Willkommen, Jörg: let's get you started with the product today",
		Text: "Hello Jörg,\n\nwelcome aboard. This line is long enough to need a soft line break " +
			"in quoted-printable, which wraps at 76 characters.\n.\nA line with only a dot, above.\n",
		HTML: "<p>Hello Jörg,</p><p style=\"color: #333\">welcome aboard.</p>",
		Headers: []nurture.Header{
			{Name: "List-Unsubscribe", Value: "<https://links.example.com/u/abc123>"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
			{Name: "X-Nurture-Step", Value: "onboarding/2 – tips"},
			{Name: "Reply-To", Value: "Søren Support <support@nurture.test>"},
		},
	}
}

// deliveryError returns err as a *nurture.DeliveryError or fails the test.
func deliveryError(t *testing.T, err error) *nurture.DeliveryError {
	t.Helper()
	var de *nurture.DeliveryError
	require.ErrorAs(t, err, &de, "error (%T) is not a *nurture.DeliveryError", err)
	return de
}

func TestSendReportsRelayFailures(t *testing.T) {
	t.Parallel()
	const (
		temporary = nurture.DeliveryTemporary
		throttled = nurture.DeliveryThrottled
		permanent = nurture.DeliveryPermanent
		rejected  = nurture.DeliveryRejected
		unknown   = nurture.DeliveryUnknown
	)
	tests := []struct {
		name     string
		failure  smtptest.Failure
		kind     nurture.DeliveryKind
		reply    string // in the error text, for the history
		sessions int    // after the failure and one successful send
		big      bool   // a message larger than the sockets' buffers
	}{
		{"451 at RCPT", smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Enhanced: [3]int{4, 3, 0}, Message: "try later"}, temporary, "451 4.3.0 try later", 1, false},
		{"452 at MAIL", smtptest.Failure{Stage: smtptest.StageMail, Code: 452, Enhanced: [3]int{4, 3, 1}}, temporary, "452 4.3.1", 1, false},
		{"451 after DATA", smtptest.Failure{Stage: smtptest.StageData, Code: 451, Enhanced: [3]int{4, 7, 1}}, temporary, "451 4.7.1", 1, false},
		{"550 at RCPT", smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Message: "no such user"}, permanent, "550 5.1.1 no such user", 1, false},
		{"554 5.6.0 after DATA is about our message", smtptest.Failure{Stage: smtptest.StageData, Code: 554, Enhanced: [3]int{5, 6, 0}}, rejected, "554 5.6.0", 1, false},
		{"552 5.3.4 after DATA: too big", smtptest.Failure{Stage: smtptest.StageData, Code: 552, Enhanced: [3]int{5, 3, 4}}, rejected, "552 5.3.4", 1, false},
		{"554 line too long after DATA", smtptest.Failure{Stage: smtptest.StageData, Code: 554, Enhanced: [3]int{5, 0, 0}, Message: "line too long"}, rejected, "554 5.0.0 line too long", 1, false},
		{"550 5.1.1 after DATA: recipient checked late", smtptest.Failure{Stage: smtptest.StageData, Code: 550, Enhanced: [3]int{5, 1, 1}}, permanent, "550 5.1.1", 1, false},
		{"550 at MAIL is the sender's problem, not the recipient's", smtptest.Failure{Stage: smtptest.StageMail, Code: 550, Enhanced: [3]int{5, 7, 1}}, rejected, "550 5.7.1", 1, false},
		{"530 auth required is not the recipient's fault", smtptest.Failure{Stage: smtptest.StageMail, Code: 530, Enhanced: [3]int{5, 7, 0}}, rejected, "530 5.7.0", 1, false},
		{"503 bad sequence is not the recipient's fault", smtptest.Failure{Stage: smtptest.StageRcpt, Code: 503}, rejected, "503 5.0.0", 1, false},
		{"554 5.7.1 relay access denied at RCPT", smtptest.Failure{Stage: smtptest.StageRcpt, Code: 554, Enhanced: [3]int{5, 7, 1}, Message: "Relay access denied"}, rejected, "554 5.7.1 Relay access denied", 1, false},
		{"421 closes the connection", smtptest.Failure{Stage: smtptest.StageMail, Code: 421, Enhanced: [3]int{4, 4, 2}}, throttled, "421 4.4.2", 2, false},
		{"454 at RCPT", smtptest.Failure{Stage: smtptest.StageRcpt, Code: 454, Enhanced: [3]int{4, 7, 0}, Message: "Throttling failure"}, throttled, "454 4.7.0 Throttling failure", 1, false},
		// The relay drops the connection while the message is still being
		// written: it cannot have it.
		{"dropped mid-DATA", smtptest.Failure{Stage: smtptest.StageData, Drop: true}, temporary, "message: ", 2, true},
		// The relay drops it after reading a little, but the whole small
		// message, final "." included, had already left: for all the
		// client knows, the relay has it.
		{"dropped after a small message went out", smtptest.Failure{Stage: smtptest.StageData, Drop: true}, unknown, "end of DATA: ", 2, false},
		{"dropped at RCPT", smtptest.Failure{Stage: smtptest.StageRcpt, Drop: true}, temporary, "RCPT TO: ", 2, false},
		{"closed after the final dot", smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true}, unknown, "end of DATA: ", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, mailer.Config{PoolSize: 1})
			tt.failure.Times = 1
			b.relay.Fail(tt.failure)

			first := newEmail("first")
			if tt.big {
				// More than the send and receive buffers of a loopback
				// connection can hold between them.
				first.Text = strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 1<<18)
			}
			err := b.mailer.Send(t.Context(), first)
			de := deliveryError(t, err)
			require.Equal(t, tt.kind, de.Kind, "Send = %v", err)
			require.Equal(t, tt.kind, nurture.DeliveryKindOf(err), "Send = %v", err)
			require.Error(t, de.Err, "the delivery error wraps nothing")
			require.ErrorContains(t, de, tt.reply, "the error text does not keep the reply")

			// The next message goes through: on the same connection after a
			// refusal, on a fresh one after a drop or a 421.
			require.NoError(t, b.mailer.Send(t.Context(), newEmail("second")), "Send after the failure")
			msgs := b.relay.WaitForMessages(t, 1, 5*time.Second)
			if tt.failure.CloseAfterDot {
				require.Len(t, msgs, 2, "want both: the first was taken, only its reply lost")
			}
			require.Equal(t, "<second@nurture.test>", msgs[len(msgs)-1].Header("Message-ID"), "the relay's last message")
			require.Equal(t, tt.sessions, b.relay.Sessions(), "Sessions")
		})
	}
}

func TestSendPermanentFailureForOneRecipient(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	b.relay.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Match: "bad@"})

	bad := newEmail("to-bad")
	bad.To.Address = "bad@example.com"
	for range 2 {
		de := deliveryError(t, b.mailer.Send(t.Context(), bad))
		require.Equal(t, nurture.DeliveryPermanent, de.Kind, "Send to bad@: %v", de)
	}
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("to-good")), "Send to good")
	require.Equal(t, 1, b.relay.Sessions(), "Sessions: a refusal must not cost the connection")
}

func TestSendGivesTheConfiguredHELO(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{HELO: "mta-1.nurture.test"})
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("helo")))
	require.Equal(t, "mta-1.nurture.test", b.relay.WaitForMessages(t, 1, 5*time.Second)[0].Helo, "EHLO")
}

func TestSendReusesConnections(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	for i := range 5 {
		require.NoError(t, b.mailer.Send(t.Context(), newEmail(fmt.Sprint("seq-", i))))
	}
	b.relay.WaitForMessages(t, 5, 5*time.Second)
	require.Equal(t, 1, b.relay.Sessions(), "Sessions for 5 sequential sends")
}

func TestSendConcurrentlyThroughSmallPool(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{PoolSize: 3})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := b.mailer.Send(t.Context(), newEmail(fmt.Sprint("concurrent-", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	msgs := b.relay.WaitForMessages(t, n, 10*time.Second)
	ids := make(map[string]bool)
	for _, m := range msgs {
		ids[m.Header("Message-ID")] = true
	}
	require.Len(t, ids, n, "distinct messages arrived")
	require.LessOrEqual(t, b.relay.Sessions(), 3, "Sessions, want at most PoolSize 3")
}

func TestSendCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := b.mailer.Send(ctx, newEmail("cancelled"))
	de := deliveryError(t, err)
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", err)
	require.ErrorIs(t, err, context.Canceled, "Send")
	require.Zero(t, b.relay.Sessions(), "Sessions, want no connection for a cancelled send")
	require.Empty(t, b.relay.Messages(), "messages delivered")
}

func TestSendContextInterruptsHungRelay(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	p := startProxy(t, relay.Addr())
	b := setup(t, mailer.Config{URL: p.url(), Timeout: time.Minute})

	require.NoError(t, b.mailer.Send(t.Context(), newEmail("warm-up")))
	p.silence() // the relay hangs: no reply will ever come

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.mailer.Send(ctx, newEmail("hung"))
	require.LessOrEqual(t, time.Since(start), 5*time.Second, "Send returned late; the context should have ended it at 200ms")
	de := deliveryError(t, err)
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", err)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Send")
	require.Len(t, relay.Messages(), 1, "messages at the relay, want only the warm-up")
}

func TestSendTimeoutEndsHungRelay(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	p := startProxy(t, relay.Addr())
	b := setup(t, mailer.Config{URL: p.url(), Timeout: 300 * time.Millisecond})
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("warm-up")))
	p.silence()
	start := time.Now()
	de := deliveryError(t, b.mailer.Send(t.Context(), newEmail("hung")))
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", de)
	require.LessOrEqual(t, time.Since(start), 5*time.Second, "Send returned late with a 300ms step timeout")
	require.Equal(t, 1, p.connections(), "connections: a hung relay must not be redialled within the same Send")
}

func TestSendRedialsWhenIdleConnectionDied(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	p := startProxy(t, relay.Addr())
	b := setup(t, mailer.Config{URL: p.url()})

	require.NoError(t, b.mailer.Send(t.Context(), newEmail("before")))
	p.closeAll() // the relay restarted while the connection was idle

	require.NoError(t, b.mailer.Send(t.Context(), newEmail("after")), "Send on a dead idle connection, want a transparent redial")
	relay.WaitForMessages(t, 2, 5*time.Second)
	require.Equal(t, 2, p.connections(), "connections")
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{IdleTimeout: 50 * time.Millisecond})
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("one")))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("two")))
	require.Equal(t, 2, b.relay.Sessions(), "Sessions: the idle connection should have been closed")
}

func TestDialFailureIsTemporary(t *testing.T) {
	t.Parallel()
	addr, err := testkit.FreeAddr() // nothing listens there
	require.NoError(t, err)

	m, err := mailer.New(mailer.Config{URL: "smtp://" + addr, Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer m.Close()
	de := deliveryError(t, m.Send(t.Context(), newEmail("nowhere")))
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", de)
	require.ErrorContains(t, de, "connect to relay", "want a connect failure")
}

func TestMandatoryStartTLSRefusesPlainRelay(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	b := setup(t, mailer.Config{URL: "smtp://" + relay.Addr() + "?tls=starttls"})
	de := deliveryError(t, b.mailer.Send(t.Context(), newEmail("plain")))
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", de)
	require.ErrorContains(t, de, "STARTTLS", "want a STARTTLS failure")
	require.Empty(t, relay.Messages(), "messages sent in plain text")
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []smtptest.Option
		url  func(addr string) string
	}{
		{"plain text to loopback", nil, func(addr string) string { return "smtp://relay-user:s3cret@" + addr + "?tls=none" }},
		{"STARTTLS", []smtptest.Option{smtptest.WithStartTLS()}, func(addr string) string { return "smtp://relay-user:s3cret@" + addr + "?tls=starttls" }},
		{"opportunistic STARTTLS", []smtptest.Option{smtptest.WithStartTLS()}, func(addr string) string { return "smtp://relay-user:s3cret@" + addr }},
		{"implicit TLS", []smtptest.Option{smtptest.WithImplicitTLS()}, func(addr string) string { return "smtps://relay-user:s3cret@" + addr }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			relay := smtptest.Start(t, tt.opts...)
			b := setup(t, mailer.Config{URL: tt.url(relay.Addr()), TLSConfig: relay.ClientTLSConfig()})
			for i := range 2 {
				require.NoError(t, b.mailer.Send(t.Context(), newEmail(fmt.Sprint("auth-", i))), "Send")
			}
			for _, m := range relay.WaitForMessages(t, 2, 5*time.Second) {
				require.Equal(t, "relay-user", m.User, "message sent as")
			}
		})
	}
}

func TestImplicitTLSChecksCertificate(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t, smtptest.WithImplicitTLS())
	b := setup(t, mailer.Config{URL: relay.URL()}) // system roots: the test CA is unknown
	de := deliveryError(t, b.mailer.Send(t.Context(), newEmail("untrusted")))
	require.Equal(t, nurture.DeliveryTemporary, de.Kind, "Send = %v", de)
	require.ErrorContains(t, de, "certificate", "want a certificate failure")
}

func TestClose(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("before-close")))
	require.NoError(t, b.mailer.Close(), "Close")
	require.NoError(t, b.mailer.Close(), "second Close")
	err := b.mailer.Send(t.Context(), newEmail("after-close"))
	require.Equal(t, nurture.DeliveryTemporary, deliveryError(t, err).Kind, "Send after Close = %v", err)
	require.ErrorIs(t, err, mailer.ErrClosed, "Send after Close")
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   mailer.Config
		field string
	}{
		{"bad url", mailer.Config{URL: "http://relay.example.com"}, mailer.FieldURL},
		{"negative pool", mailer.Config{URL: "smtp://relay.example.com", PoolSize: -1}, mailer.FieldPoolSize},
		{"negative timeout", mailer.Config{URL: "smtp://relay.example.com", Timeout: -time.Second}, mailer.FieldTimeout},
		{"negative data reply timeout", mailer.Config{URL: "smtp://relay.example.com", DataReplyTimeout: -time.Second}, mailer.FieldDataReplyTimeout},
		{"negative idle timeout", mailer.Config{URL: "smtp://relay.example.com", IdleTimeout: -time.Second}, mailer.FieldIdleTimeout},
		{"bad helo", mailer.Config{URL: "smtp://relay.example.com", HELO: "a b\r\nRSET"}, mailer.FieldHELO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := mailer.New(tt.cfg)
			var ne *nurture.Error
			require.ErrorAs(t, err, &ne, "New")
			require.Equal(t, nurture.CodeInvalid, ne.Code, "New = %v", err)
			require.Equal(t, tt.field, ne.Field, "New = %v", err)
		})
	}
	m, err := mailer.New(mailer.Config{URL: "smtp://relay.example.com", HELO: "mail.nurture.test"})
	require.NoError(t, err, "New with a valid config")
	_ = m.Close()
}

// BenchmarkSend sends through a relay on loopback from parallel workers,
// unsigned and signed with each kind of DKIM key.
func BenchmarkSend(b *testing.B) {
	for _, bm := range []struct {
		name string
		key  func() crypto.Signer
	}{
		{"unsigned", nil},
		{"ed25519", func() crypto.Signer { return ed25519Key() }},
		{"rsa-2048", func() crypto.Signer { return rsaKey() }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			relay := smtptest.Start(b)
			cfg := mailer.Config{URL: relay.URL()}
			if bm.key != nil {
				cfg.DKIM = &mailer.DKIM{Domain: "nurture.test", Selector: "bench", Key: bm.key()}
			}
			m, err := mailer.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = m.Close() })
			e := newEmail("bench")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := m.Send(context.Background(), e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// sendAsync runs Send in a goroutine and returns its result on a channel.
func sendAsync(ctx context.Context, m *mailer.Mailer, e *nurture.Email) <-chan error {
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, e) }()
	return done
}

// Issue 11: once the final dot has gone out, a cancelled context (a worker
// stopping) must not abandon the transaction: the relay has the message,
// and its reply says what became of it.
func TestSendWaitsForTheReplyAfterTheFinalDot(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	hold := b.relay.Hold(smtptest.StageData) // the relay has the whole message and is slow to answer
	ctx, cancel := context.WithCancel(t.Context())
	done := sendAsync(ctx, b.mailer, newEmail("slow-reply"))
	<-hold.Reached()
	cancel()
	hold.Release()
	require.NoError(t, <-done, "Send: the relay accepted the message after the cancel")
	require.Len(t, b.relay.WaitForMessages(t, 1, 5*time.Second), 1, "messages at the relay")
	// The connection came through the cancel intact and is reused.
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("next")))
	require.Equal(t, 1, b.relay.Sessions(), "Sessions")
}

func TestSendCancelledAfterTheFinalDotReportsTheRefusal(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	b.relay.Fail(smtptest.Failure{Stage: smtptest.StageData, Code: 550, Enhanced: [3]int{5, 1, 1}, Times: 1})
	hold := b.relay.Hold(smtptest.StageData)
	ctx, cancel := context.WithCancel(t.Context())
	done := sendAsync(ctx, b.mailer, newEmail("refused-late"))
	<-hold.Reached()
	cancel()
	hold.Release()
	de := deliveryError(t, <-done)
	require.Equal(t, nurture.DeliveryPermanent, de.Kind, "Send = %v, want the relay's permanent refusal", de)
}

func TestSendCancelledThenClosedAfterTheFinalDotIsUnknown(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	b.relay.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Times: 1})
	hold := b.relay.Hold(smtptest.StageData)
	ctx, cancel := context.WithCancel(t.Context())
	done := sendAsync(ctx, b.mailer, newEmail("lost-reply"))
	<-hold.Reached()
	cancel()
	hold.Release()
	err := <-done
	require.Equal(t, nurture.DeliveryUnknown, deliveryError(t, err).Kind, "Send = %v, want unknown, the connection lost after the dot", err)
	require.NotErrorIs(t, err, context.Canceled, "Send: the connection lost after the dot is not an interruption")
}

func TestSendGivesUpOnTheReplyAfterDataReplyTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{Timeout: time.Minute, DataReplyTimeout: 200 * time.Millisecond})
	b.relay.Fail(smtptest.Failure{Stage: smtptest.StageData, Hang: true, Times: 1})
	err := b.mailer.Send(t.Context(), newEmail("never-answered"))
	require.Equal(t, nurture.DeliveryUnknown, deliveryError(t, err).Kind, "Send = %v, want unknown after the data reply timeout", err)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "Send")
	require.NoError(t, b.mailer.Send(t.Context(), newEmail("next")), "Send on a fresh connection")
}

// Before the final dot, a cancelled context still aborts: nothing is
// delivered, and a later attempt sends the message once.
func TestSendCancelledBeforeDataAborts(t *testing.T) {
	t.Parallel()
	for _, stage := range []smtptest.Stage{smtptest.StageMail, smtptest.StageRcpt} {
		t.Run(stage.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, mailer.Config{})
			hold := b.relay.Hold(stage)
			ctx, cancel := context.WithCancel(t.Context())
			done := sendAsync(ctx, b.mailer, newEmail("cancelled"))
			<-hold.Reached()
			cancel()
			err := <-done
			hold.Release()
			require.Equal(t, nurture.DeliveryTemporary, deliveryError(t, err).Kind, "Send = %v", err)
			require.ErrorIs(t, err, context.Canceled, "Send")
			require.NoError(t, b.mailer.Send(t.Context(), newEmail("after")))
			msgs := b.relay.WaitForMessages(t, 1, 5*time.Second)
			require.Len(t, msgs, 1, "want only the one sent after")
			require.Equal(t, "<after@nurture.test>", msgs[0].Header("Message-ID"), "the message at the relay")
		})
	}
}
