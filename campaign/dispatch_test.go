package campaign_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// queue records the batches handed to delivery.
type queue struct {
	mu      sync.Mutex
	batches map[string][]int64
}

func (q *queue) EnqueueSendBatch(_ context.Context, key, _ string, ids []int64) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.batches == nil {
		q.batches = map[string][]int64{}
	}
	if _, ok := q.batches[key]; !ok {
		q.batches[key] = append([]int64(nil), ids...)
	}
	return 1, nil
}

func (q *queue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, ids := range q.batches {
		n += len(ids)
	}
	return n
}

type fanout struct {
	db    *postgres.DB
	clock *testkit.Clock
	queue *queue
}

func setupFanout(t *testing.T, start time.Time) *fanout {
	t.Helper()
	return setupFanoutB(t, start)
}

func setupFanoutB(tb testing.TB, start time.Time) *fanout {
	tb.Helper()
	return &fanout{db: postgres.New(testkit.DB(tb)), clock: testkit.NewClock(start), queue: &queue{}}
}

func (f *fanout) dispatcher(cfg campaign.DispatcherConfig) *campaign.Dispatcher {
	cfg.Store, cfg.Audience, cfg.Enqueuer, cfg.Clock = f.db, f.db, f.queue, f.clock
	return campaign.NewDispatcher(cfg)
}

func (f *fanout) contact(t *testing.T, c nurture.Contact) int64 {
	t.Helper()
	got, _, err := f.db.UpsertContact(t.Context(), &c)
	require.NoError(t, err)
	return got.ID
}

// campaign stores a scheduled campaign to everyone on plan pro.
func (f *fanout) campaign(t *testing.T, c nurture.Campaign) *nurture.Campaign {
	t.Helper()
	c.Name, c.Template, c.Topic, c.Status = "Winter release", "newsletter", "product", "scheduled"
	c.Filter = map[string]any{"traits.plan": "pro"}
	sched, err := campaign.ScheduleOf(&c)
	require.NoError(t, err)
	c.StartsAt = sched.Start()
	require.NoError(t, f.db.CreateCampaign(t.Context(), &c))
	return &c
}

func (f *fanout) pass(t *testing.T, d *campaign.Dispatcher, id int64) int {
	t.Helper()
	n, err := d.Pass(t.Context(), id)
	require.NoError(t, err)
	return n
}

// messages returns the campaign's messages by contact.
func (f *fanout) messages(t *testing.T, id int64) map[int64]nurture.Message {
	t.Helper()
	rows, err := f.db.Pool().Query(t.Context(), `SELECT contact_id, dedupe_key, status, send_at FROM messages WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]nurture.Message{}
	for rows.Next() {
		var m nurture.Message
		require.NoError(t, rows.Scan(&m.ContactID, &m.DedupeKey, &m.Status, &m.SendAt))
		_, dup := out[m.ContactID]
		require.False(t, dup, "two messages for contact %d", m.ContactID)
		out[m.ContactID] = m
	}
	require.NoError(t, rows.Err())
	return out
}

func (f *fanout) status(t *testing.T, id int64) string {
	t.Helper()
	c, err := f.db.Campaign(t.Context(), id)
	require.NoError(t, err)
	return c.Status
}

// A 10:00 local-time campaign across Tokyo, Paris and New York, on a
// controlled clock: the audience freezes when 10:00 first comes on Earth,
// and each contact's email is created at their own 10:00.
func TestLocalTimeCampaignAcrossThreeZones(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC))
	tokyo := f.contact(t, nurture.Contact{Email: "aiko@example.jp", TimeZone: "Asia/Tokyo", Attributes: map[string]any{"plan": "pro"}})
	paris := f.contact(t, nurture.Contact{Email: "jean@example.fr", Country: "FR", Attributes: map[string]any{"plan": "pro"}})
	newYork := f.contact(t, nurture.Contact{Email: "ann@example.com", TimeZone: "America/New_York", Attributes: map[string]any{"plan": "pro"}})
	f.contact(t, nurture.Contact{Email: "free@example.com", TimeZone: "Asia/Tokyo", Attributes: map[string]any{"plan": "free"}})
	f.contact(t, nurture.Contact{ExternalID: "no-address", Attributes: map[string]any{"plan": "pro"}})
	c := f.campaign(t, nurture.Campaign{LocalDate: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), LocalMinute: 600, FallbackZone: "Europe/London"})
	d := f.dispatcher(campaign.DispatcherConfig{})

	require.Zero(t, f.pass(t, d, c.ID))
	require.Equal(t, "scheduled", f.status(t, c.ID), "10:00 has come nowhere yet")

	f.clock.Set(time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)) // 10:00 at UTC+14
	require.Zero(t, f.pass(t, d, c.ID))
	got, err := f.db.Campaign(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, "sending", got.Status)
	require.EqualValues(t, 3, got.Audience, "frozen: the pro contacts with an address")

	for _, step := range []struct {
		at   time.Time
		sent []int64
	}{
		{time.Date(2026, 12, 8, 0, 59, 0, 0, time.UTC), nil},
		{time.Date(2026, 12, 8, 1, 0, 1, 0, time.UTC), []int64{tokyo}},
		{time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC), []int64{tokyo, paris}},
		{time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC), []int64{tokyo, paris, newYork}},
	} {
		f.clock.Set(step.at)
		f.pass(t, d, c.ID)
		ms := f.messages(t, c.ID)
		require.Len(t, ms, len(step.sent), "at %s", step.at)
		for _, id := range step.sent {
			require.Equal(t, nurture.CampaignDedupeKey(c.ID, id), ms[id].DedupeKey)
		}
	}
	require.Equal(t, "sent", f.status(t, c.ID), "every member has its message")
	require.Equal(t, 3, f.queue.count(), "each handed to delivery once")
	stats, err := f.db.CampaignStats(t.Context(), c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 3, stats.Audience)
	require.Len(t, stats.Buckets, 3, "one bucket per zone")
	require.Equal(t, time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC), stats.Buckets[0].Bucket.UTC())
}

// A fan-out that stops between pages resumes at its checkpoint, and two
// workers' passes at once still give each contact one message.
func TestFanoutResumesAndPassesTakeTurns(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	var ids []int64
	for i := range 45 {
		ids = append(ids, f.contact(t, nurture.Contact{Email: fmt.Sprintf("p%02d@example.com", i), Attributes: map[string]any{"plan": "pro"}}))
	}
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now()})
	small := campaign.DispatcherConfig{Page: 10, Pages: 1, Lanes: 2}
	require.Equal(t, 20, f.pass(t, f.dispatcher(small), c.ID), "a page frozen and dispatched in each of the two lanes")
	got, err := f.db.Campaign(t.Context(), c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 20, got.Audience)
	require.False(t, got.Frozen)
	var lanes [2][]int64 // the contacts of each lane, by id
	for _, id := range ids {
		lanes[id%2] = append(lanes[id%2], id)
	}
	var first []int64 // each lane's first page
	for _, l := range lanes {
		first = append(first, l[:10]...)
	}
	require.ElementsMatch(t, first, slices.Collect(maps.Keys(f.messages(t, c.ID))))

	// The worker dies; others pass, two at a time, until it is sent.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := f.dispatcher(small)
			for range 8 {
				if _, err := d.Pass(context.Background(), c.ID); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, "sent", f.status(t, c.ID))
	ms := f.messages(t, c.ID)
	require.Len(t, ms, 45, "everyone, once")
	require.Equal(t, 45, f.queue.count())
}

// A throttle of N a minute never lets more than N messages be created in
// any minute, spread a second's share at a time.
func TestFanoutThrottle(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	for i := range 30 {
		f.contact(t, nurture.Contact{Email: fmt.Sprintf("t%02d@example.com", i), Attributes: map[string]any{"plan": "pro"}})
	}
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now(), ThrottlePerMinute: 12})
	d := f.dispatcher(campaign.DispatcherConfig{})
	var perPass []int
	for range 150 {
		perPass = append(perPass, f.pass(t, d, c.ID))
		f.clock.Advance(time.Second)
	}
	for i := range perPass {
		sum := 0
		for j := i; j < min(i+60, len(perPass)); j++ {
			sum += perPass[j]
			require.LessOrEqual(t, perPass[j], 1, "a second's share of 12 a minute")
		}
		require.LessOrEqual(t, sum, 12, "the minute from second %d", i)
	}
	require.Len(t, f.messages(t, c.ID), 30, "all of them in the end")
	require.Equal(t, "sent", f.status(t, c.ID))
}

// Pause stops the campaign's emails not sent yet and creates no more;
// resume sends them and goes on; cancel drops what is left.
func TestPauseResumeCancel(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	for i := range 6 {
		f.contact(t, nurture.Contact{Email: fmt.Sprintf("c%d@example.com", i), Attributes: map[string]any{"plan": "pro"}})
	}
	// Two a second, so that a pass leaves some to pause.
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now(), ThrottlePerMinute: 120})
	d := f.dispatcher(campaign.DispatcherConfig{})
	ctx := t.Context()
	require.Equal(t, 2, f.pass(t, d, c.ID))

	_, err := f.db.MoveCampaign(ctx, c.ID, []string{"scheduled", "sending"}, "paused", f.clock.Now())
	require.NoError(t, err)
	for _, m := range f.messages(t, c.ID) {
		require.Equal(t, nurture.StatusSkipped, m.Status, "stopped at once")
	}
	require.Zero(t, f.pass(t, d, c.ID), "a paused campaign creates nothing")

	f.clock.Advance(time.Minute)
	_, err = f.db.MoveCampaign(ctx, c.ID, []string{"paused"}, "scheduled", f.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "sending", f.status(t, c.ID), "it had started: it goes on sending")
	for _, m := range f.messages(t, c.ID) {
		require.Equal(t, nurture.StatusQueued, m.Status, "queued again")
		require.Equal(t, f.clock.Now(), m.SendAt.UTC())
	}
	require.Equal(t, 2, f.pass(t, d, c.ID))

	_, err = f.db.MoveCampaign(ctx, c.ID, []string{"draft", "scheduled", "sending", "paused"}, "cancelled", f.clock.Now())
	require.NoError(t, err)
	require.Zero(t, f.pass(t, d, c.ID))
	stats, err := f.db.CampaignStats(ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 6, stats.Audience)
	require.EqualValues(t, 2, stats.Dropped)
	require.EqualValues(t, 4, stats.Skipped[postgres.ReasonCampaignCancelled])
	_, err = f.db.MoveCampaign(ctx, c.ID, []string{"paused"}, "scheduled", f.clock.Now())
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err), "a cancelled campaign stays cancelled")
}

// After its end, a campaign sends nothing more: the members without their
// email are dropped and the campaign is sent.
func TestCampaignEnd(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	for i := range 5 {
		f.contact(t, nurture.Contact{Email: fmt.Sprintf("e%d@example.com", i), Attributes: map[string]any{"plan": "pro"}})
	}
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now(), ThrottlePerMinute: 60, EndsAt: f.clock.Now().Add(2 * time.Second)})
	d := f.dispatcher(campaign.DispatcherConfig{})
	f.pass(t, d, c.ID)
	f.clock.Advance(time.Second)
	f.pass(t, d, c.ID)
	f.clock.Advance(time.Second)
	f.pass(t, d, c.ID)
	require.Equal(t, "sent", f.status(t, c.ID))
	stats, err := f.db.CampaignStats(t.Context(), c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, stats.Dispatched)
	require.EqualValues(t, 3, stats.Dropped)
	require.EqualValues(t, 2, stats.Skipped[postgres.ReasonCampaignEnded], "the two not sent by the end")
}

// An A/B test sends each variant to its part of the test share, waits,
// picks the variant more people clicked (a link scanner's clicks count
// for nothing) and sends it to the rest.
func TestABTestPicksTheVariantPeopleClicked(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	for i := range 200 {
		f.contact(t, nurture.Contact{Email: fmt.Sprintf("ab%03d@example.com", i), Attributes: map[string]any{"plan": "pro"}})
	}
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now(), AB: &nurture.CampaignAB{
		Variants:  []nurture.CampaignVariant{{Name: "plain", Subject: "Our winter release"}, {Name: "curious", Subject: "What's new this winter?"}},
		TestShare: 0.5, Metric: "clicks", Wait: time.Hour}})
	d := f.dispatcher(campaign.DispatcherConfig{})
	ctx := t.Context()
	f.pass(t, d, c.ID)
	ms := f.messages(t, c.ID)
	require.InDelta(t, 100, len(ms), 25, "the test share first")
	// Every test email delivered; people click "curious" more, a scanner
	// clicks every "plain" one.
	_, err := f.db.Pool().Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = now() WHERE campaign_id = $1`, c.ID)
	require.NoError(t, err)
	_, err = f.db.Pool().Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at)
		SELECT m.id, m.contact_id, 'click', 'bot', now() FROM messages m JOIN campaign_audience a ON a.message_id = m.id
		WHERE m.campaign_id = $1 AND a.variant = 0`, c.ID)
	require.NoError(t, err)
	_, err = f.db.Pool().Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at)
		SELECT m.id, m.contact_id, 'click', 'human', now() FROM messages m JOIN campaign_audience a ON a.message_id = m.id
		WHERE m.campaign_id = $1 AND ((a.variant = 0 AND m.contact_id % 10 = 0) OR (a.variant = 1 AND m.contact_id % 4 = 0))`, c.ID)
	require.NoError(t, err)

	f.clock.Advance(30 * time.Minute)
	require.Zero(t, f.pass(t, d, c.ID), "the rest waits for the decision")
	f.clock.Advance(30 * time.Minute)
	f.pass(t, d, c.ID)
	got, err := f.db.Campaign(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Winner, "curious: more people clicked it: %+v", got.Decision)
	require.Len(t, got.Decision, 2)
	require.Positive(t, got.Decision[0].ScanClicks, "the scanner's clicks are shown")
	require.Less(t, got.Decision[0].HumanClicks, got.Decision[1].HumanClicks)
	require.Equal(t, "sent", got.Status)

	rows, err := f.db.Pool().Query(ctx, `SELECT a.variant, m.subject FROM campaign_audience a JOIN messages m ON m.id = a.message_id
		WHERE a.campaign_id = $1`, c.ID)
	require.NoError(t, err)
	defer rows.Close()
	subjects := map[int]map[string]int{}
	for rows.Next() {
		var v int
		var subject string
		require.NoError(t, rows.Scan(&v, &subject))
		if subjects[v] == nil {
			subjects[v] = map[string]int{}
		}
		subjects[v][subject]++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"Our winter release"}, keys(subjects[0]))
	require.Equal(t, []string{"What's new this winter?"}, keys(subjects[1]))
	require.Equal(t, []string{"What's new this winter?"}, keys(subjects[-1]), "the rest got the winner")
	require.Len(t, f.messages(t, c.ID), 200)
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A campaign's figures: people's clicks per link (a scanner's left out),
// and the recipients who opted out of its topic after its email.
func TestCampaignFigures(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	for i := range 4 {
		f.contact(t, nurture.Contact{Email: fmt.Sprintf("f%d@example.com", i), Attributes: map[string]any{"plan": "pro"}})
	}
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now()})
	f.pass(t, f.dispatcher(campaign.DispatcherConfig{}), c.ID)
	ctx := t.Context()
	_, err := f.db.Pool().Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = now() - interval '1 minute' WHERE campaign_id = $1`, c.ID)
	require.NoError(t, err)
	_, err = f.db.Pool().Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, url, at)
		SELECT id, contact_id, 'click', 'human', CASE WHEN contact_id % 2 = 0 THEN 'https://acme.test/a' ELSE 'https://acme.test/b' END, now()
		FROM messages WHERE campaign_id = $1
		UNION ALL SELECT id, contact_id, 'click', 'bot', 'https://acme.test/b', now() FROM messages WHERE campaign_id = $1`, c.ID)
	require.NoError(t, err)
	_, err = f.db.Pool().Exec(ctx, `UPDATE messages SET status = 'bounced', last_error = 'hard bounce from ses: 550 5.1.1 user unknown'
		WHERE id = (SELECT max(id) FROM messages WHERE campaign_id = $1)`, c.ID)
	require.NoError(t, err)
	_, err = f.db.Pool().Exec(ctx, `INSERT INTO topic_optouts (contact_id, topic)
		SELECT contact_id, 'product' FROM messages WHERE campaign_id = $1 ORDER BY id LIMIT 1`, c.ID)
	require.NoError(t, err)
	stats, err := f.db.CampaignStats(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, stats.Links, 2)
	require.EqualValues(t, 4, stats.Links[0].HumanClicks+stats.Links[1].HumanClicks, "each person once, scanners left out")
	require.EqualValues(t, 4, stats.HumanClicks)
	require.EqualValues(t, 4, stats.ScanClicks)
	require.EqualValues(t, 1, stats.Unsubscribed)
	require.Equal(t, map[string]int64{"hard": 1}, stats.Bounced)
}

// Quiet hours hold each contact's email until the window opens where
// they live: a campaign sent at 03:00 UTC with a 09:00-18:00 window
// reaches Paris at its 09:00, New York at its 09:00, and a contact of no
// known zone at the fallback zone's.
func TestCampaignQuietHours(t *testing.T) {
	t.Parallel()
	f := setupFanout(t, time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC))
	paris := f.contact(t, nurture.Contact{Email: "p@example.fr", Country: "FR", Attributes: map[string]any{"plan": "pro"}})
	newYork := f.contact(t, nurture.Contact{Email: "n@example.com", TimeZone: "America/New_York", Attributes: map[string]any{"plan": "pro"}})
	nowhere := f.contact(t, nurture.Contact{Email: "x@example.com", Attributes: map[string]any{"plan": "pro"}})
	c := f.campaign(t, nurture.Campaign{SendAt: f.clock.Now(), SendWindow: "daily 09:00-18:00", FallbackZone: "UTC"})
	require.Zero(t, f.pass(t, f.dispatcher(campaign.DispatcherConfig{}), c.ID), "03:00 is quiet everywhere here")
	rows, err := f.db.Pool().Query(t.Context(), `SELECT contact_id, due_at FROM campaign_audience WHERE campaign_id = $1`, c.ID)
	require.NoError(t, err)
	due := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at time.Time
		require.NoError(t, rows.Scan(&id, &at))
		due[id] = at.UTC()
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[int64]time.Time{
		paris:   time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC),
		newYork: time.Date(2026, 12, 8, 14, 0, 0, 0, time.UTC),
		nowhere: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC),
	}, due)
}
