package delivery_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/mailer"
)

// requeues records what a Deliverer hands to other regions' queues.
type requeues struct {
	mu     sync.Mutex
	queues map[string][]int64
}

func (r *requeues) EnqueueSendBatch(_ context.Context, _, queue string, ids []int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queues[queue] = append(r.queues[queue], ids...)
	return 1, nil
}

// A contact who moves from eu to us after their email's task was queued on
// eu's queue: eu's worker claims the message, sees its region is us now,
// and hands it back without sending it through eu's relay, its attempt
// given back, onto us's queue; us's deliverer then sends it through us's
// relay.
func TestMessageOfAnotherRegionIsNotSentThroughThisRelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.store.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}

	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com", FirstName: "Ada", Country: "FR"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID),
		ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	require.Equal(t, "eu", m.Region, "stamped with the contact's region")
	require.Equal(t, "eu.default", m.TaskQueue())

	// The contact moves: the pending message goes with them.
	_, _, err = b.store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com", Country: "US"})
	require.NoError(t, err)
	require.Equal(t, "us", b.status(t, m.ID).Region)

	rq := &requeues{queues: map[string][]int64{}}
	eu := b.deliverer(t, func(cfg *delivery.Config) {
		cfg.Region, cfg.DefaultRegion, cfg.Requeue = "eu", "eu", rq
	})
	// eu's worker runs the task that was on eu's queue.
	require.NoError(t, eu.Deliver(ctx, delivery.Request{IDs: []int64{m.ID}}), "handing back is no failure")
	require.Empty(t, b.smtp.Messages(), "nothing went through eu's relay")
	got := b.status(t, m.ID)
	require.Equal(t, nurture.StatusQueued, got.Status)
	require.Equal(t, 0, got.Attempts, "not an attempt")
	require.Equal(t, map[string][]int64{"us.default": {m.ID}}, rq.queues, "queued on us's queue")

	usRelay := smtptest.Start(t)
	usSender, err := mailer.New(mailer.Config{URL: usRelay.URL(), PoolSize: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = usSender.Close() })
	us := b.deliverer(t, func(cfg *delivery.Config) {
		cfg.Region, cfg.DefaultRegion, cfg.Requeue, cfg.Sender = "us", "eu", rq, usSender
	})
	require.NoError(t, us.Deliver(ctx, delivery.Request{IDs: []int64{m.ID}}))
	require.Equal(t, nurture.StatusSent, b.status(t, m.ID).Status)
	require.Len(t, usRelay.Messages(), 1)
	require.Equal(t, []string{"ada@example.com"}, usRelay.Messages()[0].To)
	require.Empty(t, b.smtp.Messages(), "still nothing through eu's relay")

	history, err := b.store.MessageHistory(ctx, m.ID)
	require.NoError(t, err)
	var details []string
	for _, h := range history {
		details = append(details, h.Detail)
	}
	require.Contains(t, details, "moved to region us (from eu)")
}

// A message stamped before the regions were declared ("") belongs to the
// default region: its relay sends it, another region's hands it over.
func TestUnstampedMessageGoesToTheDefaultRegion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := b.welcome(t, "old@example.com") // no regions yet: stamped ""
	require.Empty(t, b.status(t, id).Region)

	rq := &requeues{queues: map[string][]int64{}}
	us := b.deliverer(t, func(cfg *delivery.Config) { cfg.Region, cfg.DefaultRegion, cfg.Requeue = "us", "eu", rq })
	require.NoError(t, us.Deliver(ctx, delivery.Request{IDs: []int64{id}}))
	require.Empty(t, b.smtp.Messages())
	require.Equal(t, map[string][]int64{"eu.default": {id}}, rq.queues)

	eu := b.deliverer(t, func(cfg *delivery.Config) { cfg.Region, cfg.DefaultRegion, cfg.Requeue = "eu", "eu", rq })
	require.NoError(t, eu.Deliver(ctx, delivery.Request{IDs: []int64{id}}))
	require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
	require.Len(t, b.smtp.Messages(), 1)
}
