package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Activity counts what happened to the mail in n buckets of step from
// from on (the console's overview), each bucket's figures as
// nurture.ActivityBucket says. The buckets start at from + i*step; a
// bucket with nothing in it is all zeros.
//
// Four statements in one round trip, each a range scan on an indexed time
// column over [from, from+n*step) grouped by bucket (date_bin), so the
// cost grows with what happened in the period, not with the number of
// contacts or with older mail:
//   - sends: messages_sent_at_idx (00027), then the row for its status
//     (delivered is status sent: a reported bounce moves it to bounced).
//     One index entry and one row read per email sent in the period: the
//     largest of the four; 30 days of a million emails is a million rows.
//   - bounces and complaints: bounces_at_idx (00027); one row per bounce or
//     complaint reported, a few percent of the sends at most.
//   - unsubscribes: consent_records_at_idx (00027); one row per consent
//     change in the period, grouped by contact (a hash aggregate).
//   - human opens and clicks: email_events_at_idx (00023); one row per hit
//     in the period (machine and bot hits read and left out), grouped by
//     email.
func (db *DB) Activity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error) {
	if step < time.Second || n < 1 {
		return nil, nurture.Errorf(nurture.CodeInvalid, "activity needs a step of at least a second and a bucket or more, not %s and %d", step, n)
	}
	from = from.UTC()
	to := from.Add(time.Duration(n) * step)
	buckets := make([]nurture.ActivityBucket, n)
	for i := range buckets {
		buckets[i].Start = from.Add(time.Duration(i) * step)
	}
	// at returns the bucket starting at start, nil for one out of range
	// (an hour that date_bin and Go cannot disagree on: both count from from).
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
	b.Queue(`SELECT date_bin($3 * interval '1 second', at, $1) AS bucket,
			count(*) FILTER (WHERE type = 'hard'), count(*) FILTER (WHERE type = 'soft'),
			count(*) FILTER (WHERE type = 'complaint')
		FROM bounces WHERE at >= $1 AND at < $2
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
	b.Queue(`SELECT date_bin($3 * interval '1 second', first, $1) AS bucket, count(*)
		FROM (SELECT min(at) AS first FROM consent_records
			WHERE at >= $1 AND at < $2 AND NOT granted AND topic IS NOT NULL
				AND source IN ('one_click', 'preference_page')
			GROUP BY contact_id) f
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
	b.Queue(`SELECT date_bin($3 * interval '1 second', x.at, $1) AS bucket,
			count(*) FILTER (WHERE x.kind = 'open'), count(*) FILTER (WHERE x.kind = 'click')
		FROM (SELECT min(at) AS opened, min(at) FILTER (WHERE kind = 'click') AS clicked
			FROM email_events WHERE at >= $1 AND at < $2 AND class = 'human'
			GROUP BY message_id) f
		CROSS JOIN LATERAL (VALUES ('open', f.opened), ('click', f.clicked)) AS x (kind, at)
		WHERE x.at IS NOT NULL
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
		return nil, fmt.Errorf("activity: %w", err)
	}
	return buckets, nil
}
