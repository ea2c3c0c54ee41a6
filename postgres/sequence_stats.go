package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// SequenceStats counts what a sequence did, from its enrollments, their
// history and the emails they sent, in one round trip.
func (db *DB) SequenceStats(ctx context.Context, sequenceID string) (*nurture.SequenceStats, error) {
	s := &nurture.SequenceStats{Sequence: sequenceID, Exited: map[string]int64{}}
	steps := map[string]*nurture.StepStats{}
	step := func(id string) *nurture.StepStats {
		st := steps[id]
		if st == nil {
			st = &nurture.StepStats{Step: id, Skipped: map[string]int64{}, Postponed: map[string]int64{}}
			steps[id] = st
		}
		return st
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT status, reason, count(*) FROM enrollments WHERE sequence_id = $1 GROUP BY status, reason`, sequenceID).
		Query(func(rows pgx.Rows) error {
			var status nurture.EnrollmentStatus
			var reason string
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&status, &reason, &n}, func() error {
				s.Enrolled += n
				switch status {
				case nurture.EnrollmentActive:
					s.Active += n
				case nurture.EnrollmentCompleted:
					s.Completed += n
				case nurture.EnrollmentFailed:
					s.Failed += n
				case nurture.EnrollmentExited:
					s.Exited[reason] += n
				}
				return nil
			})
			return err
		})
	// Converted counts every enrollment that reached the goal, also those
	// that went on after it (continue: true).
	b.Queue(`SELECT count(DISTINCT h.enrollment_id) FROM enrollment_history h JOIN enrollments e ON e.id = h.enrollment_id
		WHERE e.sequence_id = $1 AND h.kind = 'converted'`, sequenceID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.Converted)
	})
	// Per step: entries, sends, and skips and postponements by their first
	// reason (the text before its first colon: "quiet hours", "frequency
	// cap", "opted out of education").
	b.Queue(`SELECT h.step, h.kind, CASE WHEN h.kind IN ('skipped', 'postponed') THEN split_part(h.detail, ':', 1) ELSE '' END, count(*)
		FROM enrollment_history h JOIN enrollments e ON e.id = h.enrollment_id
		WHERE e.sequence_id = $1 AND h.step <> '' AND h.kind IN ('entered', 'sent', 'skipped', 'postponed')
		GROUP BY 1, 2, 3`, sequenceID).Query(func(rows pgx.Rows) error {
		var id, kind, why string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&id, &kind, &why, &n}, func() error {
			st := step(id)
			switch kind {
			case "entered":
				st.Entered += n
			case "sent":
				st.Sent += n
			case "skipped":
				st.Skipped[why] += n
			case "postponed":
				st.Postponed[why] += n
			}
			return nil
		})
		return err
	})
	// The emails of each step, and the people who opened and clicked them
	// (human hits only: machine opens and scanner clicks never count).
	b.Queue(`SELECT r.step, count(DISTINCT r.message_id),
			count(DISTINCT r.message_id) FILTER (WHERE ev.kind = 'open' OR ev.kind = 'click'),
			count(DISTINCT r.message_id) FILTER (WHERE ev.kind = 'click')
		FROM message_reasons r LEFT JOIN email_events ev ON ev.message_id = r.message_id AND ev.class = 'human'
		WHERE r.sequence_id = $1 GROUP BY r.step`, sequenceID).Query(func(rows pgx.Rows) error {
		var id string
		var emails, opened, clicked int64
		_, err := pgx.ForEachRow(rows, []any{&id, &emails, &opened, &clicked}, func() error {
			st := step(id)
			st.Emails, st.Opened, st.Clicked = emails, opened, clicked
			return nil
		})
		return err
	})
	// Unsubscribes and conversions after a step: enrollments that left by
	// unsubscribing from the topic, or reached the goal, counted at the
	// last step that sent them an email before.
	b.Queue(`SELECT last.step, count(*) FILTER (WHERE h.kind = 'exited'), count(*) FILTER (WHERE h.kind = 'converted')
		FROM enrollment_history h JOIN enrollments e ON e.id = h.enrollment_id
		CROSS JOIN LATERAL (SELECT s.step FROM enrollment_history s
			WHERE s.enrollment_id = h.enrollment_id AND s.kind = 'sent' AND s.id < h.id ORDER BY s.id DESC LIMIT 1) last
		WHERE e.sequence_id = $1 AND (h.kind = 'converted' OR (h.kind = 'exited' AND h.detail LIKE 'unsubscribed from %'))
		GROUP BY last.step`, sequenceID).Query(func(rows pgx.Rows) error {
		var id string
		var unsub, conv int64
		_, err := pgx.ForEachRow(rows, []any{&id, &unsub, &conv}, func() error {
			st := step(id)
			st.Unsubscribed, st.ConversionsAfter = unsub, conv
			return nil
		})
		return err
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("sequence stats: %w", err)
	}
	for _, st := range steps {
		s.Steps = append(s.Steps, *st)
	}
	return s, nil
}
