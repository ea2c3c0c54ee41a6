package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// SequenceTriggers says which stored events may start a sequence: the
// EventKey of every trigger event, and whether a change of traits may
// (a sequence triggered by a condition on the profile).
type SequenceTriggers struct {
	Events []string
	Traits bool
}

// WatchSequences tells ingestion which events start sequences, so that it
// leaves a signal for each of them (and for each event an enrollment of
// the contact waits on) in its own transaction. Without a call, only the
// events enrollments wait on leave one.
func (db *DB) WatchSequences(t SequenceTriggers) {
	t.Events = slices.Clone(t.Events)
	db.triggers.Store(&t)
}

// signalIngested leaves a sequence signal for each stored event that may
// start a sequence or wake an enrollment: a track event whose name is a
// trigger or is waited on by one of its contact's enrollments, and an
// identify or group call when traits trigger sequences or an enrollment
// of the contact waits on them. One statement, whatever the batch's size.
func (db *DB) signalIngested(ctx context.Context, tx pgx.Tx, stored []nurture.PlannedEvent) error {
	trig := db.triggers.Load()
	if trig == nil {
		trig = &SequenceTriggers{}
	}
	var (
		contacts   []int64
		kinds      []string
		names      []string
		keys       []string
		props      []map[string]any
		ats        []time.Time
		triggering []bool
	)
	for _, ev := range stored {
		if ev.Contact == nil {
			continue
		}
		switch ev.Call.Type {
		case nurture.EventTrack:
			k := nurture.EventKey(ev.Call.Name)
			contacts, kinds, names, keys = append(contacts, ev.Contact.ID), append(kinds, string(nurture.SignalEvent)),
				append(names, ev.Call.Name), append(keys, nurture.WakeEvent(k))
			triggering = append(triggering, slices.Contains(trig.Events, k))
		case nurture.EventIdentify, nurture.EventGroup: // a group call changes what company.* reads
			contacts, kinds, names, keys = append(contacts, ev.Contact.ID), append(kinds, string(nurture.SignalTraits)),
				append(names, ""), append(keys, nurture.WakeTraits)
			triggering = append(triggering, trig.Traits)
		default:
			continue
		}
		props, ats = append(props, orEmpty(ev.Call.Properties)), append(ats, ev.Call.Timestamp)
	}
	if len(contacts) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO sequence_signals (contact_id, kind, name, properties, at)
		SELECT s.contact_id, s.kind, s.name, s.properties, s.at
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::boolean[])
			AS s(contact_id, kind, name, key, properties, at, triggering)
		WHERE s.triggering OR EXISTS (SELECT 1 FROM enrollment_wakes w WHERE w.contact_id = s.contact_id AND w.key = s.key)`,
		contacts, kinds, names, keys, props, ats, triggering)
	if err != nil {
		return fmt.Errorf("signal sequences: %w", err)
	}
	return nil
}

// ClaimSignals takes up to limit sequence signals, oldest first, for lease
// (by the database's clock): another poller does not see them meanwhile.
// The caller acts on them and deletes them; signals of a poller that died
// come back when the lease runs out.
func (db *DB) ClaimSignals(ctx context.Context, limit int, lease time.Duration) ([]nurture.SequenceSignal, error) {
	rows, err := db.pool.Query(ctx, `UPDATE sequence_signals SET locked_until = now() + $2 * interval '1 microsecond'
		WHERE id IN (SELECT id FROM sequence_signals WHERE locked_until IS NULL OR locked_until < now()
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, contact_id, kind, name, properties, at`, limit, lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("claim signals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.SequenceSignal, error) {
		var s nurture.SequenceSignal
		err := r.Scan(&s.ID, &s.ContactID, &s.Kind, &s.Name, &s.Properties, &s.At)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim signals: %w", err)
	}
	slices.SortFunc(out, func(a, b nurture.SequenceSignal) int { return int(a.ID - b.ID) })
	return out, nil
}

// DeleteSignals deletes signals that were acted on.
func (db *DB) DeleteSignals(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM sequence_signals WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("delete signals: %w", err)
	}
	return nil
}
