package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// ReconcileStore is what the reconciler needs of the store.
type ReconcileStore interface {
	DueMessages(ctx context.Context, dueBefore, staleBefore time.Time, limit int) ([]nurture.Message, error)
	MarkEnqueued(ctx context.Context, ids []int64, at time.Time) error
}

// SendEnqueuer queues the delivery of messages; queuing work that is
// already queued is not an error.
type SendEnqueuer interface {
	// EnqueueSend queues one message, held until its SendAt.
	EnqueueSend(ctx context.Context, m *nurture.Message) error
	// EnqueueSendBatch queues messages due now as batch tasks; key names
	// the batch so that a second call queues nothing twice.
	EnqueueSendBatch(ctx context.Context, key, queue string, ids []int64) (int, error)
}

// QueueMarker tells whether the task queue lost its data (Redis flushed or
// restarted empty) since the last time it was asked. The first question
// after a start says lost too.
type QueueMarker interface {
	Lost(ctx context.Context) (bool, error)
}

// Reconciler makes PostgreSQL the truth and Redis only the transport: every
// Interval it finds messages that are due but not known to be in the task
// queue (never enqueued, enqueued long ago, held by a worker whose claim
// lapsed, or lost with Redis's data) and enqueues them. Task ids and fenced
// claims make a double enqueue harmless, so reconcilers that meet (one
// process's lease taken over while its last pass ends) are harmless; with
// Leases one process at a time runs it.
type Reconciler struct {
	Store    ReconcileStore
	Enqueuer SendEnqueuer
	// Marker, when set, lets a pass notice that Redis lost its data and
	// enqueue every due message at once instead of waiting for Grace.
	Marker   QueueMarker
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()
	Interval time.Duration // default 5s
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
	// Lookahead lets work due within it be enqueued early (asynq holds it
	// until its time). Default 1 minute.
	Lookahead time.Duration
	// Grace is how long a message may sit enqueued but unfinished before it
	// is enqueued again. Default 2 minutes. A message whose claim lapsed
	// (its worker died) needs no grace: it is enqueued on the next pass.
	Grace time.Duration
	Batch int // messages per query; default 500

	// lost is set when the marker said Redis lost its data and cleared
	// only by a pass that then enqueued everything: a pass that fails
	// half-way (the database refused a write) must not leave the rest to
	// the grace, since the marker says lost only once.
	lost bool
}

func (r *Reconciler) defaults() {
	if r.Clock == nil {
		r.Clock = nurture.SystemClock{}
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Interval == 0 {
		r.Interval = 5 * time.Second
	}
	if r.Lookahead == 0 {
		r.Lookahead = time.Minute
	}
	if r.Grace == 0 {
		r.Grace = 2 * time.Minute
	}
	if r.Batch == 0 {
		r.Batch = 500
	}
}

// Run reconciles every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	r.defaults()
	poll(ctx, r.Leases, JobReconciler, r.Interval, r.Logger, "reconcile pass", func(ctx context.Context) error {
		_, err := r.Pass(ctx)
		return err
	})
	return nil
}

// Pass runs one reconciliation and returns how many messages it enqueued.
func (r *Reconciler) Pass(ctx context.Context) (int, error) {
	r.defaults()
	start := r.Clock.Now()
	staleBefore := func(now time.Time) time.Time { return now.Add(-r.Grace) }
	if r.Marker != nil {
		lost, err := r.Marker.Lost(ctx)
		if err != nil {
			return 0, fmt.Errorf("ask the task queue: %w", err)
		}
		if lost {
			r.Logger.Info("the task queue is new or lost its data: enqueueing every due message now")
			r.lost = true
		}
	}
	if r.lost {
		// Everything enqueued before this pass may be gone.
		staleBefore = func(time.Time) time.Time { return start }
	}
	total := 0
	for {
		now := r.Clock.Now()
		due, err := r.Store.DueMessages(ctx, now.Add(r.Lookahead), staleBefore(now), r.Batch)
		if err != nil {
			return total, err
		}
		if err := r.enqueue(ctx, due, now); err != nil {
			return total, err
		}
		ids := make([]int64, len(due))
		for i := range due {
			ids[i] = due[i].ID
		}
		if err := r.Store.MarkEnqueued(ctx, ids, now); err != nil {
			return total, err
		}
		total += len(ids)
		if len(due) < r.Batch {
			r.lost = false
			if total > 0 {
				r.Logger.Info("reconciler enqueued due messages", "count", total)
			}
			return total, nil
		}
	}
}

// enqueue queues the messages due by now as batch tasks per queue (a
// campaign's or a dead worker's rows come back hundreds at a time), and
// those due later one by one, held until their time.
func (r *Reconciler) enqueue(ctx context.Context, due []nurture.Message, now time.Time) error {
	byQueue := map[string][]int64{}
	var queues []string
	for i := range due {
		m := &due[i]
		if m.SendAt.After(now) {
			if err := r.Enqueuer.EnqueueSend(ctx, m); err != nil {
				return err
			}
			continue
		}
		q := m.TaskQueue() // its class in its region
		if _, ok := byQueue[q]; !ok {
			queues = append(queues, q)
		}
		byQueue[q] = append(byQueue[q], m.ID)
	}
	for _, q := range queues {
		if _, err := r.Enqueuer.EnqueueSendBatch(ctx, batchKey(byQueue[q]), q, byQueue[q]); err != nil {
			return err
		}
	}
	return nil
}

// batchKey names a set of message ids: the same set gets the same key, so
// two passes (or two reconcilers) that find the same work queue it once
// while its tasks exist.
func batchKey(ids []int64) string {
	h := fnv.New64a()
	var b [8]byte
	for _, id := range ids {
		for i := range b {
			b[i] = byte(id >> (8 * i))
		}
		_, _ = h.Write(b[:])
	}
	return fmt.Sprintf("reconcile:%d:%d:%x", ids[0], len(ids), h.Sum64())
}
