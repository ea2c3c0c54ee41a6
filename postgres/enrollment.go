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
			SELECT $1::bigint, $2::text, $3::text, $4::text, $5::jsonb, $6::timestamptz, $7::timestamptz
			FROM contacts WHERE id = $1 AND erased_at IS NULL
			RETURNING `+enrollmentColumns, e.ContactID, e.Sequence, e.Version, e.Topic, string(e.State), e.NextRun, e.Started))
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

// ApplyEnrollment applies one decision: ApplyEnrollments of one. It
// returns the message created, if any, and whether the update applied.
func (db *DB) ApplyEnrollment(ctx context.Context, u nurture.EnrollmentUpdate) (msg *nurture.Message, applied bool, err error) {
	res, err := db.ApplyEnrollments(ctx, []nurture.EnrollmentUpdate{u})
	if err != nil {
		return nil, false, err
	}
	return res[0].Message, res[0].Applied, nil
}

// ApplyEnrollments applies decisions about distinct enrollments in one
// transaction, with a statement per table whatever their number: each
// enrollment's status, step, state and next run, its wake keys, its
// history, and the message with its reasons. An update whose enrollment
// changed since its Revision (another advance came first, or an event woke
// it) applies nothing, and its result says so: the caller decides again on
// what is true now. A message is created unless its dedupe key exists. The
// results are in the order of us.
func (db *DB) ApplyEnrollments(ctx context.Context, us []nurture.EnrollmentUpdate) ([]nurture.EnrollmentResult, error) {
	out := make([]nurture.EnrollmentResult, len(us))
	if len(us) == 0 {
		return out, nil
	}
	n := len(us)
	var (
		ids, revs                                  = make([]int64, n), make([]int64, n)
		statuses, reasons, steps, states, versions = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		visits, decisions                          = make([]int32, n), make([]int32, n)
		finals                                     = make([]bool, n)
		nextRuns, ats                              = make([]time.Time, n), make([]time.Time, n)
		index                                      = make(map[int64]int, n)
	)
	for i, u := range us {
		ids[i], revs[i], statuses[i], reasons[i], steps[i], visits[i] = u.ID, u.Revision, string(u.Status), u.Reason, u.Step, int32(u.Visit)
		states[i], versions[i], finals[i], nextRuns[i], ats[i] = string(u.State), u.Version, u.Status != nurture.EnrollmentActive, u.NextRun, u.At
		decisions[i] = int32(max(1, u.Decisions))
		index[u.ID] = i
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The rows are locked in id order first, so that two batches
		// sharing enrollments wait for each other instead of deadlocking.
		rows, err := tx.Query(ctx, `WITH locked AS MATERIALIZED (
				SELECT id FROM enrollments WHERE id = ANY($1) ORDER BY id FOR UPDATE)
			UPDATE enrollments e SET status = u.status, reason = u.reason, step = u.step, visit = u.visit, state = u.state::jsonb,
				version = coalesce(nullif(u.version, ''), e.version),
				next_run = CASE WHEN u.final THEN NULL ELSE u.next_run END,
				ended_at = CASE WHEN u.final THEN u.at END,
				revision = e.revision + u.decisions, updated_at = now()
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[],
				$9::boolean[], $10::timestamptz[], $11::timestamptz[], $12::int[])
				AS u(id, rev, status, reason, step, visit, state, version, final, next_run, at, decisions)
			WHERE e.id = u.id AND e.id IN (SELECT id FROM locked) AND e.revision = u.rev AND e.status = 'active'
			RETURNING e.id, e.contact_id`,
			ids, revs, statuses, reasons, steps, visits, states, versions, finals, nextRuns, ats, decisions)
		if err != nil {
			return fmt.Errorf("update enrollments: %w", err)
		}
		var id, contactID int64
		contacts := map[int64]int64{}
		var applied []int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &contactID}, func() error {
			contacts[id] = contactID
			applied = append(applied, id)
			out[index[id]].Applied = true
			return nil
		}); err != nil {
			return fmt.Errorf("update enrollments: %w", err)
		}
		if len(applied) == 0 {
			return nil
		}
		var (
			wakeContacts, wakeEnrollments []int64
			wakeKeys                      []string
			histEnrollments               []int64
			histSteps, histKinds, details []string
			histAts                       []time.Time
			msgs                          []nurture.Message
			why                           []*nurture.MessageReasons
		)
		for _, id := range applied {
			u := us[index[id]]
			if u.Status == nurture.EnrollmentActive {
				for _, k := range u.WakeKeys {
					wakeContacts, wakeKeys, wakeEnrollments = append(wakeContacts, contacts[id]), append(wakeKeys, k), append(wakeEnrollments, id)
				}
			}
			for _, h := range u.History {
				histEnrollments, histSteps, histKinds = append(histEnrollments, id), append(histSteps, h.Step), append(histKinds, h.Kind)
				details, histAts = append(details, h.Detail), append(histAts, h.At)
			}
			if u.Message != nil {
				m := *u.Message
				m.ContactID = contacts[id]
				msgs, why = append(msgs, m), append(why, u.Reasons)
			}
		}
		// The rest depends only on which updates applied: one round trip.
		b := &pgx.Batch{}
		// Wake keys kept from one decision to the next (an exit event, a
		// wait's event) are left in place: only the others are deleted,
		// and the insert skips those already there.
		b.Queue(`DELETE FROM enrollment_wakes w WHERE w.enrollment_id = ANY($1) AND NOT EXISTS (
				SELECT 1 FROM unnest($2::bigint[], $3::text[]) AS k(enrollment_id, key)
				WHERE k.enrollment_id = w.enrollment_id AND k.key = w.key)`, applied, wakeEnrollments, wakeKeys)
		if len(wakeKeys) > 0 {
			b.Queue(`INSERT INTO enrollment_wakes (contact_id, key, enrollment_id)
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`, wakeContacts, wakeKeys, wakeEnrollments)
		}
		if len(histKinds) > 0 {
			b.Queue(`INSERT INTO enrollment_history (enrollment_id, step, kind, detail, at)
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])`,
				histEnrollments, histSteps, histKinds, details, histAts)
		}
		var created []nurture.Message
		if len(msgs) > 0 {
			if err := queueSequenceMessages(b, msgs, why, &created); err != nil {
				return err
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("apply enrollments: %w", err)
		}
		byKey := make(map[string]int, len(msgs))
		for i, u := range us {
			if u.Message != nil {
				byKey[u.Message.DedupeKey] = i
			}
		}
		for _, m := range created {
			i := byKey[m.DedupeKey]
			m.EnqueuedAt = us[i].Message.EnqueuedAt
			out[i].Message = &m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply enrollments: %w", err)
	}
	return out, nil
}

// queueSequenceMessages queues, in b, the creation of sequences' messages
// with their topic (known from the sequence, so that the frequency cap
// counts them before they are sent), their first line of history and their
// reasons, in one statement; those whose dedupe key exists are left out.
// The messages created are appended to created when b runs.
func queueSequenceMessages(b *pgx.Batch, msgs []nurture.Message, why []*nurture.MessageReasons, created *[]nurture.Message) error {
	n := len(msgs)
	keys, templates, subjects, topics, queues := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	contacts := make([]int64, n)
	sendAts, enqueuedAts := make([]time.Time, n), make([]*time.Time, n)
	var (
		reasonKeys, seqs, versions, steps, lists []string
		enrollments                              []int64
	)
	for i, m := range msgs {
		if m.Queue == "" {
			m.Queue = "default"
		}
		keys[i], contacts[i], templates[i], subjects[i], topics[i], queues[i], sendAts[i] = m.DedupeKey, m.ContactID, m.Template, m.Subject, string(m.Topic), m.Queue, m.SendAt
		if !m.EnqueuedAt.IsZero() {
			enqueuedAts[i] = &msgs[i].EnqueuedAt
		}
		if w := why[i]; w != nil {
			list, err := json.Marshal(orEmptyList(w.Reasons))
			if err != nil {
				return err
			}
			reasonKeys, enrollments, seqs = append(reasonKeys, m.DedupeKey), append(enrollments, w.EnrollmentID), append(seqs, w.Sequence)
			versions, steps, lists = append(versions, w.Version), append(steps, w.Step), append(lists, string(list))
		}
	}
	b.Queue(`WITH m AS (
			INSERT INTO messages (dedupe_key, contact_id, template, topic, queue, send_at, enqueued_at, subject, region)
			SELECT u.*, coalesce((SELECT home_region FROM contacts c WHERE c.id = u.contact_id), '')
			FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $14::text[])
				AS u(dedupe_key, contact_id, template, topic, queue, send_at, enqueued_at, subject)
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING `+messageColumns+`),
		r AS (INSERT INTO message_reasons (message_id, enrollment_id, sequence_id, version, step, reasons)
			SELECT m.id, q.enrollment_id, q.sequence_id, q.version, q.step, q.reasons::jsonb
			FROM m JOIN unnest($8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[])
				AS q(dedupe_key, enrollment_id, sequence_id, version, step, reasons) ON q.dedupe_key = m.dedupe_key)
		SELECT * FROM m`,
		keys, contacts, templates, topics, queues, sendAts, enqueuedAts,
		reasonKeys, enrollments, seqs, versions, steps, lists, subjects).Query(func(rows pgx.Rows) error {
		got, err := collectMessages(rows)
		if err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		*created = append(*created, got...)
		return nil
	})
	return nil
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
	sends, err := db.RecentSendsBatch(ctx, []int64{contactID}, since)
	if err != nil {
		return nil, err
	}
	return sends[contactID], nil
}

// RecentSendsBatch is RecentSends for many contacts in one query, by
// contact.
func (db *DB) RecentSendsBatch(ctx context.Context, contactIDs []int64, since time.Time) (map[int64][]time.Time, error) {
	out := make(map[int64][]time.Time, len(contactIDs))
	if len(contactIDs) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT contact_id, coalesce(sent_at, send_at) FROM messages
		WHERE contact_id = ANY($1) AND topic <> 'transactional' AND status IN ('queued', 'sending', 'deferred', 'sent')
			AND coalesce(sent_at, send_at) >= $2`, contactIDs, since)
	if err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	var id int64
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		out[id] = append(out[id], at)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	return out, nil
}

// Enrollments returns the enrollments with the given ids that exist, in
// id order.
func (db *DB) Enrollments(ctx context.Context, ids []int64) ([]nurture.Enrollment, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("enrollments: %w", err)
	}
	return collectEnrollments(rows, "enrollments")
}

func collectEnrollments(rows pgx.Rows, what string) ([]nurture.Enrollment, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Enrollment, error) {
		e, err := scanEnrollment(r)
		if err != nil {
			return nurture.Enrollment{}, err
		}
		return *e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// DueEnrollments returns up to limit active enrollments due by now whose
// current revision is not known to be queued: never queued or changed
// since, or queued before staleBefore (the task may have been lost with
// Redis's data), the stale ones first. Each half is read from a partial
// index of its own (migration 00013), so the query costs what it returns,
// not what is enrolled. The caller queues them and calls
// MarkEnrollmentsQueued.
func (db *DB) DueEnrollments(ctx context.Context, now, staleBefore time.Time, limit int) ([]nurture.Enrollment, error) {
	rows, err := db.pool.Query(ctx, `(SELECT `+enrollmentColumns+` FROM enrollments
			WHERE status = 'active' AND enqueued_revision = revision AND enqueued_at < $2 AND next_run <= $1
			ORDER BY enqueued_at LIMIT $3)
		UNION ALL
		(SELECT `+enrollmentColumns+` FROM enrollments
			WHERE status = 'active' AND enqueued_revision IS DISTINCT FROM revision AND next_run <= $1
			ORDER BY next_run LIMIT $3)
		LIMIT $3`, now, staleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("due enrollments: %w", err)
	}
	return collectEnrollments(rows, "due enrollments")
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
	// Locked in id order, as ApplyEnrollments does: a batch queued a
	// moment ago may be applying some of these rows already.
	_, err := db.pool.Exec(ctx, `WITH locked AS MATERIALIZED (
			SELECT id FROM enrollments WHERE id = ANY($1) ORDER BY id FOR UPDATE)
		UPDATE enrollments e SET enqueued_revision = q.rev, enqueued_at = $3
		FROM unnest($1::bigint[], $2::bigint[]) AS q(id, rev) WHERE e.id = q.id AND e.id IN (SELECT id FROM locked)`, ids, revs, at)
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
	contacts := make([]int64, len(keys))
	for i := range keys {
		contacts[i] = contactID
	}
	return db.WakeEnrollmentsBatch(ctx, contacts, keys, now)
}

// WakeEnrollmentsBatch is WakeEnrollments for many (contact, key) pairs in
// one statement: the enrollment of contacts[i] waiting on keys[i] are made
// due at now. It returns how many enrollments it woke.
func (db *DB) WakeEnrollmentsBatch(ctx context.Context, contacts []int64, keys []string, now time.Time) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	// Locked in id order, as ApplyEnrollments does, so that the two do
	// not deadlock on enrollments they share.
	tag, err := db.pool.Exec(ctx, `WITH w AS MATERIALIZED (
			SELECT e.id FROM enrollments e
			WHERE e.status = 'active' AND e.id IN (SELECT w.enrollment_id
				FROM unnest($1::bigint[], $2::text[]) AS q(contact_id, key)
				JOIN enrollment_wakes w ON w.contact_id = q.contact_id AND w.key = q.key)
			ORDER BY e.id FOR UPDATE)
		UPDATE enrollments SET next_run = least(next_run, $3), revision = revision + 1
		WHERE id IN (SELECT id FROM w) AND status = 'active'`, contacts, keys, now)
	if err != nil {
		return 0, fmt.Errorf("wake enrollments: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// WakeTopicEnrollments makes the active enrollments of a contact in
// sequences of the topics due at now, and returns how many.
func (db *DB) WakeTopicEnrollments(ctx context.Context, contactID int64, topics []nurture.Topic, now time.Time) (int, error) {
	contacts := make([]int64, len(topics))
	for i := range topics {
		contacts[i] = contactID
	}
	return db.WakeTopicEnrollmentsBatch(ctx, contacts, topics, now)
}

// WakeTopicEnrollmentsBatch is WakeTopicEnrollments for many (contact,
// topic) pairs in one statement.
func (db *DB) WakeTopicEnrollmentsBatch(ctx context.Context, contacts []int64, topics []nurture.Topic, now time.Time) (int, error) {
	if len(topics) == 0 {
		return 0, nil
	}
	ts := make([]string, len(topics))
	for i, t := range topics {
		ts[i] = string(t)
	}
	tag, err := db.pool.Exec(ctx, `WITH w AS MATERIALIZED (
			SELECT e.id FROM enrollments e
			WHERE e.status = 'active' AND (e.contact_id, e.topic) IN (
				SELECT * FROM unnest($1::bigint[], $2::text[]))
			ORDER BY e.id FOR UPDATE)
		UPDATE enrollments SET next_run = least(next_run, $3), revision = revision + 1
		WHERE id IN (SELECT id FROM w) AND status = 'active'`, contacts, ts, now)
	if err != nil {
		return 0, fmt.Errorf("wake enrollments: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
