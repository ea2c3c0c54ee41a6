package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// ActivityCounter is what the overview job needs of the store: the
// console's overview figures, which it keeps per hour once counted.
type ActivityCounter interface {
	Activity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error)
}

// OverviewJob counts the console overview's last OverviewDays days every
// Interval, so that the hours a view needs are counted before anyone asks:
// without it the first view of 30 days counts every raw row of the period
// (seconds on a large installation); after a pass a view counts only the
// last few hours. It runs in one worker at a time (Leases); two that
// meet are harmless: counting an hour twice keeps
// the same figures.
type OverviewJob struct {
	Store    ActivityCounter
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()
	Interval time.Duration // default 5 minutes
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
}

// overviewDays is the longest period the overview shows.
const overviewDays = 30

func (j *OverviewJob) defaults() {
	if j.Clock == nil {
		j.Clock = nurture.SystemClock{}
	}
	if j.Logger == nil {
		j.Logger = slog.Default()
	}
	if j.Interval == 0 {
		j.Interval = 5 * time.Minute
	}
}

// Run counts every Interval until ctx ends.
func (j *OverviewJob) Run(ctx context.Context) error {
	j.defaults()
	poll(ctx, j.Leases, JobOverview, j.Interval, j.Logger, "overview pass", j.Pass)
	return nil
}

// Pass counts the last 30 days, hour by hour.
func (j *OverviewJob) Pass(ctx context.Context) error {
	j.defaults()
	to := j.Clock.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	_, err := j.Store.Activity(ctx, to.AddDate(0, 0, -overviewDays), time.Hour, overviewDays*24)
	return err
}
