package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const messageSelect = `SELECT id, dedupe_key, contact_id, template, queue, status, attempts,
	send_at, coalesce(sent_at, 'epoch'), last_error, created_at FROM messages`

func scanMessage(row pgx.Row) (*nurture.Message, error) {
	m := &nurture.Message{}
	err := row.Scan(&m.ID, &m.DedupeKey, &m.ContactID, &m.Template, &m.Queue, &m.Status,
		&m.Attempts, &m.SendAt, &m.SentAt, &m.LastError, &m.CreatedAt)
	if err != nil {
		return nil, err
	}
	if m.SentAt.Equal(time.Unix(0, 0)) {
		m.SentAt = time.Time{}
	}
	return m, nil
}

// insertMessage creates d unless its dedupe key exists; ok reports which.
func insertMessage(ctx context.Context, tx pgx.Tx, d nurture.Message) (m *nurture.Message, ok bool, err error) {
	if d.Queue == "" {
		d.Queue = "default"
	}
	m, err = scanMessage(tx.QueryRow(ctx, `
		INSERT INTO messages (dedupe_key, contact_id, template, queue, send_at, enqueued_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id, dedupe_key, contact_id, template, queue, status, attempts,
			send_at, coalesce(sent_at, 'epoch'), last_error, created_at`,
		d.DedupeKey, d.ContactID, d.Template, d.Queue, d.SendAt, nullTime(d.EnqueuedAt)))
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert message: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO message_status_history (message_id, status) VALUES ($1, 'queued')`, m.ID); err != nil {
		return nil, false, fmt.Errorf("insert message history: %w", err)
	}
	return m, true, nil
}

// CreateMessage creates d unless a message with its dedupe key exists, and
// returns the message with that key either way; created says which.
func (db *DB) CreateMessage(ctx context.Context, d nurture.Message) (m *nurture.Message, created bool, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		m, created, err = insertMessage(ctx, tx, d)
		if err != nil || created {
			return err
		}
		m, err = scanMessage(tx.QueryRow(ctx, messageSelect+" WHERE dedupe_key = $1", d.DedupeKey))
		return err
	})
	return m, created, err
}

// Message returns the message with the given id.
func (db *DB) Message(ctx context.Context, id int64) (*nurture.Message, error) {
	m, err := scanMessage(db.pool.QueryRow(ctx, messageSelect+" WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "message")
	}
	return m, nil
}

// ClaimMessage takes the message for one delivery attempt: it moves it to
// sending, counts the attempt and holds it until now+lease. It fails with
// ok=false, and returns the message as it stands, when the message is final
// or another attempt holds it.
func (db *DB) ClaimMessage(ctx context.Context, id int64, now time.Time, lease time.Duration) (m *nurture.Message, ok bool, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		m, err = scanMessage(tx.QueryRow(ctx, `
			UPDATE messages SET status = 'sending', attempts = attempts + 1,
				locked_until = $2, updated_at = now()
			WHERE id = $1 AND (status IN ('queued', 'deferred')
				OR (status = 'sending' AND locked_until < $3))
			RETURNING id, dedupe_key, contact_id, template, queue, status, attempts,
				send_at, coalesce(sent_at, 'epoch'), last_error, created_at`,
			id, now.Add(lease), now))
		if err == pgx.ErrNoRows {
			m, err = scanMessage(tx.QueryRow(ctx, messageSelect+" WHERE id = $1", id))
			return notFound(err, "message")
		}
		if err != nil {
			return fmt.Errorf("claim message: %w", err)
		}
		ok = true
		return addHistory(ctx, tx, id, nurture.StatusSending, fmt.Sprintf("attempt %d", m.Attempts))
	})
	return m, ok, err
}

// FinishMessage records the outcome of an attempt that holds the claim:
// sent, deferred (retry later), bounced, skipped or failed, with a detail
// for the history. A message going back to queued (an attempt that was
// interrupted before it reached the relay) gives back its attempt.
func (db *DB) FinishMessage(ctx context.Context, id int64, status nurture.MessageStatus, detail string, now time.Time) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE messages SET status = $2, locked_until = NULL, updated_at = now(),
				sent_at = CASE WHEN $2 = 'sent' THEN $3::timestamptz ELSE sent_at END,
				last_error = CASE WHEN $2 IN ('deferred', 'bounced', 'failed') THEN $4 ELSE last_error END,
				attempts = CASE WHEN $2 = 'queued' THEN greatest(attempts - 1, 0) ELSE attempts END
			WHERE id = $1 AND status = 'sending'`,
			id, status, now, detail)
		if err != nil {
			return fmt.Errorf("finish message: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nurture.Errorf(nurture.CodeConflict, "message %d is not being sent", id)
		}
		return addHistory(ctx, tx, id, status, detail)
	})
}

func addHistory(ctx context.Context, tx pgx.Tx, id int64, status nurture.MessageStatus, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO message_status_history (message_id, status, detail) VALUES ($1, $2, $3)`,
		id, status, detail)
	if err != nil {
		return fmt.Errorf("insert message history: %w", err)
	}
	return nil
}

// MessageHistory returns the status changes of a message, oldest first.
func (db *DB) MessageHistory(ctx context.Context, id int64) ([]nurture.StatusChange, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, detail, at FROM message_status_history WHERE message_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("message history: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.StatusChange, error) {
		var c nurture.StatusChange
		err := r.Scan(&c.Status, &c.Detail, &c.At)
		return c, err
	})
}

// DueMessages returns up to limit messages that should be in the task queue
// by now but may not be: due by dueBefore, not final, and not handed to the
// queue since staleBefore (or never). Messages held by a live attempt are left
// alone. The caller enqueues them and calls MarkEnqueued.
func (db *DB) DueMessages(ctx context.Context, dueBefore, staleBefore time.Time, limit int) ([]nurture.Message, error) {
	rows, err := db.pool.Query(ctx, messageSelect+`
		WHERE status IN ('queued', 'deferred', 'sending') AND send_at <= $1
			AND (enqueued_at IS NULL OR enqueued_at < $2)
			AND (status <> 'sending' OR locked_until < $2)
		ORDER BY send_at LIMIT $3`, dueBefore, staleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Message, error) {
		m, err := scanMessage(r)
		if err != nil {
			return nurture.Message{}, err
		}
		return *m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	return ms, nil
}

// MarkEnqueued records that the messages were handed to the task queue at.
func (db *DB) MarkEnqueued(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.pool.Exec(ctx, `UPDATE messages SET enqueued_at = $2 WHERE id = ANY($1)`, ids, at)
	if err != nil {
		return fmt.Errorf("mark enqueued: %w", err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
