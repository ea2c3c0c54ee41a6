package postgres

import (
	"context"
	"fmt"
	"time"
)

// Retention drops whole monthly partitions (partition.go). What it deletes
// row by row is what lies outside them: the rows of the default partitions
// (months no partition was made for) and the messageIds of event_keys.

// DeleteEventsBefore deletes at most limit raw events of the default
// partition that occurred before before, the oldest first, and returns how
// many it deleted. One short statement: rows another pass is deleting are
// skipped, not waited for. What events added to (engagement,
// engagement_actions) stays.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM events_default WHERE id IN (
		SELECT id FROM events_default WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteEventKeysBefore forgets at most limit messageIds of calls received
// before before, and returns how many. A call replayed after that is
// stored again, as a new one.
func (db *DB) DeleteEventKeysBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM event_keys WHERE message_id IN (
		SELECT message_id FROM event_keys WHERE received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old event keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteHitsBefore deletes at most limit opens and clicks of the default
// partition made before before, the oldest first, and returns how many it
// deleted. In the same statement each contact's last open and click by a
// person among them are kept in its engagement summary, so that what
// Engagement reports does not change.
func (db *DB) DeleteHitsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `WITH gone AS (
			DELETE FROM email_events_default WHERE id IN (
				SELECT id FROM email_events_default WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING contact_id, kind, class, at),
		last AS (
			SELECT contact_id, max(at) FILTER (WHERE kind = 'open') AS open_at, max(at) FILTER (WHERE kind = 'click') AS click_at
			FROM gone WHERE class = 'human' GROUP BY contact_id),
		kept AS (
			INSERT INTO engagement (contact_id, last_open_at, last_click_at)
			SELECT l.contact_id, l.open_at, l.click_at FROM last l
			WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.id = l.contact_id)
			ON CONFLICT (contact_id) DO UPDATE SET
				last_open_at = greatest(engagement.last_open_at, excluded.last_open_at),
				last_click_at = greatest(engagement.last_click_at, excluded.last_click_at))
		SELECT count(*) FROM gone`, before, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("delete old hits: %w", err)
	}
	return n, nil
}
