package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// searchField is a field the contact search matches on: the lower-cased
// expression an index of migration 00028 holds, and the condition of that
// index when it is partial.
type searchField struct {
	name    string // nurture.MatchName...
	expr    string
	partial string
}

var (
	searchName     = searchField{nurture.MatchName, `lower(btrim(first_name || ' ' || last_name))`, ""}
	searchLastName = searchField{nurture.MatchLastName, `lower(last_name)`, `last_name <> ''`}
	searchCompany  = searchField{nurture.MatchCompany, `lower(company)`, `company <> ''`}
	searchEmail    = searchField{nurture.MatchEmail, `lower(email)`, ""}
)

// searchBranch is the statement that finds, in the order of one field's
// index, the contacts whose field starts with the prefix ($1) and come
// after the cursor ($2, $3). The prefix is the range ~>=~ lower($1) and
// ~<~ lower($1) || U+10FFFF (the highest code point: byte by byte, a text
// that starts with the prefix sorts before it, and one in the range
// starts with the prefix), one range of the field's index, read in order
// up to the page's size. Written as starts_with or LIKE, the planner
// multiplies in a guess of that condition's selectivity, expects a few
// rows where there are 400,000 (a one-letter prefix of a million names),
// and sorts them all (1.3 s) rather than reading the first 50 in the
// index's order. A branch filters nothing out beyond the range: leaving
// out, say, the addresses whose owner's name matches too read past every
// such entry and its row (40,000 of them for "ja", 200 ms), so a contact
// found by two fields is dropped from the page by SearchContacts instead.
func searchBranch(f searchField) string {
	var b strings.Builder
	b.WriteString(`(SELECT id, coalesce(email, ''), first_name, last_name, company, created_at, '` + f.name + `', ` + f.expr + `
		FROM contacts WHERE erased_at IS NULL`)
	if f.partial != "" {
		b.WriteString(` AND ` + f.partial)
	}
	e := f.expr
	b.WriteString(` AND ` + e + ` ~>=~ lower($1::text) AND ` + e + ` ~<~ (lower($1::text) || chr(1114111))
		AND ` + e + ` ~>=~ $2::text AND (` + e + ` ~>~ $2::text OR id > $3::bigint)`)
	b.WriteString(` ORDER BY ` + e + ` USING ~<~, id LIMIT $4)`)
	return b.String()
}

// searchStatements are the statements of an address search and of a
// name or company search.
var searchStatements = func() map[bool]string {
	build := func(fields []searchField) string {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = searchBranch(f)
		}
		return `SELECT * FROM (` + strings.Join(parts, "\nUNION ALL\n") + `) m (id, email, first_name, last_name, company, created_at, field, key)
			ORDER BY key USING ~<~, id LIMIT $4`
	}
	return map[bool]string{
		true:  build([]searchField{searchEmail}),
		false: build([]searchField{searchName, searchLastName, searchCompany, searchEmail}),
	}
}()

// SearchContacts returns up to limit contacts that q finds, after the
// cursor, in the order of the value they matched on (lower case, byte by
// byte), then of their id. Erased contacts are never found. Each field is
// one range of its own index (migration 00028), so a page costs the same
// with a thousand contacts or a million.
func (db *DB) SearchContacts(ctx context.Context, q nurture.ContactQuery, after nurture.ContactCursor, limit int) ([]nurture.ContactMatch, error) {
	fields := []searchField{searchEmail}
	if !q.Address {
		fields = []searchField{searchName, searchLastName, searchCompany, searchEmail}
	}
	prefix := strings.ToLower(q.Text)
	var out []nurture.ContactMatch
	for len(out) < limit {
		rows, err := db.pool.Query(ctx, searchStatements[q.Address], q.Text, after.Key, after.ID, limit)
		if err != nil {
			return nil, fmt.Errorf("search contacts: %w", err)
		}
		read, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.ContactMatch, error) {
			var m nurture.ContactMatch
			err := r.Scan(&m.ID, &m.Email, &m.FirstName, &m.LastName, &m.Company, &m.CreatedAt, &m.Field, &m.Key)
			return m, err
		})
		if err != nil {
			return nil, fmt.Errorf("search contacts: %w", err)
		}
		for _, m := range read {
			after = m.Cursor()
			if listedAt(m, fields, prefix) == m.Field && len(out) < limit {
				out = append(out, m)
			}
		}
		if len(read) < limit {
			break
		}
	}
	return out, nil
}

// listedAt is the one field a contact is listed under when several of its
// fields start with the prefix: the one whose value comes first in the
// results' order (byte by byte), the earlier in fields on a tie. The
// others' rows are left out, on whichever page they come, so that every
// contact is listed once.
func listedAt(m nurture.ContactMatch, fields []searchField, prefix string) string {
	best, bestKey := "", ""
	for _, f := range fields {
		var key string
		switch f.name {
		case nurture.MatchName:
			key = strings.Trim(m.FirstName+" "+m.LastName, " ")
		case nurture.MatchLastName:
			key = m.LastName
		case nurture.MatchCompany:
			key = m.Company
		case nurture.MatchEmail:
			key = m.Email
		}
		key = strings.ToLower(key)
		if key == "" || !strings.HasPrefix(key, prefix) {
			continue
		}
		if best == "" || key < bestKey {
			best, bestKey = f.name, key
		}
	}
	if best == "" {
		return m.Field // lower-casing here and in PostgreSQL disagree: keep the row
	}
	return best
}

// timelineStatement reads a page of a contact's timeline: the latest
// lines of each source before the cursor, each read newest first from an
// index by contact (events_contact_idx, email_events_contact_idx; a
// contact's messages through messages_contact_idx, sorted: they are
// few), merged and cut to the page. Lines of the same time come in the
// order of their kind's rank, then of their id, so that the cursor
// (time, rank, id) is a place in one order.
const timelineStatement = `SELECT * FROM (
	(SELECT 'event', occurred_at, id, type, name, 0::bigint, '', '', '', '', '', '', ''
		FROM events WHERE contact_id = $1 AND occurred_at <= $2
		AND (occurred_at, 3, id) < ($2, $3, $4)
		ORDER BY occurred_at DESC, id DESC LIMIT $5)
	UNION ALL
	(SELECT 'message', coalesce(sent_at, send_at), id, '', '', id, template, subject, status, last_error, '', '', region
		FROM messages WHERE contact_id = $1 AND coalesce(sent_at, send_at) <= $2
		AND (coalesce(sent_at, send_at), 2, id) < ($2, $3, $4)
		ORDER BY 2 DESC, id DESC LIMIT $5)
	UNION ALL
	(SELECT h.kind, h.at, h.id, '', '', h.message_id, coalesce(m.template, ''), coalesce(m.subject, ''), '', '', h.class, coalesce(h.url, ''), ''
		FROM email_events h LEFT JOIN messages m ON m.id = h.message_id
		WHERE h.contact_id = $1 AND h.at <= $2
		AND (h.at, 1, h.id) < ($2, $3, $4)
		ORDER BY h.at DESC, h.id DESC LIMIT $5)
) t (kind, at, id, event_type, name, message_id, template, subject, status, last_error, class, url, region)
ORDER BY at DESC, CASE kind WHEN 'event' THEN 3 WHEN 'message' THEN 2 ELSE 1 END DESC, id DESC LIMIT $5`

// ContactTimeline returns up to limit lines of contact id's timeline
// before the cursor, newest first: its events, its messages with their
// status, and the opens and clicks of them. An erased or unknown contact
// has none.
func (db *DB) ContactTimeline(ctx context.Context, id int64, before nurture.TimelineCursor, limit int) ([]nurture.TimelineEntry, error) {
	at, rank, last := before.At, before.Rank, before.ID
	if at.IsZero() {
		at, rank, last = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 4, 0
	}
	rows, err := db.pool.Query(ctx, timelineStatement, id, at, rank, last, limit)
	if err != nil {
		return nil, fmt.Errorf("contact timeline: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.TimelineEntry, error) {
		var e nurture.TimelineEntry
		err := r.Scan(&e.Kind, &e.At, &e.ID, &e.EventType, &e.Name, &e.MessageID, &e.Template, &e.Subject,
			&e.Status, &e.LastError, &e.Class, &e.URL, &e.Region)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("contact timeline: %w", err)
	}
	return out, nil
}
