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
// template), so that from the moment it returns none of them can go out:
// the send path checks the opt-outs again at the last moment for the ones
// already in flight.
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
		if len(cancelTemplates) == 0 {
			return nil
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
