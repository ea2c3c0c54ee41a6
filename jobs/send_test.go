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
	handler *jobs.SendHandler
	clock   *testkit.Clock
}

func setupSend(t *testing.T) *sendBundle {
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
	return &sendBundle{store: store, smtp: smtp, handler: h, clock: clock}
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
