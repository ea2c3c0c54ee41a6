package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// OptOuts returns, for each of the contacts that opted out of any topic,
// the topics they no longer want.
func (db *DB) OptOuts(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error) {
	rows, err := db.pool.Query(ctx, `SELECT contact_id, topic FROM topic_optouts WHERE contact_id = ANY($1)`, contactIDs)
	if err != nil {
		return nil, fmt.Errorf("opt-outs: %w", err)
	}
	out := map[int64][]nurture.Topic{}
	var id int64
	var topic nurture.Topic
	_, err = pgx.ForEachRow(rows, []any{&id, &topic}, func() error {
		out[id] = append(out[id], topic)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opt-outs: %w", err)
	}
	return out, nil
}

// SetPreferences replaces the topics a contact has opted out of and, in
// the same transaction, skips their queued messages of those topics (by
// template) and marks those a worker holds as cancelled. From the moment it
// returns no queued one can go out; for the ones in flight, wait until
// InFlight says none is left.
func (db *DB) SetPreferences(ctx context.Context, contactID int64, optedOut []nurture.Topic, cancelTemplates []string) error {
	topics := make([]string, len(optedOut))
	for i, t := range optedOut {
		topics[i] = string(t)
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM topic_optouts WHERE contact_id = $1 AND NOT (topic = ANY($2))`, contactID, topics); err != nil {
			return fmt.Errorf("set preferences: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO topic_optouts (contact_id, topic) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, contactID, topics); err != nil {
			return fmt.Errorf("set preferences: %w", err)
		}
		// The contact's enrollments in sequences of those topics end at
		// their next decision: the sequence engine wakes them.
		if _, err := tx.Exec(ctx, `INSERT INTO sequence_signals (contact_id, kind, name, at)
			SELECT DISTINCT $1::bigint, 'topic', topic, now() FROM enrollments
			WHERE contact_id = $1 AND status = 'active' AND topic = ANY($2)`, contactID, topics); err != nil {
			return fmt.Errorf("signal sequences: %w", err)
		}
		if len(cancelTemplates) == 0 {
			return nil
		}
		// Those in a worker's hands are marked: the worker looks for the
		// mark every second and skips them unless already on their way.
		if _, err := tx.Exec(ctx, `UPDATE messages SET cancel_requested = true
			WHERE contact_id = $1 AND status = 'sending' AND template = ANY($2)`, contactID, cancelTemplates); err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		rows, err := tx.Query(ctx, `UPDATE messages SET status = 'skipped', locked_until = NULL, updated_at = now()
			WHERE contact_id = $1 AND status IN ('queued', 'deferred') AND template = ANY($2) RETURNING id`, contactID, cancelTemplates)
		if err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		outcomes := make([]nurture.Outcome, len(ids))
		for i, id := range ids {
			outcomes[i] = nurture.Outcome{MessageID: id, Status: nurture.StatusSkipped, Detail: "unsubscribed"}
		}
		return addHistory(ctx, tx, outcomes)
	})
}

// InFlight counts the contact's messages of the templates that a worker
// still holds under a live claim although they were cancelled: emails that
// may still leave. An unsubscribe answers once there are none, so that
// nothing of the topic is sent after its answer.
func (db *DB) InFlight(ctx context.Context, contactID int64, templates []string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1 AND template = ANY($2)
		AND status = 'sending' AND cancel_requested AND locked_until > now()`, contactID, templates).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("messages in flight: %w", err)
	}
	return n, nil
}
