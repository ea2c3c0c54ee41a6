package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// RetentionStore is what the retention job needs of the store.
type RetentionStore interface {
	// EnsurePartitions makes the monthly partitions of events and hits
	// from the month of from through months later where they are missing,
	// and returns the names of those it made.
	EnsurePartitions(ctx context.Context, from time.Time, months int) ([]string, error)
	// DropEventPartitionsBefore and DropHitPartitionsBefore drop the
	// monthly partitions that end at or before before (the hits' after
	// keeping what the engagement summaries need), and return their names.
	DropEventPartitionsBefore(ctx context.Context, before time.Time) ([]string, error)
	DropHitPartitionsBefore(ctx context.Context, before time.Time) ([]string, error)
	// DeleteEventsBefore and DeleteHitsBefore delete at most limit rows
	// of the default partitions older than before, the oldest first, and
	// say how many they deleted.
	DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteHitsBefore(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteEventKeysBefore forgets at most limit messageIds of calls
	// received before before.
	DeleteEventKeysBefore(ctx context.Context, before time.Time, limit int) (int, error)
	// AnalyzePartitioned refreshes the planner's statistics of events and
	// hits as wholes (autovacuum does only their partitions).
	AnalyzePartitioned(ctx context.Context) error
}

// RetentionJob keeps events and hits (opens and clicks) within their
// retention, every Interval. Both tables are partitioned by month: the job
// makes the partitions of the coming months ahead of time, and drops the
// months wholly past the retention, so a row lives up to a month past it.
// The few rows outside the monthly partitions (the default partitions: a
// backfill of long ago) and the messageIds kept for idempotence are
// deleted in small batches, one short statement each. The aggregates the
// rows fed (engagement summaries, action counts, last open and click)
// stay. It runs in one worker at a time (Leases); every step is idempotent
// and safe when several workers run it at once all the same.
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
	// MonthsAhead is how many months after the current one have their
	// partitions made ahead; default 3.
	MonthsAhead int
	// Pause is the wait between two batches, leaving the database to the
	// work that matters now; default 50ms.
	Pause time.Duration
	// AnalyzeEvery is how often the tables' statistics are refreshed when
	// no partition was made or dropped; default 24 hours. (ANALYZE of 1M
	// events and 1M hits took 11 s on the loaded test machine.)
	AnalyzeEvery time.Duration

	analyzed time.Time // when this job last refreshed the statistics
}

// RetentionResult is what a pass did.
type RetentionResult struct {
	// Made and Dropped name the partitions made and dropped.
	Made, Dropped []string
	// Events, Hits and EventKeys count the rows deleted one by one (of
	// the default partitions, and the messageIds forgotten).
	Events, Hits, EventKeys int
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
	if j.MonthsAhead == 0 {
		j.MonthsAhead = 3
	}
	if j.Pause == 0 {
		j.Pause = 50 * time.Millisecond
	}
	if j.AnalyzeEvery == 0 {
		j.AnalyzeEvery = 24 * time.Hour
	}
}

// Run makes and drops partitions and deletes what is past its retention
// every Interval until ctx ends.
func (j *RetentionJob) Run(ctx context.Context) error {
	j.defaults()
	poll(ctx, j.Leases, JobRetention, j.Interval, j.Logger, "retention pass", func(ctx context.Context) error {
		res, err := j.Pass(ctx)
		if len(res.Made)+len(res.Dropped) > 0 || res.Events+res.Hits > 0 {
			j.Logger.Info("retention", "partitions_made", res.Made, "partitions_dropped", res.Dropped,
				"events_deleted", res.Events, "hits_deleted", res.Hits, "event_keys_deleted", res.EventKeys)
		}
		return err
	})
	return nil
}

// Pass makes the coming months' partitions, drops the months past the
// retention, deletes the other rows past it batch by batch, and refreshes
// the statistics of both tables when it changed partitions or
// AnalyzeEvery has passed since this job last did.
func (j *RetentionJob) Pass(ctx context.Context) (RetentionResult, error) {
	j.defaults()
	var res RetentionResult
	now := j.Clock.Now()
	var err error
	if res.Made, err = j.Store.EnsurePartitions(ctx, now, j.MonthsAhead); err != nil {
		return res, err
	}
	if j.Events > 0 {
		before := now.Add(-j.Events)
		dropped, err := j.Store.DropEventPartitionsBefore(ctx, before)
		res.Dropped = append(res.Dropped, dropped...)
		if err != nil {
			return res, err
		}
		if res.Events, err = j.drain(ctx, before, j.Store.DeleteEventsBefore); err != nil {
			return res, err
		}
		if res.EventKeys, err = j.drain(ctx, before, j.Store.DeleteEventKeysBefore); err != nil {
			return res, err
		}
	}
	if j.Hits > 0 {
		before := now.Add(-j.Hits)
		dropped, err := j.Store.DropHitPartitionsBefore(ctx, before)
		res.Dropped = append(res.Dropped, dropped...)
		if err != nil {
			return res, err
		}
		if res.Hits, err = j.drain(ctx, before, j.Store.DeleteHitsBefore); err != nil {
			return res, err
		}
	}
	if len(res.Made)+len(res.Dropped) == 0 && !j.analyzed.IsZero() && now.Sub(j.analyzed) < j.AnalyzeEvery {
		return res, nil
	}
	if err := j.Store.AnalyzePartitioned(ctx); err != nil {
		return res, err
	}
	j.analyzed = now
	return res, nil
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
