package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// RecordEvent stores ev unless an event with the same MessageID exists, and
// in the same transaction creates the messages it triggers. Replaying a call
// therefore changes nothing: no second event, no second message. It returns
// whether the event was new and the messages that were created (a draft whose
// dedupe key exists already is not created again).
func (db *DB) RecordEvent(ctx context.Context, ev *nurture.Event, drafts []nurture.Message) (inserted bool, created []nurture.Message, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		props := ev.Properties
		if props == nil {
			props = map[string]any{}
		}
		var contactID any
		if ev.ContactID != 0 {
			contactID = ev.ContactID
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO events (contact_id, message_id, type, name, properties, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (message_id) DO NOTHING
			RETURNING id, received_at`,
			contactID, ev.MessageID, ev.Type, ev.Name, props, ev.OccurredAt,
		).Scan(&ev.ID, &ev.ReceivedAt)
		if err == pgx.ErrNoRows {
			return nil // seen before
		}
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		inserted = true
		for _, d := range drafts {
			m, ok, err := insertMessage(ctx, tx, d)
			if err != nil {
				return err
			}
			if ok {
				created = append(created, *m)
			}
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	return inserted, created, nil
}
