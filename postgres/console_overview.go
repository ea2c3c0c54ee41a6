package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// How long an hour's counts may change, and how stale they may be shown
// meanwhile. An hour's counts come from the raw rows until it has been
// over for activitySettle; then they are counted once more and kept for
// good in activity_hours. Before that they are kept for activityMaxAge at
// most, and the hour in progress is counted at every call.
//
// What can still change an hour after it settled: a message marked
// bounced more than activitySettle after its hour (the hour keeps it as
// delivered; the bounce itself counts in the hour we received it). Every
// other figure is counted by when it was recorded, in the hour in
// progress.
const (
	activitySettle = 6 * time.Hour
	activityMaxAge = 5 * time.Minute
	// activityChunk is how many hours are counted and kept at a time.
	activityChunk = 24
)

// Activity counts what happened to the mail in n buckets of step from
// from on (the console's overview), each bucket's figures as
// nurture.ActivityBucket says; from is on the hour and step a whole
// number of hours. A bucket with nothing in it is all zeros.
//
// Cost: one read of activity_hours (24 to 720 rows by its primary key),
// plus the raw rows of the hours not settled or never counted (see
// activitySettle), counted by countActivity: at most 6 hours of raw rows
// once the page has been seen, all of the period's on the first view.
func (db *DB) Activity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error) {
	if step < time.Hour || step%time.Hour != 0 || n < 1 || !from.Truncate(time.Hour).Equal(from) {
		return nil, nurture.Errorf(nurture.CodeInvalid,
			"activity needs whole hours from the hour on and a bucket or more, not %s from %s and %d", step, from, n)
	}
	from = from.UTC()
	now := db.Clock.Now()
	hours := int(time.Duration(n) * step / time.Hour)
	kept, err := db.activityHours(ctx, from, from.Add(time.Duration(hours)*time.Hour))
	if err != nil {
		return nil, err
	}
	// The hours to count from the raw rows: those in progress, never
	// counted, or counted too long ago and not settled then.
	lo, hi := -1, -1
	for i := range hours {
		start := from.Add(time.Duration(i) * time.Hour)
		if start.After(now) {
			break
		}
		end := start.Add(time.Hour)
		k, ok := kept[start]
		if !ok || end.After(now) || k.at.Before(end.Add(activitySettle)) && k.at.Before(now.Add(-activityMaxAge)) {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	hourly := make([]nurture.ActivityBucket, hours)
	for i := range hourly {
		start := from.Add(time.Duration(i) * time.Hour)
		hourly[i] = kept[start].ActivityBucket
		hourly[i].Start = start
	}
	// A day at a time, newest first, each kept as soon as it is counted:
	// a first view of 30 days that gives up half-way (the browser's
	// patience) leaves the days it counted for the next.
	for lo >= 0 && hi >= lo {
		first := max(lo, hi-activityChunk+1)
		counted, err := db.countActivity(ctx, from.Add(time.Duration(first)*time.Hour), time.Hour, hi-first+1)
		if err != nil {
			return nil, err
		}
		copy(hourly[first:], counted)
		if !db.readOnly {
			if err := db.keepActivityHours(ctx, counted, now); err != nil {
				return nil, err
			}
		}
		hi = first - 1
	}
	per := int(step / time.Hour)
	buckets := make([]nurture.ActivityBucket, n)
	for i := range buckets {
		b := &buckets[i]
		b.Start = from.Add(time.Duration(i) * step)
		for _, h := range hourly[i*per : (i+1)*per] {
			b.Add(h)
		}
	}
	return buckets, nil
}

// keptHour is an hour's counts as activity_hours holds them, and when
// they were counted.
type keptHour struct {
	nurture.ActivityBucket
	at time.Time
}

// activityHours reads the kept counts of the hours in [from, to).
func (db *DB) activityHours(ctx context.Context, from, to time.Time) (map[time.Time]keptHour, error) {
	rows, err := db.pool.Query(ctx, `SELECT hour, sent, delivered, hard_bounces, soft_bounces, complaints, unsubscribes,
			human_opens, human_clicks, computed_at
		FROM activity_hours WHERE hour >= $1 AND hour < $2`, from, to)
	if err != nil {
		return nil, fmt.Errorf("activity hours: %w", err)
	}
	out := map[time.Time]keptHour{}
	var k keptHour
	_, err = pgx.ForEachRow(rows, []any{&k.Start, &k.Sent, &k.Delivered, &k.HardBounces, &k.SoftBounces, &k.Complaints,
		&k.Unsubscribes, &k.HumanOpens, &k.HumanClicks, &k.at}, func() error {
		out[k.Start.UTC()] = k
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("activity hours: %w", err)
	}
	return out, nil
}

// keepActivityHours keeps the counts of the hours that are over by now.
// Two views counting at once both write; the later counts stand.
func (db *DB) keepActivityHours(ctx context.Context, hours []nurture.ActivityBucket, now time.Time) error {
	var (
		starts                                   []time.Time
		sent, delivered, hard, soft, compl, unsb []int64
		opens, clicks                            []int64
	)
	for _, h := range hours {
		if h.Start.Add(time.Hour).After(now) {
			continue
		}
		starts = append(starts, h.Start)
		sent, delivered = append(sent, h.Sent), append(delivered, h.Delivered)
		hard, soft, compl = append(hard, h.HardBounces), append(soft, h.SoftBounces), append(compl, h.Complaints)
		unsb, opens, clicks = append(unsb, h.Unsubscribes), append(opens, h.HumanOpens), append(clicks, h.HumanClicks)
	}
	if len(starts) == 0 {
		return nil
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO activity_hours (hour, sent, delivered, hard_bounces, soft_bounces, complaints,
			unsubscribes, human_opens, human_clicks, computed_at)
		SELECT h.*, $10 FROM unnest($1::timestamptz[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
			$7::bigint[], $8::bigint[], $9::bigint[]) AS h
		ON CONFLICT (hour) DO UPDATE SET sent = excluded.sent, delivered = excluded.delivered,
			hard_bounces = excluded.hard_bounces, soft_bounces = excluded.soft_bounces, complaints = excluded.complaints,
			unsubscribes = excluded.unsubscribes, human_opens = excluded.human_opens, human_clicks = excluded.human_clicks,
			computed_at = excluded.computed_at`,
		starts, sent, delivered, hard, soft, compl, unsb, opens, clicks, now)
	if err != nil {
		return fmt.Errorf("keep activity hours: %w", err)
	}
	return nil
}

// countActivity counts n buckets of step from from on from the raw rows.
// Every figure is counted where it happened, independently of where the
// range starts, so that counts of separate ranges add up (this is why an
// unsubscribe or a hit counts each time, not each person or email once).
//
// Four statements in one round trip, each a range scan on an indexed time
// column over [from, from+n*step) grouped by bucket (date_bin); the cost
// grows with what happened in the range, not with the number of contacts
// or with older mail:
//   - sends: messages_sent_at_idx (00027), then the row for its status
//     (delivered is status sent: a reported bounce moves it to bounced).
//     One index entry and one row read per email sent in the range: the
//     largest of the four (measured: 2 million sends, 4 s; 64,000, 0.1 s).
//   - bounces and complaints: bounces_received_idx (00027); one row per
//     bounce or complaint reported, a few percent of the sends at most.
//     By when we received them, not the time the provider gives, which
//     may be hours old (a webhook retried): they always land in an hour
//     not yet settled.
//   - unsubscribes: consent_records_at_idx (00027); one row per consent
//     change in the range.
//   - human opens and clicks: email_events_at_idx (00023); one row per hit
//     in the range (machine and bot hits read and left out). They are
//     counted as hits, not as distinct emails: an email opened in two
//     ranges would need a look for its earlier hits, one probe per email
//     (there is no index by message), which cost 38 s for 30 days of a
//     million emails opened.
func (db *DB) countActivity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error) {
	to := from.Add(time.Duration(n) * step)
	buckets := make([]nurture.ActivityBucket, n)
	for i := range buckets {
		buckets[i].Start = from.Add(time.Duration(i) * step)
	}
	// at returns the bucket starting at start, nil for one out of range.
	at := func(start time.Time) *nurture.ActivityBucket {
		i := int(start.Sub(from) / step)
		if i < 0 || i >= n {
			return nil
		}
		return &buckets[i]
	}
	secs := step.Seconds()
	b := &pgx.Batch{}
	b.Queue(`SELECT date_bin($3 * interval '1 second', sent_at, $1) AS bucket,
			count(*), count(*) FILTER (WHERE status = 'sent')
		FROM messages WHERE sent_at >= $1 AND sent_at < $2
		GROUP BY bucket`, from, to, secs).Query(func(rows pgx.Rows) error {
		var start time.Time
		var sent, delivered int64
		_, err := pgx.ForEachRow(rows, []any{&start, &sent, &delivered}, func() error {
			if x := at(start); x != nil {
				x.Sent, x.Delivered = sent, delivered
			}
			return nil
		})
		return err
	})
	b.Queue(`SELECT date_bin($3 * interval '1 second', received_at, $1) AS bucket,
			count(*) FILTER (WHERE type = 'hard'), count(*) FILTER (WHERE type = 'soft'),
			count(*) FILTER (WHERE type = 'complaint')
		FROM bounces WHERE received_at >= $1 AND received_at < $2
		GROUP BY bucket`, from, to, secs).Query(func(rows pgx.Rows) error {
		var start time.Time
		var hard, soft, complaints int64
		_, err := pgx.ForEachRow(rows, []any{&start, &hard, &soft, &complaints}, func() error {
			if x := at(start); x != nil {
				x.HardBounces, x.SoftBounces, x.Complaints = hard, soft, complaints
			}
			return nil
		})
		return err
	})
	// One opt-out of several topics at once (the preference page) is one
	// row per topic at the same moment: counted once.
	b.Queue(`SELECT date_bin($3 * interval '1 second', at, $1) AS bucket, count(DISTINCT (contact_id, at))
		FROM consent_records
		WHERE at >= $1 AND at < $2 AND NOT granted AND topic IS NOT NULL AND source IN ('one_click', 'preference_page')
		GROUP BY bucket`, from, to, secs).Query(func(rows pgx.Rows) error {
		var start time.Time
		var unsubscribes int64
		_, err := pgx.ForEachRow(rows, []any{&start, &unsubscribes}, func() error {
			if x := at(start); x != nil {
				x.Unsubscribes = unsubscribes
			}
			return nil
		})
		return err
	})
	b.Queue(`SELECT date_bin($3 * interval '1 second', at, $1) AS bucket,
			count(*) FILTER (WHERE kind = 'open'), count(*) FILTER (WHERE kind = 'click')
		FROM email_events WHERE at >= $1 AND at < $2 AND class = 'human'
		GROUP BY bucket`, from, to, secs).Query(func(rows pgx.Rows) error {
		var start time.Time
		var opens, clicks int64
		_, err := pgx.ForEachRow(rows, []any{&start, &opens, &clicks}, func() error {
			if x := at(start); x != nil {
				x.HumanOpens, x.HumanClicks = opens, clicks
			}
			return nil
		})
		return err
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("count activity: %w", err)
	}
	return buckets, nil
}
