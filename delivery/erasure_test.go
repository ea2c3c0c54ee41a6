package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
)

var erasureKey = []byte("erasure-key-of-the-delivery-tests-0123456789")

// An erasure racing a batch that holds the contact's email mails nothing
// after the erase call returns: an email still waiting in the batch is
// skipped at the worker's last check, and one already at the relay's door
// is waited for.
func TestEraseRacingASendMailsNothingAfterItReturns(t *testing.T) {
	t.Parallel()
	for name, erased := range map[string]int{
		"waiting in the batch": 1,
		"at the relay's door":  0,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.store.ErasureKey = erasureKey
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

			target := b.status(t, ids[erased])
			address := []string{"p0@example.com", "p1@example.com"}[erased]
			type result struct {
				sent int // the target's emails at the relay when the erasure returned
				err  error
			}
			erasedAt := make(chan result, 1)
			go func() {
				err := b.store.EraseContact(ctx, target.ContactID, nurture.ErasedBy{APIKeyID: 1})
				erasedAt <- result{b.deliveredTo()[address], err}
			}()
			require.Equal(t, ids[erased], <-spy.cancelled, "the watcher sees the erasure")
			// The spy reports from inside the check, before the batch has
			// taken its answer in: released now, the batch could reach the
			// second email first and send it, before the erasure returns
			// (allowed, but not what this case is about).
			seen := spy.watches.Load()
			require.Eventually(t, func() bool { return spy.watches.Load() > seen }, 10*time.Second, time.Millisecond,
				"the watcher goes on, having taken the erasure in")
			gated.release()
			r := <-erasedAt
			require.NoError(t, r.err)
			atReturn := r.sent
			require.NoError(t, <-done)

			require.Equal(t, atReturn, b.deliveredTo()[address], "nothing reached the relay after the erasure returned")
			if erased == 1 {
				require.Zero(t, atReturn, "the email waiting in the batch was skipped")
			}
			_, err := b.store.Message(ctx, ids[erased])
			require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err), "its message is gone with it")
		})
	}
}

// A contact whose address was erased and came back gets no email but
// transactional ones until it is released.
func TestDeliverSkipsAHeldContactUntilReleased(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store.ErasureKey = erasureKey
	ctx := context.Background()
	first := b.welcome(t, "back@example.com")
	require.NoError(t, b.store.EraseContact(ctx, b.status(t, first).ContactID, nurture.ErasedBy{}))

	again := b.welcome(t, "Back@example.com") // signs up again
	require.NoError(t, b.deliver(ctx, again))
	got := b.status(t, again)
	require.Equal(t, nurture.StatusSkipped, got.Status)
	require.Empty(t, b.deliveredTo())
	history, err := b.store.MessageHistory(ctx, again)
	require.NoError(t, err)
	require.Equal(t, nurture.HoldReason, history[len(history)-1].Detail)

	require.NoError(t, b.store.ReleaseHold(ctx, got.ContactID))
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "after-opt-in", ContactID: got.ContactID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	require.NoError(t, b.deliver(ctx, m.ID))
	require.Equal(t, nurture.StatusSent, b.status(t, m.ID).Status)
	require.Equal(t, map[string]int{"Back@example.com": 1}, b.deliveredTo())
}
