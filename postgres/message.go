package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const messageColumns = `id, dedupe_key, contact_id, template, topic, queue, status, attempts,
	send_at, coalesce(sent_at, 'epoch'), last_error, created_at`

const messageSelect = `SELECT ` + messageColumns + ` FROM messages`

func scanMessage(row pgx.Row) (*nurture.Message, error) {
	m := &nurture.Message{}
	err := row.Scan(&m.ID, &m.DedupeKey, &m.ContactID, &m.Template, &m.Topic, &m.Queue, &m.Status,
		&m.Attempts, &m.SendAt, &m.SentAt, &m.LastError, &m.CreatedAt)
	if err != nil {
		return nil, err
	}
	m.SentAt = zeroEpoch(m.SentAt)
	return m, nil
}

func collectMessages(rows pgx.Rows) ([]nurture.Message, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Message, error) {
		m, err := scanMessage(r)
		if err != nil {
			return nurture.Message{}, err
		}
		return *m, nil
	})
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
		RETURNING `+messageColumns,
		d.DedupeKey, d.ContactID, d.Template, d.Queue, d.SendAt, nullTime(d.EnqueuedAt)))
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert message: %w", err)
	}
	if err := addHistory(ctx, tx, []nurture.Outcome{{MessageID: m.ID, Status: nurture.StatusQueued}}); err != nil {
		return nil, false, err
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

// ClaimMessages takes the messages for one delivery attempt each: it moves
// those that may be sent now to sending, counts the attempt and holds them
// until now+lease, all in one statement. The others come back in rest, as
// they stand: final (sent by an earlier attempt, skipped, ...) or held by
// another attempt whose lease has not run out. Unknown ids are left out.
func (db *DB) ClaimMessages(ctx context.Context, ids []int64, now time.Time, lease time.Duration) (claimed, rest []nurture.Message, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE messages SET status = 'sending', attempts = attempts + 1,
				locked_until = $2, updated_at = now()
			WHERE id = ANY($1) AND (status IN ('queued', 'deferred')
				OR (status = 'sending' AND locked_until < $3))
			RETURNING `+messageColumns, ids, now.Add(lease), now)
		if err != nil {
			return fmt.Errorf("claim messages: %w", err)
		}
		claimed, err = collectMessages(rows)
		if err != nil {
			return fmt.Errorf("claim messages: %w", err)
		}
		if len(claimed) < len(ids) {
			taken := make(map[int64]bool, len(claimed))
			for _, m := range claimed {
				taken[m.ID] = true
			}
			var others []int64
			for _, id := range ids {
				if !taken[id] {
					others = append(others, id)
				}
			}
			rows, err := tx.Query(ctx, messageSelect+` WHERE id = ANY($1)`, others)
			if err != nil {
				return fmt.Errorf("claim messages: %w", err)
			}
			if rest, err = collectMessages(rows); err != nil {
				return fmt.Errorf("claim messages: %w", err)
			}
		}
		outcomes := make([]nurture.Outcome, len(claimed))
		for i, m := range claimed {
			outcomes[i] = nurture.Outcome{MessageID: m.ID, Status: nurture.StatusSending, Detail: fmt.Sprintf("attempt %d", m.Attempts)}
		}
		return addHistory(ctx, tx, outcomes)
	})
	return claimed, rest, err
}

// FinishMessages records the outcomes of attempts that hold their claim, in
// one statement: sent, deferred (retry later), bounced, skipped or failed,
// with a detail for the history. A message going back to queued (an attempt
// interrupted before it reached the relay) gives back its attempt. An
// outcome for a message that is not being sent is a conflict, and nothing
// is recorded.
func (db *DB) FinishMessages(ctx context.Context, outcomes []nurture.Outcome, now time.Time) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids, statuses, details, topics := make([]int64, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], details[i], topics[i] = o.MessageID, string(o.Status), o.Detail, string(o.Topic)
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE messages m SET status = o.status, locked_until = NULL, updated_at = now(),
				sent_at = CASE WHEN o.status = 'sent' THEN $5::timestamptz ELSE m.sent_at END,
				last_error = CASE WHEN o.status IN ('deferred', 'bounced', 'failed') THEN o.detail ELSE m.last_error END,
				attempts = CASE WHEN o.status = 'queued' THEN greatest(m.attempts - 1, 0) ELSE m.attempts END,
				topic = CASE WHEN o.topic <> '' THEN o.topic ELSE m.topic END
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS o(id, status, detail, topic)
			WHERE m.id = o.id AND m.status = 'sending'`,
			ids, statuses, details, topics, now)
		if err != nil {
			return fmt.Errorf("finish messages: %w", err)
		}
		if int(tag.RowsAffected()) != len(outcomes) {
			return nurture.Errorf(nurture.CodeConflict, "%d of %d messages are not being sent", len(outcomes)-int(tag.RowsAffected()), len(outcomes))
		}
		return addHistory(ctx, tx, outcomes)
	})
}

func addHistory(ctx context.Context, tx pgx.Tx, outcomes []nurture.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids, statuses, details := make([]int64, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], details[i] = o.MessageID, string(o.Status), o.Detail
	}
	_, err := tx.Exec(ctx, `INSERT INTO message_status_history (message_id, status, detail)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`, ids, statuses, details)
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
	ms, err := collectMessages(rows)
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

// SentSince counts, per contact, the emails of other topics than
// transactional sent to them since then: what a frequency cap counts.
func (db *DB) SentSince(ctx context.Context, contactIDs []int64, since time.Time) (map[int64]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT contact_id, count(*) FROM messages
		WHERE contact_id = ANY($1) AND status = 'sent' AND sent_at >= $2 AND topic <> 'transactional'
		GROUP BY contact_id`, contactIDs, since)
	if err != nil {
		return nil, fmt.Errorf("sent since: %w", err)
	}
	out := map[int64]int{}
	var id int64
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sent since: %w", err)
	}
	return out, nil
}
