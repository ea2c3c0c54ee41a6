package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Figures counts the engine's work now (nurture.Figures), in one round
// trip: messages not yet final by status and topic, enrollments and
// campaigns by status, the progress of the campaigns sending, and how long
// the oldest due message that was never queued has waited. Pending messages
// are found through the due index (only they are in it); enrollments are
// counted over the whole table (about 0.1 s per 200,000 here): monitoring
// asks at most every few seconds (its collector caches them), and a slow
// answer is cut off by ctx.
func (db *DB) Figures(ctx context.Context) (*nurture.Figures, error) {
	f := &nurture.Figures{Enrollments: map[nurture.EnrollmentStatus]int64{}, Campaigns: map[string]int64{}}
	b := &pgx.Batch{}
	b.Queue(`SELECT status, topic, count(*) FROM messages WHERE pending GROUP BY status, topic`).Query(func(rows pgx.Rows) error {
		var m nurture.MessageFigure
		_, err := pgx.ForEachRow(rows, []any{&m.Status, &m.Topic, &m.Count}, func() error {
			f.Pending = append(f.Pending, m)
			return nil
		})
		return err
	})
	b.Queue(`SELECT status, count(*) FROM enrollments GROUP BY status`).Query(func(rows pgx.Rows) error {
		var status nurture.EnrollmentStatus
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
			f.Enrollments[status] = n
			return nil
		})
		return err
	})
	b.Queue(`SELECT status, count(*) FROM campaigns GROUP BY status`).Query(func(rows pgx.Rows) error {
		var status string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
			f.Campaigns[status] = n
			return nil
		})
		return err
	})
	b.Queue(`SELECT c.id,
			coalesce((SELECT sum(l.audience) FROM campaign_lanes l WHERE l.campaign_id = c.id), 0)::bigint,
			(SELECT count(*) FROM messages m WHERE m.campaign_id = c.id AND m.status = 'sent')
		FROM campaigns c WHERE c.status = 'sending' ORDER BY c.id`).Query(func(rows pgx.Rows) error {
		var p nurture.CampaignProgress
		_, err := pgx.ForEachRow(rows, []any{&p.CampaignID, &p.Audience, &p.Sent}, func() error {
			f.Sending = append(f.Sending, p)
			return nil
		})
		return err
	})
	// The due index (send_at WHERE pending) finds the oldest first.
	b.Queue(`SELECT coalesce(extract(epoch FROM now() - min(send_at)), 0)::float8
		FROM messages WHERE pending AND send_at <= now() AND enqueued_at IS NULL`).QueryRow(func(row pgx.Row) error {
		var seconds float64
		if err := row.Scan(&seconds); err != nil {
			return err
		}
		f.OldestDue = time.Duration(max(seconds, 0) * float64(time.Second))
		return nil
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	return f, nil
}
