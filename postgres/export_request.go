package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// RequestExport records that contact id asked, at at, for a copy of its
// data by email, and creates the email (template nurture.ExportTemplate,
// dedupe key nurture.ExportDedupeKey, the critical queue, due at once and
// marked enqueued at at: the caller queues it, and the reconciler does if
// that is lost). At most one request counts per nurture.ExportEvery:
// within it nothing is created and next says when the next may be made.
// Request and email are one transaction, so two requests at once make one
// email. An erased or unknown contact is not found.
func (db *DB) RequestExport(ctx context.Context, id int64, at time.Time) (m *nurture.Message, next time.Time, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// FOR SHARE: an erasure that marks the contact waits for this
		// transaction, and then skips the email it made.
		var requested time.Time
		err := tx.QueryRow(ctx, `
			WITH c AS (SELECT id FROM contacts WHERE id = $1 AND erased_at IS NULL FOR SHARE)
			INSERT INTO export_requests (contact_id, requested_at) SELECT id, $2 FROM c
			ON CONFLICT (contact_id) DO UPDATE SET requested_at = excluded.requested_at
				WHERE export_requests.requested_at <= $2::timestamptz - $3::interval
			RETURNING requested_at`, id, at, nurture.ExportEvery).Scan(&requested)
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `SELECT r.requested_at FROM export_requests r
				JOIN contacts c ON c.id = r.contact_id AND c.erased_at IS NULL
				WHERE r.contact_id = $1`, id).Scan(&requested)
			if err != nil {
				return notFound(err, "contact")
			}
			next = requested.Add(nurture.ExportEvery)
			return nil
		}
		if err != nil {
			return fmt.Errorf("record export request: %w", err)
		}
		m, _, err = insertMessage(ctx, tx, nurture.Message{DedupeKey: nurture.ExportDedupeKey(id, at), ContactID: id,
			Template: nurture.ExportTemplate, Queue: "critical", SendAt: at, EnqueuedAt: at})
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	if m == nil && next.IsZero() {
		// The key of this very second was taken: a request an hour apart
		// from the last cannot repeat it, so this is a bug, not a race.
		return nil, time.Time{}, fmt.Errorf("export request: message %s exists", nurture.ExportDedupeKey(id, at))
	}
	return m, next, nil
}
