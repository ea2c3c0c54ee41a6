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
// condition looks at times or properties), the contact's company record
// when a condition reads company fields (needs.Company; see
// nurture.CompanyRecordFacts), the occurrences since since of the events
// in needs.Since, and, when needs.Emails, the contact's emails
// with their opens and clicks of every class (a sequence's email is dated
// by its step, the moment the enrollment created it, so that it always
// falls within its enrollment; others by when they went, or are due). It
// takes two round trips whatever the needs. An erased or unknown contact
// is not found.
func (db *DB) LoadFacts(ctx context.Context, id int64, needs nurture.FactsNeeds, since time.Time) (*nurture.Facts, error) {
	fs, err := db.LoadFactsBatch(ctx, []nurture.FactsRequest{{ContactID: id, Needs: needs, Since: since}})
	if err != nil {
		return nil, err
	}
	if fs[0] == nil {
		return nil, &nurture.Error{Code: nurture.CodeNotFound, Message: "contact not found"}
	}
	return fs[0], nil
}

// contactFacts is what one contact's rows hold for any of the requests
// about them: LoadFactsBatch loads the union of the requests' needs per
// contact, then cuts each request's Facts out of it.
type contactFacts struct {
	contact *nurture.Contact
	optOuts []nurture.OptOut
	counts  map[string]int64 // by event name as sent
	emails  []nurture.EmailFacts
	hits    map[int64][]nurture.EmailHit // by message
	// occurrences by event name as sent, loaded from the earliest moment
	// any request needs them (the zero time: all of them).
	occurrences map[string][]occurrence
	occSince    map[string]time.Time
	suppressed  bool
	// company is the contact's company record, loaded when a request
	// reads company fields and the contact has one.
	company *nurture.Company
}

type occurrence struct {
	at         time.Time
	properties map[string]any
}

// LoadFactsBatch loads the facts of many requests at once, as LoadFacts
// does for one, in two round trips whatever their number: the answer is in
// the order of reqs, nil for an erased or unknown contact. Requests about
// the same contact share its rows, each getting only what its needs say.
func (db *DB) LoadFactsBatch(ctx context.Context, reqs []nurture.FactsRequest) ([]*nurture.Facts, error) {
	byContact := map[int64]*contactFacts{}
	var ids, countIDs, emailIDs, companyIDs []int64
	for _, r := range reqs {
		if _, ok := byContact[r.ContactID]; !ok {
			byContact[r.ContactID] = &contactFacts{counts: map[string]int64{}, hits: map[int64][]nurture.EmailHit{},
				occurrences: map[string][]occurrence{}, occSince: map[string]time.Time{}}
			ids = append(ids, r.ContactID)
		}
		if len(r.Needs.Events)+len(r.Needs.Since) > 0 && !slices.Contains(countIDs, r.ContactID) {
			countIDs = append(countIDs, r.ContactID)
		}
		if r.Needs.Emails && !slices.Contains(emailIDs, r.ContactID) {
			emailIDs = append(emailIDs, r.ContactID)
		}
		if r.Needs.Company && !slices.Contains(companyIDs, r.ContactID) {
			companyIDs = append(companyIDs, r.ContactID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(contactSelect+" WHERE id = ANY($1) AND erased_at IS NULL", ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				return err
			}
			byContact[c.ID].contact = c
		}
		return rows.Err()
	})
	b.Queue(`SELECT contact_id, topic, created_at, via FROM topic_optouts WHERE contact_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var id int64
		var o nurture.OptOut
		_, err := pgx.ForEachRow(rows, []any{&id, &o.Topic, &o.Since, &o.Via}, func() error {
			byContact[id].optOuts = append(byContact[id].optOuts, o)
			return nil
		})
		return err
	})
	if len(countIDs) > 0 {
		// The running counts of engagement_actions, which the retention
		// job leaves alone: the events themselves may be gone.
		b.Queue(`SELECT contact_id, action, count FROM engagement_actions WHERE contact_id = ANY($1)`,
			countIDs).Query(func(rows pgx.Rows) error {
			var id, n int64
			var name string
			_, err := pgx.ForEachRow(rows, []any{&id, &name, &n}, func() error {
				byContact[id].counts[name] = n
				return nil
			})
			return err
		})
	}
	if len(emailIDs) > 0 {
		b.Queue(`SELECT m.contact_id, m.id, m.template, m.topic, coalesce(r.sequence_id, ''), coalesce(r.step, ''),
				CASE WHEN r.message_id IS NULL THEN coalesce(m.sent_at, m.send_at) ELSE m.send_at END
			FROM messages m LEFT JOIN message_reasons r ON r.message_id = m.id
			WHERE m.contact_id = ANY($1) AND m.status IN ('queued', 'sending', 'deferred', 'sent') ORDER BY m.id`, emailIDs).Query(func(rows pgx.Rows) error {
			var id int64
			var e nurture.EmailFacts
			_, err := pgx.ForEachRow(rows, []any{&id, &e.MessageID, &e.Template, &e.Topic, &e.Sequence, &e.Step, &e.SentAt}, func() error {
				byContact[id].emails = append(byContact[id].emails, e)
				return nil
			})
			return err
		})
	}
	companies := map[int64]*nurture.Company{}
	if len(companyIDs) > 0 {
		b.Queue(companiesOfContacts, companyIDs).Query(func(rows pgx.Rows) error {
			return collectCompanies(rows, companies)
		})
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}
	for _, id := range companyIDs {
		if cf := byContact[id]; cf.contact != nil {
			cf.company = companies[cf.contact.CompanyID]
		}
	}

	// The second round: the addresses' suppressions, the occurrences, the hits.
	b = &pgx.Batch{}
	var hashes [][]byte
	byHash := map[string][]*contactFacts{}
	for _, id := range ids {
		cf := byContact[id]
		if cf.contact == nil || cf.contact.Email == "" {
			continue
		}
		h := nurture.EmailHash(cf.contact.Email)
		if _, ok := byHash[string(h)]; !ok {
			hashes = append(hashes, h)
		}
		byHash[string(h)] = append(byHash[string(h)], cf)
	}
	if len(hashes) > 0 {
		b.Queue(`SELECT email_hash FROM suppressions WHERE email_hash = ANY($1)`, hashes).Query(func(rows pgx.Rows) error {
			var h []byte
			_, err := pgx.ForEachRow(rows, []any{&h}, func() error {
				for _, cf := range byHash[string(h)] {
					cf.suppressed = true
				}
				return nil
			})
			return err
		})
	}
	// The occurrences each contact's requests need, as (contact, name,
	// since) rows; a request that needs every occurrence asks from the
	// beginning of time.
	var occIDs []int64
	var occNames []string
	var occSince []time.Time
	for _, r := range reqs {
		cf := byContact[r.ContactID]
		if cf.contact == nil {
			continue
		}
		for name := range cf.counts {
			k := nurture.EventKey(name)
			var from time.Time
			switch {
			case slices.Contains(r.Needs.Events, k) && (r.Needs.Lookback > 0 || r.Needs.EventHistory):
				from = time.Time{}
			case slices.Contains(r.Needs.Since, k):
				from = r.Since
			default:
				continue
			}
			if cur, ok := cf.occSince[name]; !ok || from.Before(cur) {
				cf.occSince[name] = from
			}
		}
	}
	for _, id := range ids {
		for name, from := range byContact[id].occSince {
			occIDs, occNames, occSince = append(occIDs, id), append(occNames, name), append(occSince, from)
		}
	}
	if len(occIDs) > 0 {
		b.Queue(`SELECT e.contact_id, e.name, e.occurred_at, e.properties
			FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS q(contact_id, name, since)
			JOIN events e ON e.contact_id = q.contact_id AND e.name = q.name AND e.type = 'track' AND e.occurred_at >= q.since`,
			occIDs, occNames, occSince).Query(func(rows pgx.Rows) error {
			var id int64
			var name string
			var o occurrence
			_, err := pgx.ForEachRow(rows, []any{&id, &name, &o.at, &o.properties}, func() error {
				byContact[id].occurrences[name] = append(byContact[id].occurrences[name], o)
				o = occurrence{}
				return nil
			})
			return err
		})
	}
	var hitIDs []int64
	for _, id := range emailIDs {
		if len(byContact[id].emails) > 0 {
			hitIDs = append(hitIDs, id)
		}
	}
	if len(hitIDs) > 0 {
		b.Queue(`SELECT contact_id, message_id, kind, class, at FROM email_events WHERE contact_id = ANY($1)`, hitIDs).Query(func(rows pgx.Rows) error {
			var id, msg int64
			var h nurture.EmailHit
			_, err := pgx.ForEachRow(rows, []any{&id, &msg, &h.Kind, &h.Class, &h.At}, func() error {
				byContact[id].hits[msg] = append(byContact[id].hits[msg], h)
				return nil
			})
			return err
		})
	}
	if b.Len() > 0 {
		if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, fmt.Errorf("load facts: %w", err)
		}
	}

	out := make([]*nurture.Facts, len(reqs))
	for i, r := range reqs {
		if cf := byContact[r.ContactID]; cf.contact != nil {
			out[i] = cf.facts(r)
		}
	}
	return out, nil
}

// facts cuts the Facts of one request out of its contact's rows.
func (cf *contactFacts) facts(r nurture.FactsRequest) *nurture.Facts {
	c := *cf.contact
	f := &nurture.Facts{Contact: &c, Events: map[string]*nurture.EventFacts{}, OptOuts: slices.Clone(cf.optOuts),
		Suppressed: cf.suppressed || c.Email == ""} // no address: nowhere to send to
	wantCounts := slices.Concat(r.Needs.Events, r.Needs.Since)
	for name, n := range cf.counts {
		// Names are grouped as sent and keyed here: EventKey folds the
		// spellings of one event (signed_up, Signed Up) together.
		k := nurture.EventKey(name)
		if !slices.Contains(wantCounts, k) {
			continue
		}
		e := f.Events[k]
		if e == nil {
			e = &nurture.EventFacts{}
			f.Events[k] = e
		}
		e.Count += n
		all := slices.Contains(r.Needs.Events, k) && (r.Needs.Lookback > 0 || r.Needs.EventHistory)
		if !all && !slices.Contains(r.Needs.Since, k) {
			continue
		}
		for _, o := range cf.occurrences[name] {
			if all || !o.at.Before(r.Since) {
				e.Occurrences = append(e.Occurrences, nurture.EventOccurrence{At: o.at, Properties: o.properties})
			}
		}
	}
	if r.Needs.Company {
		f.Company = nurture.CompanyRecordFacts(cf.company) // a map of its own: nil without a company
	}
	if r.Needs.Emails {
		for _, e := range cf.emails {
			e.Hits = slices.Clone(cf.hits[e.MessageID])
			f.Emails = append(f.Emails, e)
		}
	}
	return f
}
