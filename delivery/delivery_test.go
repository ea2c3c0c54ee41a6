package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/templates"
)

func TestDeliverSendsOnceAndRecordsIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.welcome(t, "ada@example.com")

	require.NoError(t, b.deliver(context.Background(), id))
	require.NoError(t, b.deliver(context.Background(), id), "a rerun of a sent message is a no-op")

	msgs := b.smtp.Messages()
	require.Len(t, msgs, 1)
	ids, err := b.store.MessageIDs(context.Background())
	require.NoError(t, err)
	header := msgs[0].Header("Message-ID")
	require.Equal(t, "<"+delivery.MessageIDHeader(ids, id, "hello@acme.example")+">", header)
	require.Regexp(t, `^<nurture\.[0-9]+\.[0-9a-f]{16}@acme\.example>$`, header, "tagged with the installation's key")
	ours, ok := ids.Ours(header)
	require.True(t, ok, "a bounce of it is recognised")
	require.Equal(t, id, ours)
	m := b.status(t, id)
	require.Equal(t, nurture.StatusSent, m.Status)
	require.Equal(t, 1, m.Attempts)
	require.False(t, m.SentAt.IsZero())

	hist, err := b.store.MessageHistory(context.Background(), id)
	require.NoError(t, err)
	var statuses []nurture.MessageStatus
	for _, h := range hist {
		statuses = append(statuses, h.Status)
	}
	require.Equal(t, []nurture.MessageStatus{"queued", "sent"}, statuses, "a claim adds no line; the outcome does")
}

func TestDeliverOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		failure       *smtptest.Failure
		suppress      bool
		wantStatus    nurture.MessageStatus
		wantRetry     bool // the call should be made again
		wantFinal     bool // the call reports that no retry can help
		wantSuppress  bool
		wantDelivered int
	}{
		{name: "temporary failure defers", failure: &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Times: 1},
			wantStatus: nurture.StatusDeferred, wantRetry: true},
		{name: "hard bounce suppresses", failure: &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}},
			wantStatus: nurture.StatusBounced, wantFinal: true, wantSuppress: true},
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
			b := setup(t)
			ctx := context.Background()
			id := b.welcome(t, "ada@example.com")
			if tt.failure != nil {
				b.smtp.Fail(*tt.failure)
			}
			if tt.suppress {
				require.NoError(t, b.store.Suppress(ctx, "ada@example.com", nurture.SuppressUnsubscribe, ""))
			}
			err := b.deliver(ctx, id)
			var final *delivery.FinalError
			switch {
			case tt.wantRetry:
				require.Error(t, err)
				require.NotErrorAs(t, err, &final, "must be retried")
			case tt.wantFinal:
				require.ErrorAs(t, err, &final)
			default:
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantStatus, b.status(t, id).Status)
			_, suppressed, err := b.store.Suppressed(ctx, "ada@example.com")
			require.NoError(t, err)
			require.Equal(t, tt.wantSuppress, suppressed)
			require.Len(t, b.smtp.Messages(), tt.wantDelivered)

			if tt.wantRetry { // the retry delivers it, once
				require.NoError(t, b.deliver(ctx, id))
				require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
				require.Len(t, b.smtp.Messages(), 1)
			}
		})
	}
}

func TestDeliverInterruptedBeforeSendingHandsTheMessageBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.welcome(t, "ada@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.deliver(ctx, id)
	require.ErrorIs(t, err, delivery.ErrInterrupted)
	m := b.status(t, id)
	require.Equal(t, nurture.StatusQueued, m.Status)
	require.Zero(t, m.Attempts, "an interrupted attempt does not count")
	require.Empty(t, b.smtp.Messages())

	require.NoError(t, b.deliver(context.Background(), id))
	require.Len(t, b.smtp.Messages(), 1)
}

// The store offers no erasure yet (the design's DELETE /v1/contacts/{id}),
// so the cases below erase a contact as the schema foresees it: the row
// marked erased_at, its address and profile blanked, the address suppressed
// for "erasure". A contact only marked erased is skipped too. In each case
// another contact in the same batch gets its mail.
func TestDeliverSkipsErasedOrAddresslessContacts(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		contact  *nurture.Contact
		erase    string // SQL run on the contact ($1) after its message is queued
		suppress bool   // the address suppressed for erasure as well
	}{
		"without an address": {contact: &nurture.Contact{ExternalID: "no-email"}},
		"marked erased":      {contact: &nurture.Contact{Email: "ada@example.com"}, erase: `UPDATE contacts SET erased_at = now() WHERE id = $1`},
		"erased as erasure is": {
			contact: &nurture.Contact{Email: "ada@example.com", FirstName: "Ada"},
			erase: `UPDATE contacts SET erased_at = now(), email = NULL, external_id = NULL, first_name = '',
				attributes = '{}' WHERE id = $1`,
			suppress: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			kept := b.welcome(t, "kept@example.com")
			c, _, err := b.store.UpsertContact(ctx, tc.contact)
			require.NoError(t, err)
			m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
			require.NoError(t, err)
			if tc.erase != "" {
				_, err := b.pool.Exec(ctx, tc.erase, c.ID)
				require.NoError(t, err)
			}
			if tc.suppress {
				require.NoError(t, b.store.Suppress(ctx, tc.contact.Email, nurture.SuppressErasure, ""))
			}

			require.NoError(t, b.deliver(ctx, kept, m.ID))
			require.Equal(t, map[string]int{"kept@example.com": 1}, b.deliveredTo(), "only the other contact gets mail")
			require.Equal(t, nurture.StatusSkipped, b.status(t, m.ID).Status)
			require.Equal(t, nurture.StatusSent, b.status(t, kept).Status)
		})
	}
}

// An erasure deletes the contact and, with it, its messages: a batch that
// holds one of them in flight sends it no more.
func TestDeliverSendsNothingToAContactErasedInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ids := b.welcomes(t, 3)
	gated := newGatedSender(b.sender)
	spy := &claimSpy{DB: b.store, lost: make(chan int64, 10)}
	d := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Sender, c.Parallelism, c.CheckEvery = spy, gated, 1, 10*time.Millisecond
	})
	gated.gate()
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, delivery.Request{IDs: ids}) }()
	<-gated.reached // the first email waits at the relay's door

	// Erase the third contact while the batch holds its message.
	third := b.status(t, ids[2])
	_, err := b.pool.Exec(ctx, `DELETE FROM contacts WHERE id = $1`, third.ContactID)
	require.NoError(t, err)
	require.Equal(t, ids[2], <-spy.lost, "the watcher sees the row go")
	gated.release()
	require.NoError(t, <-done)

	got := b.deliveredTo()
	require.Equal(t, map[string]int{"p0@example.com": 1, "p1@example.com": 1}, got)
	_, err = b.store.Message(ctx, ids[2])
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

func TestDeliverUnknownTemplateFailsForGood(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "no-such-template", SendAt: b.clock.Now()})
	require.NoError(t, err)
	var final *delivery.FinalError
	require.ErrorAs(t, b.deliver(ctx, m.ID), &final)
	require.Equal(t, nurture.StatusFailed, b.status(t, m.ID).Status)
}

func TestDeliverMissingMessageIsFinal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	err := b.deliver(context.Background(), 424242)
	var final *delivery.FinalError
	require.ErrorAs(t, err, &final)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

func TestDeliverLastMomentChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	id := b.welcome(t, "ada@example.com")
	m, err := b.store.Message(ctx, id)
	require.NoError(t, err)

	// The person unsubscribes from onboarding while the message waits.
	require.NoError(t, b.store.SetPreferences(ctx, m.ContactID, []nurture.Topic{nurture.TopicOnboarding}, nil))
	require.NoError(t, b.deliver(ctx, id))
	require.Equal(t, nurture.StatusSkipped, b.status(t, id).Status)
	require.Empty(t, b.smtp.Messages(), "an unsubscribe wins over a pending send")
}

func TestDeliverFrequencyCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	d := b.deliverer(t, func(c *delivery.Config) { c.FrequencyCap = 2 })
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "busy@example.com"})
	require.NoError(t, err)
	var ids []int64
	for i := range 3 {
		msg, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("k", i), ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
		require.NoError(t, err)
		ids = append(ids, msg.ID)
	}
	// All three in one batch: the cap counts the batch's own sends.
	require.NoError(t, d.Deliver(ctx, delivery.Request{IDs: ids}))
	require.Len(t, b.smtp.Messages(), 2)
	require.Equal(t, nurture.StatusSkipped, b.status(t, ids[2]).Status)
}

func TestDeliverBatchBookkeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ids := b.welcomes(t, 20)
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Match: "p2@"})
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Match: "p3@", Times: 1})
	err := b.deliver(ctx, ids...)
	require.Error(t, err, "one message deferred: the batch is retried")
	var final *delivery.FinalError
	require.NotErrorAs(t, err, &final)
	require.Len(t, b.smtp.Messages(), 18)
	require.Equal(t, nurture.StatusBounced, b.status(t, ids[2]).Status)
	require.Equal(t, nurture.StatusDeferred, b.status(t, ids[3]).Status)

	// The retry of the whole batch sends only the deferred one.
	require.NoError(t, b.deliver(ctx, ids...))
	require.Len(t, b.smtp.Messages(), 19)
	for i, id := range ids {
		if i != 2 {
			require.Equal(t, nurture.StatusSent, b.status(t, id).Status, "message %d", i)
		}
	}
}

// slowRelay is a Throttle that is always out of tokens.
type slowRelay struct{}

func (slowRelay) Take(context.Context) (bool, time.Duration, error) {
	return false, 10 * time.Second, nil
}
func (slowRelay) SlowDown(context.Context) error { return nil }

func TestDeliverThrottledHandsTheMessageBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	d := b.deliverer(t, func(c *delivery.Config) { c.Throttle = slowRelay{} })
	id := b.welcome(t, "wait@example.com")

	err := d.Deliver(ctx, delivery.Request{IDs: []int64{id}})
	var te *delivery.ThrottledError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 10*time.Second, te.Delay)
	got := b.status(t, id)
	require.Equal(t, nurture.StatusQueued, got.Status)
	require.Zero(t, got.Attempts)
	require.Empty(t, b.smtp.Messages())
}

type countingThrottle struct{ slowed int }

func (c *countingThrottle) Take(context.Context) (bool, time.Duration, error) { return true, 0, nil }
func (c *countingThrottle) SlowDown(context.Context) error                    { c.slowed++; return nil }

func TestRelaySaying421SlowsTheRelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	throttle := &countingThrottle{}
	d := b.deliverer(t, func(c *delivery.Config) { c.Throttle = throttle })
	id := b.welcome(t, "slow@example.com")
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 421, Times: 1})
	var te *delivery.ThrottledError
	require.ErrorAs(t, d.Deliver(ctx, delivery.Request{IDs: []int64{id}}), &te)
	require.Equal(t, 1, throttle.slowed)
	require.NoError(t, d.Deliver(ctx, delivery.Request{IDs: []int64{id}}))
	require.Len(t, b.smtp.Messages(), 1)
}

// claimSpy is the real store, reporting the rows CheckClaims finds lost or
// cancelled (on channels a test may leave nil).
type claimSpy struct {
	*postgres.DB
	lost, cancelled chan int64
	// watches counts the watcher's calls; one that starts after a report
	// means the deliverer has taken that report in.
	watches atomic.Int64
}

func (s *claimSpy) RenewClaims(ctx context.Context, claim int64, ids []int64, lease time.Duration) ([]int64, error) {
	s.watches.Add(1)
	return s.DB.RenewClaims(ctx, claim, ids, lease)
}

func (s *claimSpy) CheckClaims(ctx context.Context, claim int64, ids []int64) (lost, cancelled []int64, err error) {
	s.watches.Add(1)
	lost, cancelled, err = s.DB.CheckClaims(ctx, claim, ids)
	for _, id := range lost {
		if s.lost != nil {
			s.lost <- id
		}
	}
	for _, id := range cancelled {
		if s.cancelled != nil {
			s.cancelled <- id
		}
	}
	return lost, cancelled, err
}

// An unsubscribe that reaches an email a batch holds, before it leaves,
// stops it: the batch skips it and records why.
func TestDeliverSkipsAnEmailCancelledInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ids := b.welcomes(t, 2)
	gated := newGatedSender(b.sender)
	spy := &claimSpy{DB: b.store, cancelled: make(chan int64, 100)}
	d := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Sender, c.Parallelism, c.CheckEvery = spy, gated, 1, 10*time.Millisecond
	})
	gated.gate()
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, delivery.Request{IDs: ids}) }()
	<-gated.reached // the first email waits at the relay's door

	second := b.status(t, ids[1])
	require.NoError(t, b.store.SetPreferences(ctx, second.ContactID, []nurture.Topic{nurture.TopicOnboarding}, []string{"welcome"}))
	require.Equal(t, ids[1], <-spy.cancelled, "the watcher sees the cancellation")
	seen := spy.watches.Load()
	require.Eventually(t, func() bool { return spy.watches.Load() > seen }, 10*time.Second, time.Millisecond,
		"the watcher goes on, having taken the cancellation in")
	gated.release()
	require.NoError(t, <-done)

	require.Equal(t, map[string]int{"p0@example.com": 1}, b.deliveredTo())
	got := b.status(t, ids[1])
	require.Equal(t, nurture.StatusSkipped, got.Status)
	n, err := b.store.InFlight(ctx, second.ContactID, []string{"welcome"})
	require.NoError(t, err)
	require.Zero(t, n, "an unsubscribe waiting on it may answer now")
}

// A relay that closes the connection after the final dot, without a reply,
// may have the message (RFC 1047): the attempt is deferred and retried, as
// any failure is, and the address is left alone.
func TestDeliverUnknownOutcomeIsDeferred(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := b.welcome(t, "ada@example.com")
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Times: 1})

	err := b.deliver(ctx, id)
	require.Equal(t, nurture.DeliveryUnknown, nurture.DeliveryKindOf(err))
	var final *delivery.FinalError
	require.NotErrorAs(t, err, &final, "must be retried")
	m := b.status(t, id)
	require.Equal(t, nurture.StatusDeferred, m.Status)
	require.Contains(t, m.LastError, "outcome unknown")
	_, suppressed, err := b.store.Suppressed(ctx, "ada@example.com")
	require.NoError(t, err)
	require.False(t, suppressed)
}

// Issue 9: a 20,000-character first name made header lines the relay
// refused with a 554, and the address was suppressed as a hard bounce. The
// headers fold now: the email goes out and the address stays.
func TestDeliverToContactWithHugeName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "long@example.com", FirstName: strings.Repeat("a", 20000)})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID), ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)

	require.NoError(t, b.deliver(ctx, m.ID))
	require.Equal(t, nurture.StatusSent, b.status(t, m.ID).Status)
	require.Len(t, b.smtp.Messages(), 1)
	_, suppressed, err := b.store.Suppressed(ctx, "long@example.com")
	require.NoError(t, err)
	require.False(t, suppressed)
}

// A worker asked to stop while the relay is slow to answer the end of the
// data waits for that answer: the email the relay accepted is recorded as
// sent, never handed back to be sent again (issue 11).
func TestDeliverStoppedAfterTheFinalDotWaitsForTheReply(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.welcome(t, "ada@example.com")
	b.smtp.Fail(smtptest.Failure{Stage: smtptest.StageData, Delay: 300 * time.Millisecond, Times: 1})
	ctx, cancel := context.WithCancel(context.Background())
	gated := newGatedSender(b.sender)
	gated.onSend = func(int) { time.AfterFunc(100*time.Millisecond, cancel) } // the worker stops mid-transaction
	d := b.deliverer(t, func(c *delivery.Config) { c.Sender = gated })
	require.NoError(t, d.Deliver(ctx, delivery.Request{IDs: []int64{id}}))
	require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
	require.Len(t, b.smtp.Messages(), 1)
	require.NoError(t, b.deliver(context.Background(), id))
	require.Len(t, b.smtp.Messages(), 1, "sent once")
}

// A topic that requires an opt-in goes only to the contacts who gave one;
// the others' messages are skipped when about to leave, and say why.
func TestDeliverRequiresAnOptInWhereConfigured(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	d := b.deliverer(t, func(c *delivery.Config) { c.RequireOptIn = []nurture.Topic{nurture.TopicOnboarding} })
	yes, no := b.welcome(t, "yes@example.com"), b.welcome(t, "no@example.com")
	m, err := b.store.Message(ctx, yes)
	require.NoError(t, err)
	require.NoError(t, b.store.ChangeConsents(ctx, nurture.ConsentChange{ContactID: m.ContactID,
		OptIn: []nurture.Topic{nurture.TopicOnboarding}, Source: nurture.ConsentAPI}))

	require.NoError(t, d.Deliver(ctx, delivery.Request{IDs: []int64{yes, no}}))
	require.Equal(t, nurture.StatusSent, b.status(t, yes).Status)
	require.Equal(t, nurture.StatusSkipped, b.status(t, no).Status)
	require.Equal(t, map[string]int{"yes@example.com": 1}, b.deliveredTo())
	var why string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT detail FROM message_status_history WHERE message_id = $1 AND status = 'skipped'`, no).Scan(&why))
	require.Contains(t, why, "no consent")
}

// The confirmation email of a double opt-in carries its confirmation
// link, signed for the message and its contact; no other email has one.
// It is transactional: it goes even to a contact who opted out of the
// topic it asks about.
func TestDeliverConfirmationCarriesItsLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com", FirstName: "Ada"})
	require.NoError(t, err)
	require.NoError(t, b.store.SetPreferences(ctx, c.ID, []nurture.Topic{nurture.TopicMarketing}, nil))
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.OptInDedupeKey(nurture.TopicMarketing, c.ID, b.clock.Now()),
		ContactID: c.ID, Template: nurture.ConfirmTemplate, SendAt: b.clock.Now()})
	require.NoError(t, err)
	require.NoError(t, b.deliver(ctx, m.ID, b.welcome(t, "bob@example.com")))
	require.Equal(t, nurture.StatusSent, b.status(t, m.ID).Status)
	var confirm, welcome string
	for _, msg := range b.smtp.Messages() {
		if msg.To[0] == "ada@example.com" {
			confirm = string(msg.Data)
		} else {
			welcome = string(msg.Data)
		}
	}
	require.Contains(t, confirm, "https://links.acme.example/k/")
	require.NotContains(t, welcome, "/k/")
}

// slowRenderer renders with next and moves the clock on by took at each
// render: preparing the batch seems to take that long.
type slowRenderer struct {
	next  delivery.Renderer
	clock *testkit.Clock
	took  time.Duration
}

func (r slowRenderer) Render(name string, d templates.Data) (*templates.Rendered, error) {
	r.clock.Advance(r.took)
	return r.next.Render(name, d)
}

// A batch whose preparation took most of its lease (rendering on a loaded
// machine) renews its claim before the first send instead of handing every
// row back as if the database were unreachable; a quick one sends on the
// claim it has.
func TestDeliverSendsAfterASlowPreparation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		perItem time.Duration
	}{
		{"quick", 0},
		{"two thirds of the lease", 7 * time.Second},
		{"most of the lease", 9 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			tmpl, err := templates.Default()
			require.NoError(t, err)
			ids := b.welcomes(t, 3)
			d := b.deliverer(t, func(c *delivery.Config) {
				c.Lease = 30 * time.Second
				c.Renderer = slowRenderer{next: tmpl, clock: b.clock, took: tc.perItem}
			})
			require.NoError(t, d.Deliver(context.Background(), delivery.Request{IDs: ids}))
			b.requireEachOnce(t, 3)
			for _, id := range ids {
				require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
			}
		})
	}
}
