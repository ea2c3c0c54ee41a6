package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const messageColumns = `id, dedupe_key, contact_id, template, subject, topic, queue, status, attempts,
	send_at, coalesce(sent_at, 'epoch'), last_error, created_at, region`

const messageSelect = `SELECT ` + messageColumns + ` FROM messages`

func scanMessage(row pgx.Row) (*nurture.Message, error) {
	m := &nurture.Message{}
	err := row.Scan(&m.ID, &m.DedupeKey, &m.ContactID, &m.Template, &m.Subject, &m.Topic, &m.Queue, &m.Status,
		&m.Attempts, &m.SendAt, &m.SentAt, &m.LastError, &m.CreatedAt, &m.Region)
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
// The message is stamped with its contact's region, as every creator of
// messages does.
func insertMessage(ctx context.Context, tx pgx.Tx, d nurture.Message) (m *nurture.Message, ok bool, err error) {
	if d.Queue == "" {
		d.Queue = "default"
	}
	m, err = scanMessage(tx.QueryRow(ctx, `
		INSERT INTO messages (dedupe_key, contact_id, template, queue, send_at, enqueued_at, subject, region)
		VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce((SELECT home_region FROM contacts WHERE id = $2), ''))
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING `+messageColumns,
		d.DedupeKey, d.ContactID, d.Template, d.Queue, d.SendAt, nullTime(d.EnqueuedAt), d.Subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert message: %w", err)
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

// ClaimMessages takes the messages for one delivery attempt, under the
// attempt's claim id: it moves those that may be sent now to sending,
// counts the attempt and holds them for lease by the database's clock, all
// in one statement. The others come back in rest, as they stand: final
// (sent by an earlier attempt, skipped, ...) or held by another attempt.
// Unknown ids are left out.
//
// The lease is measured by PostgreSQL's clock, not the caller's, so that
// workers on machines whose clocks disagree still agree on when a lease has
// lapsed. A lapsed claim is not taken over at once: its holder may be alive
// and only cut off (a network cut, a database restart: the database's
// clock runs on while no holder can renew), with emails sent and their
// outcomes about to be written. So the first attempt to find a claim
// lapsed gives its holder one more lease from that moment (lapse_seen_at,
// migration 00032) and leaves the row in rest; the row is taken over only
// if that lease lapses too. A holder that can reach the database again
// renews its claim or records its outcomes well within it.
//
// A claim changes no indexed column (migration 00025), so PostgreSQL
// writes it as a HOT update, and it writes no history: the outcome's line
// tells how the attempt ended, and the attempts column how many there
// were. Only an attempt that never ended (its claim lapsed twice: the
// worker died or lost the database for good) gets its line here, when the
// row is taken over.
func (db *DB) ClaimMessages(ctx context.Context, ids []int64, claim int64, lease time.Duration) (claimed, rest []nurture.Message, err error) {
	rows, err := db.pool.Query(ctx, `
		WITH lapsed AS (
			SELECT id, attempts FROM messages WHERE id = ANY($1) AND status = 'sending' AND locked_until < now()
		), reprieved AS (
			UPDATE messages SET lapse_seen_at = now(), locked_until = now() + $3 * interval '1 microsecond'
			WHERE id = ANY($1) AND status = 'sending' AND locked_until < now() AND lapse_seen_at IS NULL
		), claimed AS (
			UPDATE messages SET status = 'sending', attempts = attempts + 1, claim_id = $2, lapse_seen_at = NULL,
				locked_until = now() + $3 * interval '1 microsecond', updated_at = now()
			WHERE id = ANY($1) AND (status IN ('queued', 'deferred')
				OR (status = 'sending' AND locked_until < now() AND lapse_seen_at IS NOT NULL))
			RETURNING `+messageColumns+`
		), history AS (
			INSERT INTO message_status_history (message_id, status, detail)
			SELECT l.id, 'sending', format('attempt %s lapsed: its claim was not renewed', l.attempts)
			FROM lapsed l JOIN claimed c ON c.id = l.id
		)
		SELECT * FROM claimed`, ids, claim, lease.Microseconds())
	if err != nil {
		return nil, nil, fmt.Errorf("claim messages: %w", err)
	}
	claimed, err = collectMessages(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("claim messages: %w", err)
	}
	// RETURNING gives the rows in the table's order, which reused space
	// makes arbitrary: a batch goes out in the order its messages were
	// created.
	slices.SortFunc(claimed, func(a, b nurture.Message) int { return cmp.Compare(a.ID, b.ID) })
	if len(claimed) == len(ids) {
		return claimed, nil, nil
	}
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
	rows, err = db.pool.Query(ctx, messageSelect+` WHERE id = ANY($1)`, others)
	if err != nil {
		return nil, nil, fmt.Errorf("claim messages: %w", err)
	}
	if rest, err = collectMessages(rows); err != nil {
		return nil, nil, fmt.Errorf("claim messages: %w", err)
	}
	return claimed, rest, nil
}

// RenewClaims extends the lease of the messages ids still held under claim
// to lease from now, by the database's clock, and returns those ids. An id
// missing from the answer is no longer the claim's: it was settled, taken
// over after a lapse, or deleted with its contact.
func (db *DB) RenewClaims(ctx context.Context, claim int64, ids []int64, lease time.Duration) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `UPDATE messages SET locked_until = now() + $3 * interval '1 microsecond', lapse_seen_at = NULL
		WHERE id = ANY($1) AND claim_id = $2 AND status = 'sending' RETURNING id`, ids, claim, lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	return held, nil
}

// CheckClaims reads, without writing, which of the messages ids are no
// longer held under claim (lost) and which are held but were cancelled by
// an unsubscribe or an erasure since they were claimed.
func (db *DB) CheckClaims(ctx context.Context, claim int64, ids []int64) (lost, cancelled []int64, err error) {
	rows, err := db.pool.Query(ctx, `SELECT id, claim_id IS NOT DISTINCT FROM $2 AND status = 'sending', cancel_requested
		FROM messages WHERE id = ANY($1)`, ids, claim)
	if err != nil {
		return nil, nil, fmt.Errorf("check claims: %w", err)
	}
	seen := make(map[int64]bool, len(ids))
	var (
		id         int64
		held, stop bool
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &held, &stop}, func() error {
		seen[id] = true
		switch {
		case !held:
			lost = append(lost, id)
		case stop:
			cancelled = append(cancelled, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("check claims: %w", err)
	}
	for _, id := range ids {
		if !seen[id] {
			lost = append(lost, id) // deleted with its contact
		}
	}
	return lost, cancelled, nil
}

// RecordOutcomes records the outcomes of delivery attempts in one
// statement: sent, deferred (retry later), bounced, skipped, failed, or
// queued again (an attempt that stopped before the relay had the message,
// which gives its attempt back), each but a send with a line of history (a
// send is on the row itself, as sent_at: see MessageHistory). Only rows
// still held under the outcome's claim are written; the others (the claim
// lapsed and another attempt took the row over) are left alone and not
// counted. It returns how many outcomes were recorded.
func (db *DB) RecordOutcomes(ctx context.Context, outcomes []nurture.Outcome) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	n := len(outcomes)
	ids, claims := make([]int64, n), make([]int64, n)
	statuses, details, topics := make([]string, n), make([]string, n), make([]string, n)
	ats := make([]time.Time, n)
	for i, o := range outcomes {
		ids[i], claims[i], statuses[i], details[i], topics[i], ats[i] = o.MessageID, o.Claim, string(o.Status), o.Detail, string(o.Topic), o.At
		if o.At.IsZero() {
			ats[i] = db.Clock.Now()
		}
	}
	// The rows are locked in id order first (the materialised "locked"),
	// as every writer of many message rows does, so that two of them never
	// wait for each other; one statement, one round trip per group commit.
	var recorded int
	err := db.pool.QueryRow(ctx, `
		WITH o AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
				AS o(id, claim, status, detail, topic, at)
		), locked AS MATERIALIZED (
			SELECT id FROM messages WHERE id = ANY($1) ORDER BY id FOR UPDATE
		), done AS (
			UPDATE messages m SET status = o.status, locked_until = NULL, lapse_seen_at = NULL, updated_at = now(),
				sent_at = CASE WHEN o.status = 'sent' THEN o.at ELSE m.sent_at END,
				last_error = CASE WHEN o.status IN ('deferred', 'bounced', 'failed') THEN o.detail ELSE m.last_error END,
				attempts = CASE WHEN o.status = 'queued' THEN greatest(m.attempts - 1, 0) ELSE m.attempts END,
				topic = CASE WHEN o.topic <> '' THEN o.topic ELSE m.topic END
			FROM o JOIN locked l ON l.id = o.id
			WHERE m.id = o.id AND m.claim_id = o.claim AND m.status = 'sending'
			RETURNING m.id, o.status, o.detail
		), history AS (
			INSERT INTO message_status_history (message_id, status, detail) SELECT id, status, detail FROM done WHERE status <> 'sent'
		)
		SELECT count(*) FROM done`,
		ids, claims, statuses, details, topics, ats).Scan(&recorded)
	if err != nil {
		return 0, fmt.Errorf("record outcomes: %w", err)
	}
	return recorded, nil
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
//
// The history table holds only what the message's row cannot tell: a
// message's creation (created_at) and its send (sent_at) are read from the
// row, which saves two rows for each email (issue 16); every other change
// (a deferral, a skip, a bounce, an attempt handed back or lapsed) has its
// line. Messages created before that change have the two lines stored too,
// and are not given them twice.
func (db *DB) MessageHistory(ctx context.Context, id int64) ([]nurture.StatusChange, error) {
	var created, sent time.Time
	err := db.pool.QueryRow(ctx, `SELECT created_at, coalesce(sent_at, 'epoch') FROM messages WHERE id = $1`, id).Scan(&created, &sent)
	if err != nil {
		return nil, notFound(err, "message")
	}
	rows, err := db.pool.Query(ctx, `SELECT status, detail, at FROM message_status_history WHERE message_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("message history: %w", err)
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.StatusChange, error) {
		var c nurture.StatusChange
		err := r.Scan(&c.Status, &c.Detail, &c.At)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("message history: %w", err)
	}
	return withDerivedChanges(stored, created, zeroEpoch(sent)), nil
}

// withDerivedChanges adds to a message's stored history the lines its row
// tells: queued when it was created, unless the history begins with it, and
// sent when it was sent (a zero sent: never), unless a line says so, placed
// by its time.
func withDerivedChanges(stored []nurture.StatusChange, created, sent time.Time) []nurture.StatusChange {
	out := make([]nurture.StatusChange, 0, len(stored)+2)
	// A stored creation line (older messages) is queued with no detail; a
	// queued line with one (a move to another region) came later.
	if len(stored) == 0 || stored[0].Status != nurture.StatusQueued || stored[0].Detail != "" {
		out = append(out, nurture.StatusChange{Status: nurture.StatusQueued, At: created})
	}
	out = append(out, stored...)
	if sent.IsZero() || slices.ContainsFunc(stored, func(c nurture.StatusChange) bool { return c.Status == nurture.StatusSent }) {
		return out
	}
	at := len(out)
	for i, c := range out {
		if i > 0 && c.At.After(sent) {
			at = i
			break
		}
	}
	return slices.Insert(out, at, nurture.StatusChange{Status: nurture.StatusSent, At: sent})
}

// DueMessages returns up to limit messages that should be in the task queue
// by now but may not be: due by dueBefore, not final, and either not handed
// to the queue since staleBefore (or never) or held by an attempt whose
// lease lapsed (its worker died or lost the database: it sends no more)
// and not enqueued since.
// Messages held by a live attempt are left alone. The caller enqueues them
// and calls MarkEnqueued.
func (db *DB) DueMessages(ctx context.Context, dueBefore, staleBefore time.Time, limit int) ([]nurture.Message, error) {
	rows, err := db.pool.Query(ctx, messageSelect+`
		WHERE pending AND send_at <= $1
			AND (enqueued_at IS NULL OR enqueued_at < $2
				OR (status = 'sending' AND locked_until < now() AND enqueued_at < locked_until))
			AND (status <> 'sending' OR locked_until < now())
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
	// Rows locked by another writer (an outcome being recorded, a claim)
	// are skipped rather than waited for, in id order: waiting could
	// deadlock with a writer that locks the same rows in another order,
	// and a skipped row is either becoming final or under a live claim.
	_, err := db.pool.Exec(ctx, `UPDATE messages m SET enqueued_at = $2
		FROM (SELECT id FROM messages WHERE id = ANY($1) ORDER BY id FOR UPDATE SKIP LOCKED) l
		WHERE m.id = l.id`, ids, at)
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
		WHERE contact_id = ANY($1) AND sent_at >= $2 AND status = 'sent' AND topic <> 'transactional'
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
