package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// EnrichStore is what the enrichment poller needs of the store.
type EnrichStore interface {
	DueEnrichments(ctx context.Context, now, staleBefore time.Time, limit int) ([]nurture.Enrichment, error)
	MarkEnrichmentsQueued(ctx context.Context, contactIDs []int64, at time.Time) error
}

// EnrichEnqueuer queues lead:enrich tasks; a request already queued is not
// queued twice.
type EnrichEnqueuer interface {
	EnqueueEnrich(ctx context.Context, es []nurture.Enrichment) (int, error)
}

// EnrichPoller moves lead enrichment from PostgreSQL into the task queue,
// as the reconciler does for messages: every Interval it queues the
// contacts whose enrichment is due and not known to be queued (never
// queued, queued more than Grace ago, or lost with Redis's data). Task ids
// derive from the request, so several pollers may run.
type EnrichPoller struct {
	Store    EnrichStore
	Enqueuer EnrichEnqueuer
	// Marker, when set, lets a pass notice that Redis lost its data and
	// queue every due enrichment at once instead of waiting for Grace. It
	// must be the poller's own.
	Marker   QueueMarker
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()
	Interval time.Duration // default 1s
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
	// Grace is how long a request may stay queued but not done before it
	// is queued again. Default 5 minutes: a research waits on sites.
	Grace time.Duration
	Batch int // requests per query; default 500

	lost bool // as the Reconciler's: cleared only by a pass that finished
}

func (p *EnrichPoller) defaults() {
	if p.Clock == nil {
		p.Clock = nurture.SystemClock{}
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Interval == 0 {
		p.Interval = time.Second
	}
	if p.Grace == 0 {
		p.Grace = 5 * time.Minute
	}
	if p.Batch == 0 {
		p.Batch = 500
	}
}

// Run polls every Interval until ctx ends.
func (p *EnrichPoller) Run(ctx context.Context) error {
	p.defaults()
	poll(ctx, p.Leases, JobEnrichment, p.Interval, p.Logger, "enrichment poller pass", func(ctx context.Context) error {
		_, err := p.Pass(ctx)
		return err
	})
	return nil
}

// Pass queues the enrichments due and returns how many it queued.
func (p *EnrichPoller) Pass(ctx context.Context) (int, error) {
	p.defaults()
	start := p.Clock.Now()
	if p.Marker != nil {
		lost, err := p.Marker.Lost(ctx)
		if err != nil {
			return 0, fmt.Errorf("ask the task queue: %w", err)
		}
		p.lost = p.lost || lost
	}
	staleBefore := func(now time.Time) time.Time { return now.Add(-p.Grace) }
	if p.lost {
		staleBefore = func(time.Time) time.Time { return start }
	}
	total := 0
	for {
		now := p.Clock.Now()
		due, err := p.Store.DueEnrichments(ctx, now, staleBefore(now), p.Batch)
		if err != nil {
			return total, err
		}
		n, err := p.Enqueuer.EnqueueEnrich(ctx, due)
		if err != nil {
			return total, err
		}
		ids := make([]int64, len(due))
		for i := range due {
			ids[i] = due[i].ContactID
		}
		if err := p.Store.MarkEnrichmentsQueued(ctx, ids, now); err != nil {
			return total, err
		}
		total += n
		if len(due) < p.Batch {
			p.lost = false
			return total, nil
		}
	}
}
