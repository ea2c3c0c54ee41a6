package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Store is what the fan-out needs of the store: each step is one
// transaction there, fenced by the campaign's status and checkpoint.
type Store interface {
	Campaign(ctx context.Context, id int64) (*nurture.Campaign, error)
	// Contacts reads the contacts of a page, for their time zones.
	Contacts(ctx context.Context, ids []int64) (map[int64]*nurture.Contact, error)
	// StartCampaign moves a due campaign to sending with lanes lanes (a
	// campaign that started before keeps its own) and returns them; none
	// when it is neither scheduled nor sending.
	StartCampaign(ctx context.Context, id int64, lanes int, now time.Time) ([]nurture.CampaignLane, error)
	// FreezeAudience adds a page of a lane of the audience if the lane's
	// checkpoint is still after; false when it was not (paused, or done
	// by another). With dispatch (every member due now), the members get
	// their messages in the same transaction, whose ids it returns.
	FreezeAudience(ctx context.Context, id int64, lane int, after int64, members []nurture.AudienceMember, through int64, done bool, now time.Time, dispatch bool) (bool, []nurture.Queued, error)
	// SealAudience marks the audience frozen once every lane is, and
	// reports whether it is.
	SealAudience(ctx context.Context, id int64) (bool, error)
	// DispatchDue creates the messages of the members due by dueBy, as
	// many as allow says given the last minute's count, and returns
	// their ids.
	DispatchDue(ctx context.Context, id int64, now, dueBy time.Time, allow func(lastMinute int64) int) ([]nurture.Queued, error)
	FinishCampaign(ctx context.Context, id int64, now time.Time) (bool, error)
	EndCampaign(ctx context.Context, id int64, now time.Time) error
	// ABResults and DecideWinner serve A/B tests: what each variant did,
	// and the winner, recorded once.
	ABResults(ctx context.Context, id int64, variants int) ([]nurture.VariantResult, error)
	DecideWinner(ctx context.Context, id int64, winner int, results []nurture.VariantResult, now time.Time) (bool, error)
}

// Audience pages through the contacts a condition selects, by id: those
// of lane lane of lanes (id modulo lanes), after afterID.
type Audience interface {
	SegmentPage(ctx context.Context, cond nurture.Condition, now time.Time, afterID int64, limit, lane, lanes int) ([]int64, error)
}

// Enqueuer hands messages to delivery; a batch queued twice under one key
// is queued once.
type Enqueuer interface {
	EnqueueSendBatch(ctx context.Context, key, queue string, ids []int64) (int, error)
}

// DispatcherConfig configures a Dispatcher. Store, Audience and Enqueuer
// are required.
type DispatcherConfig struct {
	Store    Store
	Audience Audience
	Enqueuer Enqueuer
	Clock    nurture.Clock // default: the wall clock
	Logger   *slog.Logger  // default: slog.Default()
	// Page is how many contacts a page of the freeze holds (default
	// 2,000), Pages how many pages one pass freezes at most in each lane
	// (default 25), Batch how many messages one round of a pass creates
	// at most (default 5,000), Rounds how many rounds a pass makes at
	// most when there is no throttle (default 20): a pass does up to
	// 100,000 contacts of each, then lets the other campaigns have theirs.
	Page, Pages, Batch, Rounds int
	// Lanes is how many lanes a campaign's freeze runs in, each with its
	// own checkpoint and transactions, at once (default 2): a page's
	// message rows are written by one statement, which PostgreSQL runs
	// on one core. Fixed for a campaign when it starts.
	Lanes int
	Zones *sequence.ZoneCache
}

// Dispatcher is a campaign's fan-out: a pass freezes the audience page by
// page when the campaign starts (its lanes at once), creates the messages that are due (under
// the throttle) and hands them to delivery, ends the campaign at its end,
// and marks it sent when every member has its message. PostgreSQL holds
// every step, so a pass may stop anywhere and the next goes on; passes
// of several workers take turns.
type Dispatcher struct {
	cfg DispatcherConfig
}

// NewDispatcher returns a Dispatcher with cfg's zero values defaulted.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Page <= 0 {
		cfg.Page = 2000
	}
	if cfg.Pages <= 0 {
		cfg.Pages = 25
	}
	if cfg.Lanes <= 0 {
		cfg.Lanes = 2
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 20
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	if cfg.Zones == nil {
		cfg.Zones = &sequence.ZoneCache{}
	}
	return &Dispatcher{cfg: cfg}
}

// ScheduleOf reads a campaign's schedule.
func ScheduleOf(c *nurture.Campaign) (Schedule, error) {
	if c.LocalDate.IsZero() {
		return Schedule{At: c.SendAt}, nil
	}
	zone := c.FallbackZone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Schedule{}, nurture.FieldError("fallbackZone", "%q is not a time zone", zone)
	}
	return Schedule{Local: &LocalTime{Year: c.LocalDate.Year(), Month: c.LocalDate.Month(), Day: c.LocalDate.Day(),
		Minute: c.LocalMinute, Fallback: loc}}, nil
}

// Pass moves one campaign on and returns how many messages it created.
func (d *Dispatcher) Pass(ctx context.Context, id int64) (int, error) {
	st := d.cfg.Store
	c, err := st.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	now := d.cfg.Clock.Now()
	switch Status(c.Status) {
	case Scheduled:
		if c.StartsAt.After(now) {
			return 0, nil
		}
	case Sending:
	default:
		return 0, nil
	}
	sched, err := ScheduleOf(c)
	if err != nil {
		return 0, err
	}
	created, err := d.freeze(ctx, c, sched, now)
	if err != nil {
		return created, err
	}
	if !c.EndsAt.IsZero() && !now.Before(c.EndsAt) {
		return created, st.EndCampaign(ctx, id, now)
	}
	if ab := ABTestOf(c); ab.Splits() && c.Winner < 0 && !now.Before(ab.DecideAt(sched)) {
		results, err := st.ABResults(ctx, id, len(ab.Variants))
		if err != nil {
			return created, err
		}
		w := PickWinner(results, ab.Metric)
		if ok, err := st.DecideWinner(ctx, id, w, results, now); err != nil {
			return created, err
		} else if ok {
			d.cfg.Logger.Info("campaign a/b test decided", "campaign_id", id, "winner", ab.Variants[w].Name, "metric", ab.Metric)
		}
	}
	throttle := Throttle{PerMinute: c.ThrottlePerMinute}
	rounds := d.cfg.Rounds
	if throttle.PerMinute > 0 {
		rounds = 1 // a second's share a pass
	}
	for range rounds {
		n, err := d.dispatch(ctx, id, now, throttle)
		created += n
		if err != nil {
			return created, err
		}
		if n < d.cfg.Batch {
			break // nothing more is due
		}
	}
	if c.Frozen {
		if _, err := st.FinishCampaign(ctx, id, now); err != nil {
			return created, err
		}
	}
	return created, nil
}

// dispatch creates one round of due messages and hands them to delivery.
func (d *Dispatcher) dispatch(ctx context.Context, id int64, now time.Time, throttle Throttle) (int, error) {
	st := d.cfg.Store
	ids, err := st.DispatchDue(ctx, id, now, now, func(lastMinute int64) int { return throttle.Allowance(lastMinute, d.cfg.Batch) })
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return len(ids), d.enqueue(ctx, id, ids)
}

// enqueue hands a campaign's new messages to delivery, on the low queue
// of each one's region (an audience spans regions: a batch per region).
// They were written marked enqueued: should this enqueue be lost, the
// reconciler queues them again after its grace, and the task id and the
// claim make a second task harmless.
func (d *Dispatcher) enqueue(ctx context.Context, id int64, msgs []nurture.Queued) error {
	regions, byRegion := nurture.QueuedByRegion(msgs)
	for _, r := range regions {
		ids := byRegion[r]
		key := "camp:" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(ids[0], 10)
		if _, err := d.cfg.Enqueuer.EnqueueSendBatch(ctx, key, nurture.TaskQueue(r, "low"), ids); err != nil {
			return fmt.Errorf("campaign %d: %w", id, err)
		}
	}
	return nil
}

// dueNow reports whether every member is due by now.
func dueNow(members []nurture.AudienceMember, now time.Time) bool {
	for _, m := range members {
		if m.DueAt.After(now) {
			return false
		}
	}
	return true
}

// freeze starts the campaign's freeze if it has not started and goes on
// with it in every lane at once, each lane until it is whole or the pass
// has frozen Pages of its pages; it returns how many messages it created
// with them (pages due now). c.Frozen and c.Status follow.
func (d *Dispatcher) freeze(ctx context.Context, c *nurture.Campaign, sched Schedule, now time.Time) (int, error) {
	if c.Frozen {
		return 0, nil
	}
	lanes, err := d.cfg.Store.StartCampaign(ctx, c.ID, d.cfg.Lanes, now)
	if err != nil || len(lanes) == 0 {
		return 0, err
	}
	c.Status = string(Sending)
	f, err := d.newFreeze(c, sched, len(lanes), now)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	created := make([]int, len(lanes))
	errs := make([]error, len(lanes))
	for i, l := range lanes {
		if l.Frozen {
			continue
		}
		wg.Go(func() { created[i], errs[i] = f.lane(ctx, l) })
	}
	wg.Wait()
	total := 0
	for _, n := range created {
		total += n
	}
	if err := errors.Join(errs...); err != nil {
		return total, err
	}
	if c.Frozen, err = d.cfg.Store.SealAudience(ctx, c.ID); err != nil {
		return total, err
	}
	if c.Frozen {
		d.cfg.Logger.Info("campaign audience frozen", "campaign_id", c.ID, "lanes", len(lanes))
	}
	return total, nil
}

// laneFreeze is what a pass's lanes share to freeze a campaign's audience.
type laneFreeze struct {
	d        *Dispatcher
	c        *nurture.Campaign
	sched    Schedule
	ab       *ABTest
	window   sequence.Window
	fallback *time.Location
	lanes    int
	now      time.Time
}

func (d *Dispatcher) newFreeze(c *nurture.Campaign, sched Schedule, lanes int, now time.Time) (*laneFreeze, error) {
	window, fallback, err := windowOf(c)
	if err != nil {
		return nil, err
	}
	return &laneFreeze{d: d, c: c, sched: sched, ab: ABTestOf(c), window: window, fallback: fallback, lanes: lanes, now: now}, nil
}

// lane freezes pages of one lane until it is whole or has done Pages of
// them, and returns how many messages it created with them.
func (f *laneFreeze) lane(ctx context.Context, l nurture.CampaignLane) (created int, err error) {
	d, c := f.d, f.c
	for range d.cfg.Pages {
		ids, err := d.cfg.Audience.SegmentPage(ctx, c.Condition, f.now, l.Through, d.cfg.Page, l.Lane, f.lanes)
		if err != nil {
			return created, fmt.Errorf("campaign %d: audience: %w", c.ID, err)
		}
		members, err := f.members(ctx, ids)
		if err != nil {
			return created, err
		}
		through, done := l.Through, len(ids) < d.cfg.Page
		if len(ids) > 0 {
			through = ids[len(ids)-1]
		}
		// A page due now, unthrottled and untested, gets its messages as
		// it is frozen: one statement instead of two, and no audience row
		// written twice.
		allDue := dueNow(members, f.now) && c.ThrottlePerMinute == 0 && f.ab == nil
		ok, msgs, err := d.cfg.Store.FreezeAudience(ctx, c.ID, l.Lane, l.Through, members, through, done, f.now, allDue)
		if err != nil || !ok {
			return created, err
		}
		created += len(msgs)
		if err := d.enqueue(ctx, c.ID, msgs); err != nil {
			return created, err
		}
		l.Through = through
		if done {
			return created, nil
		}
	}
	return created, nil
}

// members are the contacts of a page as audience members: when each
// one's email is due (its local time, its quiet hours), its bucket and
// its part of an A/B test.
func (f *laneFreeze) members(ctx context.Context, ids []int64) ([]nurture.AudienceMember, error) {
	d, c := f.d, f.c
	var contacts map[int64]*nurture.Contact
	if (f.sched.Local != nil || !f.window.AnyTime()) && len(ids) > 0 {
		var err error
		if contacts, err = d.cfg.Store.Contacts(ctx, ids); err != nil {
			return nil, err
		}
	}
	members := make([]nurture.AudienceMember, 0, len(ids))
	for _, cid := range ids {
		due, bucket := f.sched.SendAtFor(contacts[cid], d.cfg.Zones, time.Time{})
		if !f.window.AnyTime() {
			// Quiet hours: the next moment the window is open where the
			// contact lives.
			loc, _ := sequence.ContactZone(contacts[cid], f.fallback, d.cfg.Zones)
			due = f.window.Next(due, loc)
		}
		variant := -1
		if f.ab != nil {
			variant = f.ab.Assign(c.ID, cid)
			if variant < 0 && due.Before(f.ab.DecideAt(f.sched)) {
				due = f.ab.DecideAt(f.sched) // the rest gets the winner, once chosen
			}
		}
		members = append(members, nurture.AudienceMember{ContactID: cid, DueAt: due, Bucket: bucket, Variant: variant})
	}
	return members, nil
}

// windowOf reads a campaign's quiet hours as the sequences' send window,
// with the zone of contacts whose profile gives none.
func windowOf(c *nurture.Campaign) (sequence.Window, *time.Location, error) {
	w, err := nurture.ParseSendWindow(c.SendWindow)
	if err != nil {
		return sequence.Window{}, nil, nurture.FieldError("sendWindow", "%v", err)
	}
	fallback := time.UTC
	if c.FallbackZone != "" {
		if loc, err := time.LoadLocation(c.FallbackZone); err == nil {
			fallback = loc
		}
	}
	return sequence.Window{Days: w.Days, From: w.From, To: w.To}, fallback, nil
}
