package postgres

import (
	"context"
	"fmt"
	"slices"

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

// SetPreferences replaces the topics a contact has opted out of, as an
// admin call (source api) would: the topics in optedOut are opted out of,
// those opted out of before and not in it opted in to again, in one
// ChangeConsents. From the moment it returns no queued message of
// cancelTemplates can go out; for the ones in flight, wait until InFlight
// says none is left.
func (db *DB) SetPreferences(ctx context.Context, contactID int64, optedOut []nurture.Topic, cancelTemplates []string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT topic FROM topic_optouts WHERE contact_id = $1 ORDER BY topic FOR UPDATE`, contactID)
		if err != nil {
			return fmt.Errorf("set preferences: %w", err)
		}
		current, err := pgx.CollectRows(rows, pgx.RowTo[nurture.Topic])
		if err != nil {
			return fmt.Errorf("set preferences: %w", err)
		}
		var back []nurture.Topic
		for _, t := range current {
			if !slices.Contains(optedOut, t) {
				back = append(back, t)
			}
		}
		return changeConsents(ctx, tx, db.ErasureKey, nurture.ConsentChange{ContactID: contactID, OptOut: optedOut, OptIn: back,
			Source: nurture.ConsentAPI, CancelTemplates: cancelTemplates})
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
