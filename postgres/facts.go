package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// LoadFacts loads what conditions may know of contact id, as much as needs
// says and no more: the profile and custom traits, the opt-outs and the
// suppression of the address (always: every decision checks them), the
// counts of the events the conditions read (with every occurrence when a
// condition looks at times or properties), the occurrences since since of
// the events in needs.Since, and, when needs.Emails, the contact's emails
// with their opens and clicks of every class (a sequence's email is dated
// by its step, the moment the enrollment created it, so that it always
// falls within its enrollment; others by when they went, or are due). It
// takes two round trips whatever the needs. An erased or unknown contact
// is not found.
func (db *DB) LoadFacts(ctx context.Context, id int64, needs nurture.FactsNeeds, since time.Time) (*nurture.Facts, error) {
	f := &nurture.Facts{Events: map[string]*nurture.EventFacts{}}
	wantCounts := slices.Concat(needs.Events, needs.Since)
	var names []string
	b := &pgx.Batch{}
	b.Queue(contactSelect+" WHERE id = $1 AND erased_at IS NULL", id).QueryRow(func(row pgx.Row) error {
		c, err := scanContact(row)
		if err != nil {
			return notFound(err, "contact")
		}
		f.Contact = c
		return nil
	})
	b.Queue(`SELECT topic, created_at, via FROM topic_optouts WHERE contact_id = $1`, id).Query(func(rows pgx.Rows) error {
		var o nurture.OptOut
		_, err := pgx.ForEachRow(rows, []any{&o.Topic, &o.Since, &o.Via}, func() error {
			f.OptOuts = append(f.OptOuts, o)
			return nil
		})
		return err
	})
	if len(wantCounts) > 0 {
		// Names are grouped as sent and keyed here: EventKey folds the
		// spellings of one event (signed_up, Signed Up) together.
		b.Queue(`SELECT name, count(*) FROM events WHERE contact_id = $1 AND type = 'track' GROUP BY name`, id).Query(func(rows pgx.Rows) error {
			var name string
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error {
				k := nurture.EventKey(name)
				if !slices.Contains(wantCounts, k) {
					return nil
				}
				names = append(names, name)
				e := f.Events[k]
				if e == nil {
					e = &nurture.EventFacts{}
					f.Events[k] = e
				}
				e.Count += n
				return nil
			})
			return err
		})
	}
	if needs.Emails {
		b.Queue(`SELECT m.id, m.template, m.topic, coalesce(r.sequence_id, ''), coalesce(r.step, ''),
				CASE WHEN r.message_id IS NULL THEN coalesce(m.sent_at, m.send_at) ELSE m.send_at END
			FROM messages m LEFT JOIN message_reasons r ON r.message_id = m.id
			WHERE m.contact_id = $1 AND m.status IN ('queued', 'sending', 'deferred', 'sent') ORDER BY m.id`, id).Query(func(rows pgx.Rows) error {
			var e nurture.EmailFacts
			_, err := pgx.ForEachRow(rows, []any{&e.MessageID, &e.Template, &e.Topic, &e.Sequence, &e.Step, &e.SentAt}, func() error {
				f.Emails = append(f.Emails, e)
				return nil
			})
			return err
		})
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}

	// The second round: the address's suppression, the occurrences, the hits.
	b = &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = $1)`, nurture.EmailHash(f.Contact.Email)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&f.Suppressed)
	})
	var all, recent []string // names whose every occurrence, or those since since, are needed
	for _, name := range names {
		k := nurture.EventKey(name)
		switch {
		case slices.Contains(needs.Events, k) && (needs.Lookback > 0 || needs.EventHistory):
			all = append(all, name)
		case slices.Contains(needs.Since, k):
			recent = append(recent, name)
		}
	}
	if len(all)+len(recent) > 0 {
		b.Queue(`SELECT name, occurred_at, properties FROM events WHERE contact_id = $1 AND type = 'track'
			AND (name = ANY($2) OR (name = ANY($3) AND occurred_at >= $4))`, id, all, recent, since).Query(func(rows pgx.Rows) error {
			var name string
			var o nurture.EventOccurrence
			_, err := pgx.ForEachRow(rows, []any{&name, &o.At, &o.Properties}, func() error {
				e := f.Events[nurture.EventKey(name)]
				e.Occurrences = append(e.Occurrences, o)
				o = nurture.EventOccurrence{}
				return nil
			})
			return err
		})
	}
	if len(f.Emails) > 0 {
		byID := make(map[int64]int, len(f.Emails))
		for i, e := range f.Emails {
			byID[e.MessageID] = i
		}
		b.Queue(`SELECT message_id, kind, class, at FROM email_events WHERE contact_id = $1`, id).Query(func(rows pgx.Rows) error {
			var msg int64
			var h nurture.EmailHit
			_, err := pgx.ForEachRow(rows, []any{&msg, &h.Kind, &h.Class, &h.At}, func() error {
				if i, ok := byID[msg]; ok {
					f.Emails[i].Hits = append(f.Emails[i].Hits, h)
				}
				return nil
			})
			return err
		})
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}
	if f.Contact.Email == "" {
		f.Suppressed = true // nowhere to send to
	}
	return f, nil
}
