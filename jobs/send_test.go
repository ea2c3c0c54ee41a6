package jobs_test

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/mailer"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/templates"
)

type sendBundle struct {
	store   *postgres.DB
	smtp    *smtptest.Server
	sender  *mailer.Mailer
	links   jobs.Linker
	handler *jobs.SendHandler
	clock   *testkit.Clock
}

func setupSend(t *testing.T) *sendBundle { return setupSendB(t) }

func setupSendB(t testing.TB) *sendBundle {
	t.Helper()
	store := postgres.New(testkit.DB(t))
	smtp := smtptest.Start(t)
	m, err := mailer.New(mailer.Config{URL: smtp.URL(), PoolSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	tmpl, err := templates.Default()
	require.NoError(t, err)
	clock := testkit.NewClock(time.Now())
	signer, err := nurture.NewSigner(strings.Repeat("k", 32))
	require.NoError(t, err)
	h := jobs.NewSendHandler(jobs.SendConfig{
		Store: store, Renderer: tmpl, Sender: m, Clock: clock,
		Links:   jobs.Linker{Signer: signer, BaseURL: "https://links.acme.example", Clock: clock},
		From:    mail.Address{Name: "Acme", Address: "hello@acme.example"},
		Product: templates.Product{Name: "Acme Cloud", URL: "https://app.acme.example"},
	})
	return &sendBundle{store: store, smtp: smtp, sender: m, links: jobs.Linker{Signer: signer, BaseURL: "https://links.acme.example", Clock: clock}, handler: h, clock: clock}
}

// handlerWith is a send handler on the bundle's store, relay and links,
// with a setting or two changed.
func (b *sendBundle) handlerWith(change func(*jobs.SendConfig)) *jobs.SendHandler {
	tmpl, _ := templates.Default()
	cfg := jobs.SendConfig{Store: b.store, Renderer: tmpl, Sender: b.sender, Links: b.links, Clock: b.clock,
		From: mail.Address{Address: "hello@acme.example"}, Product: templates.Product{Name: "Acme"}}
	change(&cfg)
	return jobs.NewSendHandler(cfg)
}

// welcome creates a contact and its queued welcome message.
func (b *sendBundle) welcome(t *testing.T, email string) int64 {
	t.Helper()
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: email, FirstName: "Ada", Company: "Acme"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID),
		ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	return m.ID
}

func (b *sendBundle) status(t *testing.T, id int64) *nurture.Message {
	t.Helper()
	m, err := b.store.Message(context.Background(), id)
	require.NoError(t, err)
	return m
}

func TestSendDeliversOnceAndRecordsIt(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	id := b.welcome(t, "ada@example.com")

	require.NoError(t, b.handler.Send(context.Background(), id))
	require.NoError(t, b.handler.Send(context.Background(), id), "a rerun of a sent message is a no-op")

	msgs := b.smtp.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "<"+jobs.MessageIDHeader(id, "hello@acme.example")+">", msgs[0].Header("Message-ID"))
	m := b.status(t, id)
	require.Equal(t, nurture.StatusSent, m.Status)
	require.Equal(t, 1, m.Attempts)
}

func TestSendOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		failure       *smtptest.Failure
		suppress      bool
		wantStatus    nurture.MessageStatus
		wantRetry     bool // the task should be retried
		wantSuppress  bool
		wantDelivered int
	}{
		{name: "temporary failure defers", failure: &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Times: 1},
			wantStatus: nurture.StatusDeferred, wantRetry: true},
		{name: "hard bounce suppresses", failure: &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}},
			wantStatus: nurture.StatusBounced, wantSuppress: true},
		{name: "dropped connection defers", failure: &smtptest.Failure{Stage: smtptest.StageData, Drop: true, Times: 1},
			wantStatus: nurture.StatusDeferred, wantRetry: true},
		// Issue 9: a 554 about our own message (a line too long) is not the
		// recipient's fault: deferred, and the address is not suppressed.
		{name: "relay refusing our message defers without suppressing", failure: &smtptest.Failure{Stage: smtptest.StageData, Code: 554, Enhanced: [3]int{5, 6, 0}, Message: "line too long", Times: 1},
			wantStatus: nurture.StatusDeferred, wantRetry: true},
		{name: "relay refusing our sender defers without suppressing", failure: &smtptest.Failure{Stage: smtptest.StageMail, Code: 550, Enhanced: [3]int{5, 7, 1}, Times: 1},
			wantStatus: nurture.StatusDeferred, wantRetry: true},
		{name: "suppressed address is skipped", suppress: true, wantStatus: nurture.StatusSkipped, wantSuppress: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSend(t)
			id := b.welcome(t, "ada@example.com")
			if tt.failure != nil {
				b.smtp.Fail(*tt.failure)
			}
			if tt.suppress {
				require.NoError(t, b.store.Suppress(context.Background(), "ada@example.com", nurture.SuppressUnsubscribe, ""))
			}
			err := b.handler.Send(context.Background(), id)
			switch {
			case tt.wantRetry:
				require.Error(t, err)
				require.False(t, errors.Is(err, asynq.SkipRetry), "must be retried: %v", err)
			case tt.wantStatus == nurture.StatusBounced:
				require.ErrorIs(t, err, asynq.SkipRetry)
			default:
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantStatus, b.status(t, id).Status)
			_, suppressed, err := b.store.Suppressed(context.Background(), "ada@example.com")
			require.NoError(t, err)
			require.Equal(t, tt.wantSuppress, suppressed)
			require.Len(t, b.smtp.Messages(), tt.wantDelivered)

			if tt.wantRetry { // the retry delivers it, once
				require.NoError(t, b.handler.Send(context.Background(), id))
				require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
				require.Len(t, b.smtp.Messages(), 1)
			}
		})
	}
}

// A relay that closes the connection after the final dot, without a reply,
// may have the message (RFC 1047): the attempt is deferred and retried, as
// any failure is, and the address is left alone.
func TestSendUnknownOutcomeIsDeferred(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	id := b.welcome(t, "ada@example.com")
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Times: 1})

	err := b.handler.Send(context.Background(), id)
	require.Equal(t, nurture.DeliveryUnknown, nurture.DeliveryKindOf(err))
	require.False(t, errors.Is(err, asynq.SkipRetry), "must be retried: %v", err)
	m := b.status(t, id)
	require.Equal(t, nurture.StatusDeferred, m.Status)
	require.Contains(t, m.LastError, "outcome unknown")
	_, suppressed, err := b.store.Suppressed(context.Background(), "ada@example.com")
	require.NoError(t, err)
	require.False(t, suppressed)
}

// Issue 9: a 20,000-character first name made header lines the relay
// refused with a 554, and the address was suppressed as a hard bounce. The
// headers fold now: the email goes out and the address stays.
func TestSendContactWithHugeName(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "long@example.com", FirstName: strings.Repeat("a", 20000)})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID), ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)

	require.NoError(t, b.handler.Send(ctx, m.ID))
	require.Equal(t, nurture.StatusSent, b.status(t, m.ID).Status)
	require.Len(t, b.smtp.Messages(), 1)
	_, suppressed, err := b.store.Suppressed(ctx, "long@example.com")
	require.NoError(t, err)
	require.False(t, suppressed)
}

func TestSendInterruptedBeforeSendingIsRequeued(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	id := b.welcome(t, "ada@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.handler.Send(ctx, id)
	require.ErrorIs(t, err, jobs.ErrInterrupted)
	require.False(t, jobs.IsFailure(err), "an interruption does not use up a retry")
	m := b.status(t, id)
	require.Equal(t, nurture.StatusQueued, m.Status)
	require.Zero(t, m.Attempts, "an interrupted attempt does not count")
	require.Empty(t, b.smtp.Messages())

	require.NoError(t, b.handler.Send(context.Background(), id))
	require.Len(t, b.smtp.Messages(), 1)
}

func TestSendSkipsErasedOrAddresslessContacts(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{ExternalID: "no-email"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	require.NoError(t, b.handler.Send(ctx, m.ID))
	require.Equal(t, nurture.StatusSkipped, b.status(t, m.ID).Status)
	require.Empty(t, b.smtp.Messages())
}

func TestSendUnknownTemplateFailsForGood(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "no-such-template", SendAt: b.clock.Now()})
	require.NoError(t, err)
	require.ErrorIs(t, b.handler.Send(ctx, m.ID), asynq.SkipRetry)
	require.Equal(t, nurture.StatusFailed, b.status(t, m.ID).Status)
}

func TestSendMissingMessageIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setupSend(t)
	require.ErrorIs(t, b.handler.Send(context.Background(), 424242), asynq.SkipRetry)
}

func TestSendLastMomentChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSend(t)
	id := b.welcome(t, "ada@example.com")
	m, err := b.store.Message(ctx, id)
	require.NoError(t, err)

	// The person unsubscribes from onboarding while the message waits.
	require.NoError(t, b.store.SetPreferences(ctx, m.ContactID, []nurture.Topic{nurture.TopicOnboarding}, nil))
	require.NoError(t, b.handler.Send(ctx, id))
	got := b.status(t, id)
	require.Equal(t, nurture.StatusSkipped, got.Status)
	require.Empty(t, b.smtp.Messages(), "an unsubscribe wins over a pending send")
}

func TestSendFrequencyCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSend(t)
	store, smtp := b.store, b.smtp
	h := b.handlerWith(func(c *jobs.SendConfig) { c.FrequencyCap = 2 })
	c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: "busy@example.com"})
	require.NoError(t, err)
	var ids []int64
	for i := range 3 {
		msg, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: "k" + string(rune('0'+i)), ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
		require.NoError(t, err)
		ids = append(ids, msg.ID)
	}
	// All three in one batch: the cap counts the batch's own sends.
	require.NoError(t, h.Send(ctx, ids...))
	require.Len(t, smtp.Messages(), 2)
	last, err := store.Message(ctx, ids[2])
	require.NoError(t, err)
	require.Equal(t, nurture.StatusSkipped, last.Status)
}

func TestSendBatchBookkeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSend(t)
	var ids []int64
	for i := range 20 {
		ids = append(ids, b.welcome(t, "person"+string(rune('a'+i))+"@example.com"))
	}
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Match: "personc@"})
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Match: "persond@", Times: 1})
	err := b.handler.Send(ctx, ids...)
	require.Error(t, err, "one message deferred: the batch is retried")
	require.True(t, jobs.IsFailure(err))
	require.Len(t, b.smtp.Messages(), 18)
	require.Equal(t, nurture.StatusBounced, b.status(t, ids[2]).Status)
	require.Equal(t, nurture.StatusDeferred, b.status(t, ids[3]).Status)

	// The retry of the whole batch sends only the deferred one.
	require.NoError(t, b.handler.Send(ctx, ids...))
	require.Len(t, b.smtp.Messages(), 19)
	for i, id := range ids {
		if i != 2 {
			require.Equal(t, nurture.StatusSent, b.status(t, id).Status, "message %d", i)
		}
	}
}

// slowRelay is a Throttle that is always out of tokens.
type slowRelay struct{ slowed int }

func (s *slowRelay) Take(context.Context) (bool, time.Duration, error) {
	return false, 10 * time.Second, nil
}
func (s *slowRelay) SlowDown(context.Context) error { s.slowed++; return nil }

func TestSendThrottledIsNotAFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSend(t)
	store, smtp := b.store, b.smtp
	h := b.handlerWith(func(c *jobs.SendConfig) { c.Throttle = &slowRelay{} })
	c, _, _ := store.UpsertContact(ctx, &nurture.Contact{Email: "wait@example.com"})
	msg, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	require.NoError(t, err)

	err = h.Send(ctx, msg.ID)
	var te *jobs.ThrottledError
	require.ErrorAs(t, err, &te)
	require.False(t, jobs.IsFailure(err), "a full relay does not use up retries")
	require.Equal(t, te.Delay, jobs.RetryDelay(3, err, nil))
	got, _ := store.Message(ctx, msg.ID)
	require.Equal(t, nurture.StatusQueued, got.Status)
	require.Zero(t, got.Attempts)
	require.Empty(t, smtp.Messages())
}

func TestRelaySaying421SlowsTheRelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSend(t)
	throttle := &countingThrottle{}
	h := b.handlerWith(func(c *jobs.SendConfig) { c.Throttle = throttle })
	id := b.welcome(t, "slow@example.com")
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 421, Times: 1})
	err := h.Send(ctx, id)
	require.False(t, jobs.IsFailure(err))
	require.Equal(t, 1, throttle.slowed)
	require.NoError(t, h.Send(ctx, id))
	require.Len(t, b.smtp.Messages(), 1)
}

type countingThrottle struct{ slowed int }

func (c *countingThrottle) Take(context.Context) (bool, time.Duration, error) { return true, 0, nil }
func (c *countingThrottle) SlowDown(context.Context) error                    { c.slowed++; return nil }
