package delivery_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// While the outcomes cannot be written (the database is away), no new email
// leaves: at most the ones already admitted go. When it is back, the rest go,
// each once.
func TestDeliverPausesWhileOutcomesCannotBeWritten(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 40
	ids := b.welcomes(t, n)

	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	cut := postgres.New(testkit.DBVia(t, b.pool, proxy.Addr))
	var sentBeforeRestore atomic.Int64
	restored := make(chan struct{})
	gated := newGatedSender(b.sender)
	gated.onSend = func(n int) {
		if n == 10 {
			proxy.Cut() // the database goes away after the tenth email
		}
		select {
		case <-restored:
		default:
			sentBeforeRestore.Add(1)
		}
	}
	const parallelism, maxPending = 2, 4
	d := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Sender, c.Parallelism = cut, gated, parallelism
		c.Outcomes = delivery.OutcomeConfig{MaxPending: maxPending, MaxBatch: 1}
	})
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, delivery.Request{IDs: ids}) }()

	// Give the batch every chance to go on sending while the database is
	// away: it must not.
	require.Eventually(t, func() bool { return sentBeforeRestore.Load() >= 10 }, 30*time.Second, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	stalled := sentBeforeRestore.Load()
	require.LessOrEqual(t, stalled, int64(10+parallelism+maxPending),
		"after the database went away only the sends already admitted may go")
	close(restored)
	proxy.Restore()

	require.NoError(t, <-done)
	b.requireEachOnce(t, n)
	for _, id := range ids {
		require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
	}
}

// A worker whose claim lapsed (it could not renew it: the database was
// away from it) sends nothing more of its batch, while another worker that
// took the rows over sends each of them once.
func TestLapsedClaimStopsTheOldHolder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 5
	ids := b.welcomes(t, n)

	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	oldStore := postgres.New(testkit.DBVia(t, b.pool, proxy.Addr))
	stuck := &blockingThrottle{reached: make(chan struct{}, n), release: make(chan struct{})}
	old := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Throttle, c.Parallelism = oldStore, stuck, 1
		c.Clock = nurture.SystemClock{} // the lease is measured in real time here
		c.Lease, c.CheckEvery = 900*time.Millisecond, 50*time.Millisecond
	})
	done := make(chan error, 1)
	go func() { done <- old.Deliver(ctx, delivery.Request{IDs: ids}) }()
	<-stuck.reached // the old worker holds the batch, about to send the first email

	proxy.Cut()
	require.Eventually(t, func() bool {
		var lapsed int
		err := b.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = ANY($1) AND locked_until < now()`, ids).Scan(&lapsed)
		return err == nil && lapsed == n
	}, 30*time.Second, 50*time.Millisecond, "the lease lapses in the database")

	// Another worker finds the claim lapsed: it gives the old holder one
	// more lease, and takes the rows over when that lapses too.
	other := b.deliverer(t, func(c *delivery.Config) {
		c.Clock, c.Lease, c.CheckEvery = nurture.SystemClock{}, 900*time.Millisecond, 50*time.Millisecond
	})
	require.ErrorIs(t, other.Deliver(ctx, delivery.Request{IDs: ids}), delivery.ErrHeld, "the old holder gets one more lease")
	require.Eventually(t, func() bool { return other.Deliver(ctx, delivery.Request{IDs: ids}) == nil },
		30*time.Second, 100*time.Millisecond, "another worker takes the rows over")
	proxy.Restore()
	close(stuck.release)
	err := <-done
	var final *delivery.FinalError
	require.Error(t, err, "the old holder hands its rows back and asks to be called again")
	require.NotErrorAs(t, err, &final)

	b.requireEachOnce(t, n)
	for _, id := range ids {
		require.Equal(t, nurture.StatusSent, b.status(t, id).Status)
	}
}

// A worker cut off from the database after it sent an email, for longer
// than its lease, still records that email when the database is back, even
// when another attempt reaches the database first: the email goes out once
// (the fault suite's network cut sent 4 twice before lapsed claims were
// given one more lease).
func TestAHolderCutOffAfterSendingKeepsItsSend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ids := b.welcomes(t, 1)

	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	cutStore := postgres.New(testkit.DBVia(t, b.pool, proxy.Addr))
	gated := newGatedSender(b.sender)
	gated.onSend = func(int) { proxy.Cut() } // the database goes away as the email is sent
	old := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Sender, c.Parallelism = cutStore, gated, 1
		c.Clock = nurture.SystemClock{}
		c.Lease, c.CheckEvery = 900*time.Millisecond, 50*time.Millisecond
	})
	done := make(chan error, 1)
	go func() { done <- old.Deliver(ctx, delivery.Request{IDs: ids}) }()
	require.Eventually(t, func() bool { return len(b.deliveredTo()) == 1 }, 10*time.Second, 10*time.Millisecond, "the email is sent")
	require.Eventually(t, func() bool {
		var lapsed bool
		err := b.pool.QueryRow(ctx, `SELECT locked_until < now() FROM messages WHERE id = $1`, ids[0]).Scan(&lapsed)
		return err == nil && lapsed
	}, 30*time.Second, 50*time.Millisecond, "its lease lapses in the database, its outcome unwritten")

	// The database is reachable again; another attempt gets there first,
	// before the old holder's writer tries again.
	other := b.deliverer(t, func(c *delivery.Config) {
		c.Clock, c.Lease, c.CheckEvery = nurture.SystemClock{}, 900*time.Millisecond, 50*time.Millisecond
	})
	proxy.Restore()
	require.ErrorIs(t, other.Deliver(ctx, delivery.Request{IDs: ids}), delivery.ErrHeld)
	require.NoError(t, <-done, "the old holder records its send")
	require.Equal(t, nurture.StatusSent, b.status(t, ids[0]).Status)
	require.NoError(t, other.Deliver(ctx, delivery.Request{IDs: ids}), "settled: nothing to do")
	b.requireEachOnce(t, 1)
}

// blockingThrottle holds every Take until release is closed.
type blockingThrottle struct {
	reached chan struct{}
	release chan struct{}
}

func (s *blockingThrottle) Take(ctx context.Context) (bool, time.Duration, error) {
	s.reached <- struct{}{}
	select {
	case <-s.release:
		return true, 0, nil
	case <-ctx.Done():
		return false, 0, ctx.Err()
	}
}
func (s *blockingThrottle) SlowDown(context.Context) error { return nil }

// Outcomes are written as the emails go, not when the batch ends: a crash
// in the middle of a batch repeats none of the emails already recorded.
func TestOutcomesAreRecordedWhileTheBatchGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ids := b.welcomes(t, 4)
	gated := newGatedSender(b.sender)
	gated.onSend = func(n int) {
		if n == 3 {
			gated.gate() // the fourth email waits
		}
	}
	d := b.deliverer(t, func(c *delivery.Config) { c.Sender, c.Parallelism = gated, 1 })
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, delivery.Request{IDs: ids}) }()
	<-gated.reached
	require.Eventually(t, func() bool {
		for _, id := range ids[:3] {
			if b.status(t, id).Status != nurture.StatusSent {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "the first three are in PostgreSQL while the fourth waits")
	require.Equal(t, nurture.StatusSending, b.status(t, ids[3]).Status)
	gated.release()
	require.NoError(t, <-done)
	b.requireEachOnce(t, 4)
}

// While a group of outcomes is being committed, the outcomes waiting for
// the next one and those in the group together stay within MaxPending:
// a slow commit cannot let more accepted emails pile up unwritten (each
// of which a crash would send again) than the window the settings name.
func TestUnwrittenOutcomesStayWithinMaxPendingWhileACommitIsSlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n, parallelism, maxPending = 30, 2, 6
	ids := b.welcomes(t, n)

	slow := &slowCommitStore{Store: b.store, release: make(chan struct{}), holding: make(chan struct{})}
	t.Cleanup(slow.open) // also when an assertion fails
	counted := newGatedSender(b.sender)
	var sent atomic.Int64
	counted.onSend = func(int) { sent.Add(1) }
	d := b.deliverer(t, func(c *delivery.Config) {
		c.Store, c.Sender, c.Parallelism = slow, counted, parallelism
		// Groups as large as the limit: the first one (full, as the sends
		// are fast) is the one whose commit hangs.
		c.Outcomes = delivery.OutcomeConfig{MaxPending: maxPending, MaxBatch: maxPending, MaxDelay: 100 * time.Millisecond}
	})
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, delivery.Request{IDs: ids}) }()

	<-slow.holding // the first group's commit hangs
	// Give the batch every chance to go on sending: it must stop once
	// MaxPending outcomes are unwritten, whatever else is in flight.
	time.Sleep(300 * time.Millisecond)
	require.LessOrEqual(t, sent.Load(), int64(maxPending+parallelism),
		"only MaxPending outcomes may be unwritten, plus the sends admitted before the limit")
	slow.open()

	require.NoError(t, <-done)
	b.requireEachOnce(t, n)
}

// slowCommitStore holds the first RecordOutcomes until open is called.
type slowCommitStore struct {
	delivery.Store
	hold, opened sync.Once
	holding      chan struct{}
	release      chan struct{}
}

func (s *slowCommitStore) open() { s.opened.Do(func() { close(s.release) }) }

func (s *slowCommitStore) RecordOutcomes(ctx context.Context, outcomes []nurture.Outcome) (int, error) {
	s.hold.Do(func() { close(s.holding) })
	select {
	case <-s.release:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return s.Store.RecordOutcomes(ctx, outcomes)
}
