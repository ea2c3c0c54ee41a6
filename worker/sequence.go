package worker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/jobs"
)

// busyRetry is how soon an enrollment whose task of the same step was
// still in the queue is tried again.
const busyRetry = 3 * time.Second

// SequenceStore is what the sequence poller needs of the store.
type SequenceStore interface {
	DueEnrollments(ctx context.Context, now, staleBefore time.Time, limit int) ([]nurture.Enrollment, error)
	MarkEnrollmentsQueued(ctx context.Context, es []nurture.Enrollment, at time.Time) error
	ClaimSignals(ctx context.Context, limit int, lease time.Duration) ([]nurture.SequenceSignal, error)
	DeleteSignals(ctx context.Context, ids []int64) error
}

// AdvanceEnqueuer queues sequence:advance-batch tasks; queued is false
// when the same batch is queued already.
type AdvanceEnqueuer interface {
	EnqueueAdvanceBatch(ctx context.Context, es []nurture.Enrollment) (queued bool, err error)
}

// SignalHandler acts on sequence signals (the sequence engine) and returns
// the ids of those it acted on; the others are tried again once their
// lease runs out.
type SignalHandler interface {
	Signals(ctx context.Context, sigs []nurture.SequenceSignal) (done []int64, err error)
}

// SequencePoller moves sequence work from PostgreSQL into the task queue,
// as the reconciler does for messages: every Interval it turns the signals
// ingestion left (events that may start a sequence or wake an enrollment)
// into enrollments and wakes, then queues the enrollments that are due and
// not known to be queued, Chunk to a sequence:advance-batch task (the
// enrollments an event woke are queued in the same pass). Redis never
// holds a step before it is due, and a task lost with Redis's data is
// queued again after Grace. Signals are leased and task ids derive from
// the step, so several pollers may run.
type SequencePoller struct {
	Store    SequenceStore
	Enqueuer AdvanceEnqueuer
	Signals  SignalHandler
	// Marker, when set, lets a pass notice that Redis lost its data and
	// queue every due enrollment at once instead of waiting for Grace. It
	// must be the poller's own (the reconciler has another).
	Marker   QueueMarker
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()
	Interval time.Duration // default 250ms: an exit event acts within a second or so
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
	// Grace is how long an enrollment may stay queued but not advanced
	// before it is queued again. Default 1 minute.
	Grace time.Duration
	Batch int // signals or enrollments per query; default 500
	// Chunk is how many enrollments one task advances; default
	// jobs.AdvanceBatchSize (250, the size of a send batch).
	Chunk int
	// Lease is how long a pass holds the signals it took; default 30s.
	Lease time.Duration
}

func (p *SequencePoller) defaults() {
	if p.Clock == nil {
		p.Clock = nurture.SystemClock{}
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Interval == 0 {
		p.Interval = 250 * time.Millisecond
	}
	if p.Grace == 0 {
		p.Grace = time.Minute
	}
	if p.Batch == 0 {
		p.Batch = 500
	}
	if p.Chunk == 0 {
		p.Chunk = jobs.AdvanceBatchSize
	}
	if p.Lease == 0 {
		p.Lease = 30 * time.Second
	}
}

// Run polls every Interval until ctx ends.
func (p *SequencePoller) Run(ctx context.Context) error {
	p.defaults()
	poll(ctx, p.Leases, JobSequences, p.Interval, p.Logger, "sequence poller pass", func(ctx context.Context) error {
		_, _, err := p.Pass(ctx)
		return err
	})
	return nil
}

// Pass acts on the signals waiting and queues the enrollments due; it
// returns how many of each.
func (p *SequencePoller) Pass(ctx context.Context) (signals, queued int, err error) {
	p.defaults()
	if signals, err = p.signals(ctx); err != nil {
		return signals, 0, err
	}
	queued, err = p.due(ctx)
	return signals, queued, err
}

func (p *SequencePoller) signals(ctx context.Context) (int, error) {
	total := 0
	for {
		sigs, err := p.Store.ClaimSignals(ctx, p.Batch, p.Lease)
		if err != nil {
			return total, err
		}
		if len(sigs) == 0 {
			return total, nil
		}
		done, err := p.Signals.Signals(ctx, sigs)
		if err != nil {
			// Left for their lease to run out: a later pass tries again.
			return total, err
		}
		if err := p.Store.DeleteSignals(ctx, done); err != nil {
			return total, err
		}
		total += len(done)
		if len(sigs) < p.Batch || len(done) == 0 {
			return total, nil
		}
	}
}

func (p *SequencePoller) due(ctx context.Context) (int, error) {
	start := p.Clock.Now()
	staleBefore := func(now time.Time) time.Time { return now.Add(-p.Grace) }
	if p.Marker != nil {
		lost, err := p.Marker.Lost(ctx)
		if err != nil {
			return 0, fmt.Errorf("ask the task queue: %w", err)
		}
		if lost {
			// Everything queued before this pass may be gone.
			staleBefore = func(time.Time) time.Time { return start }
		}
	}
	total := 0
	for {
		now := p.Clock.Now()
		due, err := p.Store.DueEnrollments(ctx, now, staleBefore(now), p.Batch)
		if err != nil {
			return total, err
		}
		queued := make([]nurture.Enrollment, 0, len(due))
		var busy []nurture.Enrollment
		for chunk := range slices.Chunk(due, p.Chunk) {
			ok, err := p.Enqueuer.EnqueueAdvanceBatch(ctx, chunk)
			if err != nil {
				return total, err
			}
			if ok {
				queued = append(queued, chunk...)
			} else {
				busy = append(busy, chunk...)
			}
		}
		if err := p.Store.MarkEnrollmentsQueued(ctx, queued, now); err != nil {
			return total, err
		}
		// The same batch is still queued or running (it will see what
		// changed, or finished just before): try again in a few seconds
		// rather than at every pass, so that such enrollments cannot crowd
		// the others out of a batch.
		if err := p.Store.MarkEnrollmentsQueued(ctx, busy, now.Add(-p.Grace+busyRetry)); err != nil {
			return total, err
		}
		total += len(queued)
		if len(due) < p.Batch {
			return total, nil
		}
	}
}
