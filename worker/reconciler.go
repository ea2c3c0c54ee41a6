package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// ReconcileStore is what the reconciler needs of the store.
type ReconcileStore interface {
	DueMessages(ctx context.Context, dueBefore, staleBefore time.Time, limit int) ([]nurture.Message, error)
	MarkEnqueued(ctx context.Context, ids []int64, at time.Time) error
}

// SendEnqueuer queues the delivery of a message; queuing one that is already
// queued is not an error.
type SendEnqueuer interface {
	EnqueueSend(ctx context.Context, m *nurture.Message) error
}

// Reconciler makes PostgreSQL the truth and Redis only the transport: every
// Interval it finds messages that are due but not known to be in the task
// queue (never enqueued, enqueued long ago, or whose enqueue was lost with
// Redis's data) and enqueues them. Task ids make a double enqueue harmless,
// so several reconcilers may run.
type Reconciler struct {
	Store    ReconcileStore
	Enqueuer SendEnqueuer
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()
	Interval time.Duration // default 15s
	// Lookahead lets work due within it be enqueued early (asynq holds it
	// until its time). Default 1 minute.
	Lookahead time.Duration
	// Grace is how long a message may sit enqueued but unfinished before it
	// is enqueued again. Default 2 minutes.
	Grace time.Duration
	Batch int // messages per pass; default 500
}

func (r *Reconciler) defaults() {
	if r.Clock == nil {
		r.Clock = nurture.SystemClock{}
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Interval == 0 {
		r.Interval = 15 * time.Second
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
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("reconcile pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass runs one reconciliation and returns how many messages it enqueued.
func (r *Reconciler) Pass(ctx context.Context) (int, error) {
	r.defaults()
	total := 0
	for {
		now := r.Clock.Now()
		due, err := r.Store.DueMessages(ctx, now.Add(r.Lookahead), now.Add(-r.Grace), r.Batch)
		if err != nil {
			return total, err
		}
		ids := make([]int64, 0, len(due))
		for i := range due {
			if err := r.Enqueuer.EnqueueSend(ctx, &due[i]); err != nil {
				return total, err
			}
			ids = append(ids, due[i].ID)
		}
		if err := r.Store.MarkEnqueued(ctx, ids, now); err != nil {
			return total, err
		}
		total += len(ids)
		if len(due) < r.Batch || len(ids) == 0 {
			if total > 0 {
				r.Logger.Info("reconciler enqueued due messages", "count", total)
			}
			return total, nil
		}
	}
}
