package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const enrollmentColumns = `id, contact_id, sequence_id, version, topic, status, reason, step, visit, state,
	coalesce(next_run, 'epoch'), revision, started_at, coalesce(ended_at, 'epoch'), updated_at`

func scanEnrollment(row pgx.Row) (*nurture.Enrollment, error) {
	e := &nurture.Enrollment{}
	err := row.Scan(&e.ID, &e.ContactID, &e.Sequence, &e.Version, &e.Topic, &e.Status, &e.Reason, &e.Step, &e.Visit,
		&e.State, &e.NextRun, &e.Revision, &e.Started, &e.Ended, &e.Updated)
	if err != nil {
		return nil, err
	}
	e.NextRun, e.Ended = zeroEpoch(e.NextRun), zeroEpoch(e.Ended)
	if e.Status == nurture.EnrollmentActive && e.NextRun.IsZero() {
		e.NextRun = time.Unix(0, 0).UTC() // woken: due at once
	}
	return e, nil
}

// SaveSequenceVersions records the text of sequence versions not seen
// before; those already known keep their first sighting.
func (db *DB) SaveSequenceVersions(ctx context.Context, srcs []nurture.SequenceSource) error {
	if len(srcs) == 0 {
		return nil
	}
	ids, versions, files, texts := make([]string, len(srcs)), make([]string, len(srcs)), make([]string, len(srcs)), make([]string, len(srcs))
	for i, s := range srcs {
		ids[i], versions[i], files[i], texts[i] = s.Sequence, s.Version, s.File, string(s.Source)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO sequence_versions (sequence_id, version, file, source)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`, ids, versions, files, texts)
	if err != nil {
		return fmt.Errorf("save sequence versions: %w", err)
	}
	return nil
}

// SequenceVersion returns the text of one version of a sequence.
func (db *DB) SequenceVersion(ctx context.Context, id, version string) (*nurture.SequenceSource, error) {
	s := &nurture.SequenceSource{Sequence: id, Version: version}
	var text string
	err := db.pool.QueryRow(ctx, `SELECT file, source FROM sequence_versions WHERE sequence_id = $1 AND version = $2`,
		id, version).Scan(&s.File, &text)
	if err != nil {
		return nil, notFound(err, "sequence version")
	}
	s.Source = []byte(text)
	return s, nil
}

// Enroll enrolls e.ContactID in e.Sequence unless allow, given the
// contact's earlier enrollments in it (oldest first), says no. Concurrent
// calls for the same contact and sequence run one after the other, so the
// entry rules hold however many triggers arrive at once. It returns the
// new enrollment, or nil and allow's reason.
func (db *DB) Enroll(ctx context.Context, e nurture.Enrollment, allow func(past []nurture.Enrollment) (bool, string)) (*nurture.Enrollment, string, error) {
	var out *nurture.Enrollment
	var reason string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('enroll:' || $1::text || ':' || $2::bigint, 0))`,
			e.Sequence, e.ContactID); err != nil {
			return fmt.Errorf("lock enrollments: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE contact_id = $1 AND sequence_id = $2
			ORDER BY started_at, id`, e.ContactID, e.Sequence)
		if err != nil {
			return fmt.Errorf("earlier enrollments: %w", err)
		}
		past, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Enrollment, error) {
			e, err := scanEnrollment(r)
			if err != nil {
				return nurture.Enrollment{}, err
			}
			return *e, nil
		})
		if err != nil {
			return fmt.Errorf("earlier enrollments: %w", err)
		}
		ok, why := allow(past)
		if !ok {
			reason = why
			return nil
		}
		out, err = scanEnrollment(tx.QueryRow(ctx, `INSERT INTO enrollments (contact_id, sequence_id, version, topic, state, next_run, started_at)
			SELECT $1, $2, $3, $4, $5, $6, $7 FROM contacts WHERE id = $1 AND erased_at IS NULL
			RETURNING `+enrollmentColumns, e.ContactID, e.Sequence, e.Version, e.Topic, e.State, e.NextRun, e.Started))
		if errors.Is(err, pgx.ErrNoRows) {
			reason = "the contact is erased or unknown"
			return nil
		}
		if err != nil {
			return fmt.Errorf("insert enrollment: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO enrollment_history (enrollment_id, kind, detail, at) VALUES ($1, 'enrolled', $2, $3)`,
			out.ID, "version "+e.Version, e.Started)
		if err != nil {
			return fmt.Errorf("insert enrollment history: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("enroll: %w", err)
	}
	return out, reason, nil
}

// Enrollment returns the enrollment with the given id.
func (db *DB) Enrollment(ctx context.Context, id int64) (*nurture.Enrollment, error) {
	e, err := scanEnrollment(db.pool.QueryRow(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "enrollment")
	}
	return e, nil
}

// ContactEnrollments returns the enrollments of a contact, oldest first.
func (db *DB) ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE contact_id = $1 ORDER BY started_at, id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("contact enrollments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Enrollment, error) {
		e, err := scanEnrollment(r)
		if err != nil {
			return nurture.Enrollment{}, err
		}
		return *e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("contact enrollments: %w", err)
	}
	return out, nil
}

// EnrollmentHistory returns the history of an enrollment, oldest first.
func (db *DB) EnrollmentHistory(ctx context.Context, id int64) ([]nurture.EnrollmentRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT step, kind, detail, at FROM enrollment_history WHERE enrollment_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.EnrollmentRecord, error) {
		var h nurture.EnrollmentRecord
		err := r.Scan(&h.Step, &h.Kind, &h.Detail, &h.At)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	return out, nil
}

// ApplyEnrollment applies a decision in one transaction: the enrollment's
// status, step, state and next run, its wake keys, its history, and the
// message with its reasons. It applies nothing, and says so, when the
// enrollment changed since u.Revision (another advance came first, or an
// event woke it): the caller decides again on what is true now. The
// message is created unless its dedupe key exists; created reports it.
func (db *DB) ApplyEnrollment(ctx context.Context, u nurture.EnrollmentUpdate) (msg *nurture.Message, applied bool, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var contactID int64
		final := u.Status != nurture.EnrollmentActive
		err := tx.QueryRow(ctx, `UPDATE enrollments SET status = $3, reason = $4, step = $5, visit = $6, state = $7,
				version = coalesce(nullif($8, ''), version),
				next_run = CASE WHEN $9 THEN NULL ELSE $10::timestamptz END,
				ended_at = CASE WHEN $9 THEN $11::timestamptz END,
				revision = revision + 1, updated_at = now()
			WHERE id = $1 AND revision = $2 AND status = 'active' RETURNING contact_id`,
			u.ID, u.Revision, u.Status, u.Reason, u.Step, u.Visit, u.State, u.Version, final, u.NextRun, u.At).Scan(&contactID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("update enrollment: %w", err)
		}
		applied = true
		if _, err := tx.Exec(ctx, `DELETE FROM enrollment_wakes WHERE enrollment_id = $1`, u.ID); err != nil {
			return fmt.Errorf("clear wakes: %w", err)
		}
		if !final && len(u.WakeKeys) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO enrollment_wakes (contact_id, key, enrollment_id)
				SELECT $1, k, $2 FROM unnest($3::text[]) AS k ON CONFLICT DO NOTHING`, contactID, u.ID, u.WakeKeys); err != nil {
				return fmt.Errorf("index wakes: %w", err)
			}
		}
		if n := len(u.History); n > 0 {
			steps, kinds, details, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
			for i, h := range u.History {
				steps[i], kinds[i], details[i], ats[i] = h.Step, h.Kind, h.Detail, h.At
			}
			if _, err := tx.Exec(ctx, `INSERT INTO enrollment_history (enrollment_id, step, kind, detail, at)
				SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[])`, u.ID, steps, kinds, details, ats); err != nil {
				return fmt.Errorf("insert enrollment history: %w", err)
			}
		}
		if u.Message == nil {
			return nil
		}
		m := *u.Message
		m.ContactID = contactID
		created, err := insertSequenceMessage(ctx, tx, &m, u.Reasons)
		if err != nil {
			return err
		}
		if created {
			msg = &m
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("apply enrollment %d: %w", u.ID, err)
	}
	return msg, applied, nil
}

// insertSequenceMessage creates a sequence's message, with its topic (known
// from the sequence, so the frequency cap counts it before it is sent) and
// its reasons, unless its dedupe key exists.
func insertSequenceMessage(ctx context.Context, tx pgx.Tx, m *nurture.Message, why *nurture.MessageReasons) (bool, error) {
	if m.Queue == "" {
		m.Queue = "default"
	}
	got, err := scanMessage(tx.QueryRow(ctx, `
		INSERT INTO messages (dedupe_key, contact_id, template, subject, topic, queue, send_at, enqueued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING `+messageColumns,
		m.DedupeKey, m.ContactID, m.Template, m.Subject, m.Topic, m.Queue, m.SendAt, nullTime(m.EnqueuedAt)))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert message: %w", err)
	}
	got.EnqueuedAt = m.EnqueuedAt
	*m = *got
	if err := addHistory(ctx, tx, []nurture.Outcome{{MessageID: m.ID, Status: nurture.StatusQueued}}); err != nil {
		return false, err
	}
	if why != nil {
		reasons, err := json.Marshal(orEmptyList(why.Reasons))
		if err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO message_reasons (message_id, enrollment_id, sequence_id, version, step, reasons)
			VALUES ($1, $2, $3, $4, $5, $6)`, m.ID, why.EnrollmentID, why.Sequence, why.Version, why.Step, reasons); err != nil {
			return false, fmt.Errorf("insert message reasons: %w", err)
		}
	}
	return true, nil
}

func orEmptyList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MessageReasons returns why a message was sent, or nil for a message no
// sequence sent.
func (db *DB) MessageReasons(ctx context.Context, messageID int64) (*nurture.MessageReasons, error) {
	r := &nurture.MessageReasons{}
	var enrollment *int64
	err := db.pool.QueryRow(ctx, `SELECT enrollment_id, sequence_id, version, step, reasons FROM message_reasons WHERE message_id = $1`,
		messageID).Scan(&enrollment, &r.Sequence, &r.Version, &r.Step, &r.Reasons)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("message reasons: %w", err)
	}
	if enrollment != nil {
		r.EnrollmentID = *enrollment
	}
	return r, nil
}

// RecentSends returns when the contact's emails other than transactional
// ones went, or are due to go, since then: what the frequency cap counts,
// for sequences to plan around it.
func (db *DB) RecentSends(ctx context.Context, contactID int64, since time.Time) ([]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT coalesce(sent_at, send_at) FROM messages
		WHERE contact_id = $1 AND topic <> 'transactional' AND status IN ('queued', 'sending', 'deferred', 'sent')
			AND coalesce(sent_at, send_at) >= $2`, contactID, since)
	if err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	return out, nil
}

// DueEnrollments returns up to limit active enrollments due by now whose
// current revision is not known to be queued: never queued, changed since,
// or queued before staleBefore (the task may have been lost with Redis's
// data). The caller queues them and calls MarkEnrollmentsQueued.
func (db *DB) DueEnrollments(ctx context.Context, now, staleBefore time.Time, limit int) ([]nurture.Enrollment, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments
		WHERE status = 'active' AND (next_run <= $1 OR next_run IS NULL)
			AND (enqueued_revision IS DISTINCT FROM revision OR enqueued_at < $2)
		ORDER BY next_run NULLS FIRST LIMIT $3`, now, staleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("due enrollments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Enrollment, error) {
		e, err := scanEnrollment(r)
		if err != nil {
			return nurture.Enrollment{}, err
		}
		return *e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("due enrollments: %w", err)
	}
	return out, nil
}

// MarkEnrollmentsQueued records that a task was queued at for each of the
// enrollments, at the revision DueEnrollments returned.
func (db *DB) MarkEnrollmentsQueued(ctx context.Context, es []nurture.Enrollment, at time.Time) error {
	if len(es) == 0 {
		return nil
	}
	ids, revs := make([]int64, len(es)), make([]int64, len(es))
	for i, e := range es {
		ids[i], revs[i] = e.ID, e.Revision
	}
	_, err := db.pool.Exec(ctx, `UPDATE enrollments e SET enqueued_revision = q.rev, enqueued_at = $3
		FROM unnest($1::bigint[], $2::bigint[]) AS q(id, rev) WHERE e.id = q.id`, ids, revs, at)
	if err != nil {
		return fmt.Errorf("mark enrollments queued: %w", err)
	}
	return nil
}

// WakeEnrollments makes the active enrollments of a contact that wait on
// one of keys due at now (unless due earlier), and returns how many. The
// change of revision also tells an advance running meanwhile to decide
// again.
func (db *DB) WakeEnrollments(ctx context.Context, contactID int64, keys []string, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE enrollments SET next_run = least(next_run, $3), revision = revision + 1
		WHERE status = 'active' AND id IN (SELECT enrollment_id FROM enrollment_wakes WHERE contact_id = $1 AND key = ANY($2))`,
		contactID, keys, now)
	if err != nil {
		return 0, fmt.Errorf("wake enrollments: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// WakeTopicEnrollments makes the active enrollments of a contact in
// sequences of the topics due at now, and returns how many.
func (db *DB) WakeTopicEnrollments(ctx context.Context, contactID int64, topics []nurture.Topic, now time.Time) (int, error) {
	ts := make([]string, len(topics))
	for i, t := range topics {
		ts[i] = string(t)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE enrollments SET next_run = least(next_run, $3), revision = revision + 1
		WHERE contact_id = $1 AND status = 'active' AND topic = ANY($2)`, contactID, ts, now)
	if err != nil {
		return 0, fmt.Errorf("wake enrollments: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
