package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// profileColumns are the typed profile columns: each field of
// nurture.ProfileFields has a column of the same name.
var profileColumns = func() []string {
	cols := make([]string, len(nurture.ProfileFields))
	for i, f := range nurture.ProfileFields {
		cols[i] = f.Name
	}
	return cols
}()

func profileValues(c *nurture.Contact) []any {
	vals := make([]any, len(nurture.ProfileFields))
	for i, f := range nurture.ProfileFields {
		vals[i] = *f.Get(c)
	}
	return vals
}

func profileTargets(c *nurture.Contact) []any {
	targets := make([]any, len(nurture.ProfileFields))
	for i, f := range nurture.ProfileFields {
		targets[i] = f.Get(c)
	}
	return targets
}

var contactSelect = "SELECT id, coalesce(external_id, ''), coalesce(email, ''), coalesce(company_id, 0), " +
	strings.Join(profileColumns, ", ") + ", attributes, trait_times, told, created_at, updated_at, coalesce(held_at, 'epoch') FROM contacts"

func scanContact(row pgx.Row) (*nurture.Contact, error) {
	c := &nurture.Contact{}
	targets := append([]any{&c.ID, &c.ExternalID, &c.Email, &c.CompanyID}, profileTargets(c)...)
	targets = append(targets, &c.Attributes, &c.TraitTimes, &c.Told, &c.CreatedAt, &c.UpdatedAt, &c.HeldSince)
	if err := row.Scan(targets...); err != nil {
		return nil, err
	}
	c.HeldSince = zeroEpoch(c.HeldSince)
	return c, nil
}

// Contact returns the contact with the given id. Erased contacts are not found.
func (db *DB) Contact(ctx context.Context, id int64) (*nurture.Contact, error) {
	c, err := scanContact(db.pool.QueryRow(ctx, contactSelect+" WHERE id = $1 AND erased_at IS NULL", id))
	if err != nil {
		return nil, notFound(err, "contact")
	}
	return c, nil
}

// ContactByExternalID returns the contact the product knows as externalID.
func (db *DB) ContactByExternalID(ctx context.Context, externalID string) (*nurture.Contact, error) {
	c, err := scanContact(db.pool.QueryRow(ctx, contactSelect+" WHERE external_id = $1 AND erased_at IS NULL", externalID))
	if err != nil {
		return nil, notFound(err, "contact")
	}
	return c, nil
}

// UpsertContact finds the contact by external id, else by email, and merges
// p into it: non-empty profile fields replace the stored ones, attributes are
// merged key by key, except those the person corrected (told). A contact is created when none matches. An email that
// already belongs to a contact with another external id is a conflict: two
// different users never merge by accident.
func (db *DB) UpsertContact(ctx context.Context, p *nurture.Contact) (c *nurture.Contact, created bool, err error) {
	if p.ExternalID == "" && p.Email == "" {
		return nil, false, nurture.FieldError("userId", "or an email trait is required")
	}
	// A concurrent insert of the same person loses the unique race once; the
	// second pass then finds and updates the winner's row.
	for attempt := 0; ; attempt++ {
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			c, created, err = upsertContact(ctx, tx, p)
			if err != nil {
				return err
			}
			if err := holdErased(ctx, tx, db.ErasureKey, []*nurture.Contact{c}); err != nil {
				return err
			}
			if err := db.rehome(ctx, tx, []*nurture.Contact{c}); err != nil {
				return err
			}
			// What the caller gets back says whether it is held.
			c, err = scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1", c.ID))
			return err
		})
		if err != nil && isUniqueViolation(err) && attempt == 0 {
			continue
		}
		return c, created, err
	}
}

func upsertContact(ctx context.Context, tx pgx.Tx, p *nurture.Contact) (*nurture.Contact, bool, error) {
	existing, err := findForUpdate(ctx, tx, p)
	if err != nil {
		return nil, false, err
	}
	attrs := p.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	if existing == nil {
		cols := append([]string{"external_id", "email"}, profileColumns...)
		cols = append(cols, "attributes")
		args := append([]any{nullable(p.ExternalID), nullable(p.Email)}, profileValues(p)...)
		args = append(args, attrs)
		sql := fmt.Sprintf("INSERT INTO contacts (%s) VALUES (%s) RETURNING id",
			strings.Join(cols, ", "), placeholders(1, len(cols)))
		var id int64
		if err := tx.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			return nil, false, fmt.Errorf("insert contact: %w", err)
		}
		c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1", id))
		return c, true, err
	}

	// What the person told us (a correction) stays as they said it.
	sets := []string{
		"external_id = coalesce(external_id, $2)",
		"email = CASE WHEN told ? 'email' THEN email ELSE coalesce($3, email) END",
	}
	for i, col := range profileColumns {
		sets = append(sets, fmt.Sprintf("%[1]s = CASE WHEN told ? '%[1]s' THEN %[1]s ELSE coalesce(nullif($%[2]d, ''), %[1]s) END", col, i+4))
	}
	sets = append(sets, fmt.Sprintf(`attributes = attributes || (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each($%d::jsonb) a(k, v)
		WHERE NOT told ? ('attributes.' || k))`, len(profileColumns)+4), "updated_at = now()")
	args := append([]any{existing.ID, nullable(p.ExternalID), nullable(p.Email)}, profileValues(p)...)
	args = append(args, attrs)
	sql := "UPDATE contacts SET " + strings.Join(sets, ", ") + " WHERE id = $1"
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		if isUniqueViolation(err) {
			return nil, false, &nurture.Error{Code: nurture.CodeConflict, Field: "email",
				Message: "belongs to another contact"}
		}
		return nil, false, fmt.Errorf("update contact: %w", err)
	}
	c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1", existing.ID))
	return c, false, err
}

// findForUpdate locks the contact that p refers to, or returns nil.
func findForUpdate(ctx context.Context, tx pgx.Tx, p *nurture.Contact) (*nurture.Contact, error) {
	if p.ExternalID != "" {
		c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE external_id = $1 AND erased_at IS NULL FOR UPDATE", p.ExternalID))
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("find contact: %w", err)
		}
	}
	if p.Email == "" {
		return nil, nil
	}
	c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE lower(email) = lower($1) AND erased_at IS NULL FOR UPDATE", p.Email))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find contact: %w", err)
	}
	if p.ExternalID != "" && c.ExternalID != "" && c.ExternalID != p.ExternalID {
		return nil, &nurture.Error{Code: nurture.CodeConflict, Field: "email",
			Message: "belongs to another user"}
	}
	return c, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "$from, ..., $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}

// Engagement returns the engagement summary of contact id; a contact with no
// recorded activity has a zero summary.
func (db *DB) Engagement(ctx context.Context, id int64) (*nurture.EngagementSummary, error) {
	var first, last, open, click *time.Time
	e := &nurture.EngagementSummary{Actions: map[string]int64{}}
	err := db.pool.QueryRow(ctx, `SELECT g.first_seen_at, g.last_seen_at, coalesce(g.page_views, 0),
			(SELECT coalesce(jsonb_object_agg(action, count), '{}') FROM engagement_actions WHERE contact_id = $1),
			`+lastHumanHit("open", "$1")+`, `+lastHumanHit("click", "$1")+`
		FROM (SELECT $1::bigint AS id) k LEFT JOIN engagement g ON g.contact_id = k.id`, id).Scan(&first, &last, &e.PageViews, &e.Actions, &open, &click)
	if err != nil {
		return nil, fmt.Errorf("engagement: %w", err)
	}
	for _, p := range []struct {
		src *time.Time
		dst *time.Time
	}{{first, &e.FirstSeen}, {last, &e.LastSeen}, {open, &e.LastOpen}, {click, &e.LastClick}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	return e, nil
}

// Contacts returns the contacts with the given ids that exist and are not
// erased, by id.
func (db *DB) Contacts(ctx context.Context, ids []int64) (map[int64]*nurture.Contact, error) {
	rows, err := db.pool.Query(ctx, contactSelect+" WHERE id = ANY($1) AND erased_at IS NULL", ids)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	out := make(map[int64]*nurture.Contact, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}

// lastHumanHit is the SQL of a contact's last open or click made by a
// person (machines and bots left out): the later of those still kept and
// the one the retention job kept in the summary (engagement g) when it
// deleted older ones.
func lastHumanHit(kind, contact string) string {
	return `greatest(g.last_` + kind + `_at, (SELECT max(at) FROM email_events WHERE contact_id = ` + contact + ` AND kind = '` + kind + `' AND class = 'human'))`
}

// EngagementOf returns the engagement summaries of the contacts that have
// one, by contact id.
func (db *DB) EngagementOf(ctx context.Context, ids []int64) (map[int64]*nurture.EngagementSummary, error) {
	rows, err := db.pool.Query(ctx, `SELECT g.contact_id, coalesce(first_seen_at, 'epoch'), coalesce(last_seen_at, 'epoch'), page_views,
		(SELECT coalesce(jsonb_object_agg(action, count), '{}') FROM engagement_actions a WHERE a.contact_id = g.contact_id),
		coalesce(`+lastHumanHit("open", "g.contact_id")+`, 'epoch'), coalesce(`+lastHumanHit("click", "g.contact_id")+`, 'epoch')
		FROM engagement g WHERE contact_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("engagement: %w", err)
	}
	out := map[int64]*nurture.EngagementSummary{}
	var id int64
	var e nurture.EngagementSummary
	_, err = pgx.ForEachRow(rows, []any{&id, &e.FirstSeen, &e.LastSeen, &e.PageViews, &e.Actions, &e.LastOpen, &e.LastClick}, func() error {
		s := e
		s.FirstSeen, s.LastSeen, s.LastOpen, s.LastClick = zeroEpoch(e.FirstSeen), zeroEpoch(e.LastSeen), zeroEpoch(e.LastOpen), zeroEpoch(e.LastClick)
		out[id] = &s
		e = nurture.EngagementSummary{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engagement: %w", err)
	}
	return out, nil
}

// ContactByEmail returns the contact with that address, whatever its case.
func (db *DB) ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error) {
	c, err := scanContact(db.pool.QueryRow(ctx, contactSelect+" WHERE lower(email) = lower($1) AND erased_at IS NULL", email))
	if err != nil {
		return nil, notFound(err, "contact")
	}
	return c, nil
}

// ContactOptOuts returns the topics contact id opted out of, with when and
// how, in topic order.
func (db *DB) ContactOptOuts(ctx context.Context, id int64) ([]nurture.OptOut, error) {
	rows, err := db.pool.Query(ctx, `SELECT topic, created_at, via FROM topic_optouts WHERE contact_id = $1 ORDER BY topic`, id)
	if err != nil {
		return nil, fmt.Errorf("contact opt-outs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.OptOut, error) {
		var o nurture.OptOut
		err := r.Scan(&o.Topic, &o.Since, &o.Via)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("contact opt-outs: %w", err)
	}
	return out, nil
}

// ContactSuppression returns the suppression of email, or nil when the
// address may be mailed.
func (db *DB) ContactSuppression(ctx context.Context, email string) (*nurture.Suppression, error) {
	s := &nurture.Suppression{}
	err := db.pool.QueryRow(ctx, `SELECT reason, detail, created_at FROM suppressions WHERE email_hash = $1`,
		nurture.EmailHash(email)).Scan(&s.Reason, &s.Detail, &s.Since)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("contact suppression: %w", err)
	}
	return s, nil
}
