package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nurture-email/nurture"
)

// CampaignStore is what the campaign poller needs of the store.
type CampaignStore interface {
	ActiveCampaigns(ctx context.Context, now time.Time) ([]int64, error)
}

// CampaignDispatcher moves one campaign on (package campaign).
type CampaignDispatcher interface {
	Pass(ctx context.Context, id int64) (int, error)
}

// CampaignPoller runs the campaigns' fan-out: every Interval it finds the
// campaigns that are sending or due to start and gives each a pass. A
// pass is a few transactions in PostgreSQL, each holding the campaign's
// row, so pollers that meet (a lease taken over while its former
// holder's pass ends) take turns; what a pass creates
// goes to delivery as email:send-batch tasks, and a task lost with Redis
// is queued again by the reconciler.
type CampaignPoller struct {
	Store      CampaignStore
	Dispatcher CampaignDispatcher
	Clock      nurture.Clock // default: the system clock
	Logger     *slog.Logger  // default: slog.Default()
	Interval   time.Duration // default 1s: a pause or a throttle acts within a second or so
	// Leases, when set, runs the job in one process at a time among those
	// sharing the database; nil runs it here every Interval.
	Leases *Leases
}

func (p *CampaignPoller) defaults() {
	if p.Clock == nil {
		p.Clock = nurture.SystemClock{}
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Interval == 0 {
		p.Interval = time.Second
	}
}

// Run polls every Interval until ctx ends.
func (p *CampaignPoller) Run(ctx context.Context) error {
	p.defaults()
	poll(ctx, p.Leases, JobCampaigns, p.Interval, p.Logger, "campaign poller pass", p.Pass)
	return nil
}

// Pass gives every active campaign one pass; a campaign that fails is
// logged and the others go on.
func (p *CampaignPoller) Pass(ctx context.Context) error {
	p.defaults()
	ids, err := p.Store.ActiveCampaigns(ctx, p.Clock.Now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := p.Dispatcher.Pass(ctx, id); err != nil {
			p.Logger.Warn("campaign pass", "campaign_id", id, "err", err)
		}
	}
	return nil
}
