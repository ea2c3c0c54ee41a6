package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// RetentionStore is what the retention job needs of the store.
type RetentionStore interface {
	// DeleteEventsBefore and DeleteHitsBefore delete at most limit rows
	// older than before, the oldest first, and say how many they deleted.
	DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteHitsBefore(ctx context.Context, before time.Time, limit int) (int, error)
}

// RetentionJob deletes raw events and hits (opens and clicks) once they are
// older than their retention, in small batches (one short statement each,
// so no lock is held for long and ingestion and hits go on), until none is
// left, every Interval. The aggregates they fed (engagement summaries,
// action counts) stay. It runs in one worker at a time (Leases); two that
// meet are harmless: a batch skips the rows
// another one is deleting.
type RetentionJob struct {
	Store RetentionStore
	// Events and Hits are the retentions; 0 keeps them for good.
	Events, Hits time.Duration
	Clock        nurture.Clock // default: the system clock
	Logger       *slog.Logger  // default: slog.Default()
	Interval     time.Duration // default 1 hour
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
	Batch  int // rows a statement deletes; default 5,000
	// Pause is the wait between two batches, leaving the database to the
	// work that matters now; default 50ms.
	Pause time.Duration
}

func (j *RetentionJob) defaults() {
	if j.Clock == nil {
		j.Clock = nurture.SystemClock{}
	}
	if j.Logger == nil {
		j.Logger = slog.Default()
	}
	if j.Interval == 0 {
		j.Interval = time.Hour
	}
	if j.Batch == 0 {
		j.Batch = 5000
	}
	if j.Pause == 0 {
		j.Pause = 50 * time.Millisecond
	}
}

// Run deletes what is past its retention every Interval until ctx ends.
func (j *RetentionJob) Run(ctx context.Context) error {
	j.defaults()
	poll(ctx, j.Leases, JobRetention, j.Interval, j.Logger, "retention pass", func(ctx context.Context) error {
		events, hits, err := j.Pass(ctx)
		if events+hits > 0 {
			j.Logger.Info("retention", "events_deleted", events, "hits_deleted", hits)
		}
		return err
	})
	return nil
}

// Pass deletes every event and hit past its retention, batch by batch,
// and returns how many of each it deleted.
func (j *RetentionJob) Pass(ctx context.Context) (events, hits int, err error) {
	j.defaults()
	now := j.Clock.Now()
	if j.Events > 0 {
		if events, err = j.drain(ctx, now.Add(-j.Events), j.Store.DeleteEventsBefore); err != nil {
			return events, 0, err
		}
	}
	if j.Hits > 0 {
		hits, err = j.drain(ctx, now.Add(-j.Hits), j.Store.DeleteHitsBefore)
	}
	return events, hits, err
}

func (j *RetentionJob) drain(ctx context.Context, before time.Time, del func(context.Context, time.Time, int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := del(ctx, before, j.Batch)
		total += n
		if err != nil || n < j.Batch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(j.Pause):
		}
	}
}
