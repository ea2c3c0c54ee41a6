package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nurture-email/nurture"
)

// Ingest stores a batch of calls in one transaction: all of it or nothing.
// Calls whose messageId is already stored are skipped, so a replayed batch
// changes nothing. The work is set-based: a batch costs about ten
// statements, whatever its size. readTraits reads the traits of stored
// identify events, spelled as the API that received them spells them,
// when an anonymous id joins a contact.
func (db *DB) Ingest(ctx context.Context, calls []nurture.Call, readTraits nurture.TraitsReader, now time.Time) (*nurture.IngestResult, error) {
	for attempt := 0; ; attempt++ {
		var res *nurture.IngestResult
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var err error
			res, err = db.ingest(ctx, tx, calls, readTraits, now)
			return err
		})
		// Two batches creating the same new user at once: the loser's
		// unique violation rolls back, and its second pass finds the user.
		if err != nil && attempt < 3 && (isUniqueViolation(err) || isDeadlock(err)) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		return res, nil
	}
}

func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (db *DB) ingest(ctx context.Context, tx pgx.Tx, all []nurture.Call, readTraits nurture.TraitsReader, now time.Time) (*nurture.IngestResult, error) {
	res := &nurture.IngestResult{}
	calls, err := newCalls(ctx, tx, all)
	if err != nil {
		return nil, err
	}
	res.Duplicates = len(all) - len(calls)
	if len(calls) == 0 {
		return res, nil
	}
	state, err := loadState(ctx, tx, calls)
	if err != nil {
		return nil, err
	}
	state.ReadTraits = readTraits
	// Only a batch with group calls, or whose anonymous history has some,
	// reads companies: the others pay no extra statement.
	if groups, domains := companyKeys(calls, state.Pending); len(groups) > 0 {
		companies, err := loadCompanies(ctx, tx, groups, domains)
		if err != nil {
			return nil, err
		}
		state.AddCompanies(companies)
	}
	plan, err := nurture.PlanIngest(state, calls)
	if err != nil {
		return nil, err
	}
	res.Warnings = plan.Warnings

	if err := writeCompanies(ctx, tx, plan); err != nil {
		return nil, err
	}
	if err := insertContacts(ctx, tx, plan.Created); err != nil {
		return nil, err
	}
	if err := updateContacts(ctx, tx, plan.Updated); err != nil {
		return nil, err
	}
	if err := holdErased(ctx, tx, db.ErasureKey, append(plan.Created[:len(plan.Created):len(plan.Created)], plan.Updated...)); err != nil {
		return nil, err
	}
	if err := linkAnonymous(ctx, tx, plan.Links); err != nil {
		return nil, err
	}
	stored, err := insertEvents(ctx, tx, plan.Events)
	if err != nil {
		return nil, err
	}
	res.Stored = len(stored)
	res.Duplicates += len(plan.Events) - len(stored)
	if err := addEngagement(ctx, tx, nurture.Summarize(append(stored, plan.Relinked...))); err != nil {
		return nil, err
	}
	if err := recordEmailChanges(ctx, tx, plan.EmailChanges); err != nil {
		return nil, err
	}
	if err := db.signalIngested(ctx, tx, stored); err != nil {
		return nil, err
	}
	if err := db.rehome(ctx, tx, append(plan.Created[:len(plan.Created):len(plan.Created)], plan.Updated...)); err != nil {
		return nil, err
	}
	return res, nil
}

// newCalls drops the calls whose messageId was received already (event_keys
// keeps them for the events' retention, whatever month the call's
// timestamp falls in), or repeated within the batch.
func newCalls(ctx context.Context, tx pgx.Tx, calls []nurture.Call) ([]nurture.Call, error) {
	ids := make([]string, len(calls))
	for i := range calls {
		ids[i] = calls[i].MessageID
	}
	rows, err := tx.Query(ctx, `SELECT message_id FROM event_keys WHERE message_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("find seen calls: %w", err)
	}
	seenIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find seen calls: %w", err)
	}
	seen := make(map[string]bool, len(calls))
	for _, id := range seenIDs {
		seen[id] = true
	}
	out := make([]nurture.Call, 0, len(calls))
	for _, c := range calls {
		if !seen[c.MessageID] {
			seen[c.MessageID] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// loadState reads and locks what the batch mentions: its users' contacts,
// its anonymous ids' links, and the unlinked history of those ids.
func loadState(ctx context.Context, tx pgx.Tx, calls []nurture.Call) (*nurture.IngestState, error) {
	var userIDs, anonIDs, emails []string
	for i := range calls {
		c := &calls[i]
		if c.UserID != "" {
			userIDs = append(userIDs, c.UserID)
		}
		if c.AnonymousID != "" {
			anonIDs = append(anonIDs, c.AnonymousID)
		}
		if c.PreviousID != "" {
			userIDs, anonIDs = append(userIDs, c.PreviousID), append(anonIDs, c.PreviousID)
		}
		if c.Profile != nil && c.Profile.Email != "" {
			emails = append(emails, strings.ToLower(c.Profile.Email))
		}
	}
	links := map[string]int64{}
	var linkedIDs []int64
	if len(anonIDs) > 0 {
		rows, err := tx.Query(ctx, `SELECT anonymous_id, contact_id FROM anonymous_ids WHERE anonymous_id = ANY($1)`, anonIDs)
		if err != nil {
			return nil, fmt.Errorf("load anonymous ids: %w", err)
		}
		var anon string
		var id int64
		_, err = pgx.ForEachRow(rows, []any{&anon, &id}, func() error {
			links[anon] = id
			linkedIDs = append(linkedIDs, id)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load anonymous ids: %w", err)
		}
	}
	// Locked in id order, so that concurrent batches cannot deadlock.
	rows, err := tx.Query(ctx, contactSelect+` WHERE (external_id = ANY($1) OR lower(email) = ANY($2) OR id = ANY($3))
		AND erased_at IS NULL ORDER BY id FOR UPDATE`, userIDs, emails, linkedIDs)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	contacts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}

	pending := map[string][]nurture.Event{}
	var unlinked []string
	for _, a := range anonIDs {
		if _, ok := links[a]; !ok {
			unlinked = append(unlinked, a)
		}
	}
	if len(unlinked) > 0 {
		rows, err := tx.Query(ctx, `SELECT anonymous_id, type, name, properties, occurred_at FROM events
			WHERE anonymous_id = ANY($1) AND contact_id IS NULL ORDER BY occurred_at, id`, unlinked)
		if err != nil {
			return nil, fmt.Errorf("load anonymous history: %w", err)
		}
		var anon string
		var ev nurture.Event
		_, err = pgx.ForEachRow(rows, []any{&anon, &ev.Type, &ev.Name, &ev.Properties, &ev.OccurredAt}, func() error {
			pending[anon] = append(pending[anon], ev)
			ev = nurture.Event{}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load anonymous history: %w", err)
		}
	}
	return nurture.NewIngestState(contacts, links, pending), nil
}

// contactRow is a contact as a JSON record for jsonb_to_recordset, which
// lets one statement write many rows.
func contactRow(c *nurture.Contact) map[string]any {
	row := map[string]any{
		"id":          c.ID,
		"external_id": nullable(c.ExternalID),
		"email":       nullable(c.Email),
		"company_id":  nullableID(c.CompanyID),
		"attributes":  c.Attributes,
		"trait_times": c.TraitTimes,
	}
	for _, f := range nurture.ProfileFields {
		row[f.Name] = *f.Get(c)
	}
	return row
}

// contactRecordType is the column list of a contactRow for jsonb_to_recordset.
var contactRecordType = func() string {
	cols := []string{"id bigint", "external_id text", "email text", "company_id bigint", "attributes jsonb", "trait_times jsonb"}
	for _, f := range nurture.ProfileFields {
		cols = append(cols, f.Name+" text")
	}
	return strings.Join(cols, ", ")
}()

// contactRows returns the rows as JSON text: through pgbouncer (exec mode)
// PostgreSQL types a text parameter from the statement, not bytes.
func contactRows(cs []*nurture.Contact) (string, error) {
	rows := make([]map[string]any, len(cs))
	for i, c := range cs {
		rows[i] = contactRow(c)
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

func insertContacts(ctx context.Context, tx pgx.Tx, cs []*nurture.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	data, err := contactRows(cs)
	if err != nil {
		return err
	}
	cols := append([]string{"external_id", "email", "company_id", "attributes", "trait_times"}, profileColumns...)
	list := strings.Join(cols, ", ")
	rows, err := tx.Query(ctx, `INSERT INTO contacts (`+list+`)
		SELECT `+list+` FROM jsonb_to_recordset($1) AS r(`+contactRecordType+`)
		RETURNING id, coalesce(external_id, ''), coalesce(lower(email), ''), created_at`, data)
	if err != nil {
		return fmt.Errorf("insert contacts: %w", err)
	}
	byExt, byEmail := map[string]*nurture.Contact{}, map[string]*nurture.Contact{}
	for _, c := range cs {
		if c.ExternalID != "" {
			byExt[c.ExternalID] = c
		} else {
			byEmail[strings.ToLower(c.Email)] = c
		}
	}
	var id int64
	var ext, email string
	var created time.Time
	_, err = pgx.ForEachRow(rows, []any{&id, &ext, &email, &created}, func() error {
		c := byExt[ext]
		if ext == "" {
			c = byEmail[email]
		}
		if c == nil {
			return fmt.Errorf("inserted contact %d matches no planned contact", id)
		}
		c.ID, c.CreatedAt, c.UpdatedAt = id, created, created
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert contacts: %w", err)
	}
	return nil
}

func updateContacts(ctx context.Context, tx pgx.Tx, cs []*nurture.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	data, err := contactRows(cs)
	if err != nil {
		return err
	}
	sets := []string{"external_id = r.external_id", "email = r.email", "company_id = r.company_id", "attributes = r.attributes",
		"trait_times = r.trait_times", "updated_at = now()"}
	for _, col := range profileColumns {
		sets = append(sets, col+" = r."+col)
	}
	_, err = tx.Exec(ctx, `UPDATE contacts c SET `+strings.Join(sets, ", ")+`
		FROM jsonb_to_recordset($1) AS r(`+contactRecordType+`) WHERE c.id = r.id`, data)
	if err != nil {
		return fmt.Errorf("update contacts: %w", err)
	}
	return nil
}

// linkAnonymous records the links and gives the linked ids' stored events
// to their contact.
func linkAnonymous(ctx context.Context, tx pgx.Tx, links []nurture.AnonymousLink) error {
	if len(links) == 0 {
		return nil
	}
	anon, ids := make([]string, len(links)), make([]int64, len(links))
	for i, l := range links {
		anon[i], ids[i] = l.AnonymousID, l.Contact.ID
	}
	_, err := tx.Exec(ctx, `INSERT INTO anonymous_ids (anonymous_id, contact_id)
		SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`, anon, ids)
	if err != nil {
		return fmt.Errorf("link anonymous ids: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE events e SET contact_id = l.contact_id
		FROM unnest($1::text[], $2::bigint[]) AS l(anonymous_id, contact_id)
		WHERE e.anonymous_id = l.anonymous_id AND e.contact_id IS NULL`, anon, ids)
	if err != nil {
		return fmt.Errorf("link anonymous events: %w", err)
	}
	return nil
}

// insertEvents stores the planned events and returns those that were new
// (a concurrent batch may have stored the same messageId meanwhile).
func insertEvents(ctx context.Context, tx pgx.Tx, events []nurture.PlannedEvent) ([]nurture.PlannedEvent, error) {
	n := len(events)
	var (
		contactIDs = make([]*int64, n)
		anonIDs    = make([]*string, n)
		messageIDs = make([]string, n)
		types      = make([]string, n)
		names      = make([]string, n)
		props      = make([]map[string]any, n)
		raws       = make([]map[string]any, n)
		times      = make([]time.Time, n)
	)
	byMessageID := make(map[string]nurture.PlannedEvent, n)
	for i, ev := range events {
		call := ev.Call
		if ev.Contact != nil {
			contactIDs[i] = &ev.Contact.ID
		}
		if call.AnonymousID != "" {
			anonIDs[i] = &call.AnonymousID
		}
		messageIDs[i], types[i], names[i], times[i] = call.MessageID, string(call.Type), call.Name, call.Timestamp
		props[i], raws[i] = orEmpty(call.Properties), orEmpty(call.Raw)
		byMessageID[call.MessageID] = ev
	}
	// The messageId's key is what makes the call idempotent: events are
	// partitioned by month and cannot hold a key unique across months.
	rows, err := tx.Query(ctx, `WITH k AS (
			INSERT INTO event_keys (message_id) SELECT unnest($3::text[])
			ON CONFLICT DO NOTHING RETURNING message_id)
		INSERT INTO events (contact_id, anonymous_id, message_id, type, name, properties, raw, occurred_at)
		SELECT e.* FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::json[], $8::timestamptz[])
			AS e(contact_id, anonymous_id, message_id, type, name, properties, raw, occurred_at)
		WHERE e.message_id IN (SELECT message_id FROM k)
		RETURNING message_id`,
		contactIDs, anonIDs, messageIDs, types, names, props, raws, times)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	stored := make([]nurture.PlannedEvent, 0, len(ids))
	for _, id := range ids {
		stored = append(stored, byMessageID[id])
	}
	return stored, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func addEngagement(ctx context.Context, tx pgx.Tx, deltas map[*nurture.Contact]*nurture.Engagement) error {
	if len(deltas) == 0 {
		return nil
	}
	var (
		ids         []int64
		first, last []time.Time
		views       []int64
		actionIDs   []int64
		actions     []string
		counts      []int64
	)
	for c, e := range deltas {
		ids, first, last, views = append(ids, c.ID), append(first, e.FirstSeen), append(last, e.LastSeen), append(views, e.PageViews)
		for name, n := range e.Actions {
			actionIDs, actions, counts = append(actionIDs, c.ID), append(actions, name), append(counts, n)
		}
	}
	// Rows in id order, as everywhere, so concurrent batches cannot deadlock.
	_, err := tx.Exec(ctx, `INSERT INTO engagement AS g (contact_id, first_seen_at, last_seen_at, page_views)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[]) ORDER BY 1
		ON CONFLICT (contact_id) DO UPDATE SET
			first_seen_at = least(g.first_seen_at, excluded.first_seen_at),
			last_seen_at = greatest(g.last_seen_at, excluded.last_seen_at),
			page_views = g.page_views + excluded.page_views`, ids, first, last, views)
	if err != nil {
		return fmt.Errorf("update engagement: %w", err)
	}
	if len(actions) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO engagement_actions AS a (contact_id, action, count)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[]) ORDER BY 1, 2
		ON CONFLICT (contact_id, action) DO UPDATE SET count = a.count + excluded.count`, actionIDs, actions, counts)
	if err != nil {
		return fmt.Errorf("update engagement actions: %w", err)
	}
	return nil
}

func recordEmailChanges(ctx context.Context, tx pgx.Tx, changes []nurture.EmailChange) error {
	for _, ch := range changes {
		_, err := tx.Exec(ctx, `INSERT INTO contact_email_changes (contact_id, old_email, new_email, changed_at)
			VALUES ($1, $2, $3, $4)`, ch.Contact.ID, ch.Old, ch.New, ch.At)
		if err != nil {
			return fmt.Errorf("record email change: %w", err)
		}
	}
	return nil
}
