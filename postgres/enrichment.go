package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Lead enrichment's store. Contacts await enrichment when their
// contact_enrichment row is due: the triggers of migration 00016 request it
// when a contact is created with an address, or its address moves to
// another domain, or its job title changes; RequestEnrichment asks by hand.
// Locks are taken contact first, then its enrichment row, then companies,
// the order ingestion follows too, so the two cannot deadlock.

const enrichmentSelect = `SELECT contact_id, revision, due_at, requested_at, status, reason, domain,
	fields, enriched_at FROM contact_enrichment`

func scanEnrichment(row pgx.Row) (*nurture.Enrichment, error) {
	e := &nurture.Enrichment{}
	var due, enriched *time.Time
	if err := row.Scan(&e.ContactID, &e.Revision, &due, &e.RequestedAt, &e.Status, &e.Reason, &e.Domain, &e.Fields, &enriched); err != nil {
		return nil, err
	}
	e.DueAt, e.EnrichedAt = orZero(due), orZero(enriched)
	return e, nil
}

// Enrichment returns a contact's enrichment, or a not-found error when none
// was ever requested (a contact without an address, or stored before
// enrichment existed).
func (db *DB) Enrichment(ctx context.Context, contactID int64) (*nurture.Enrichment, error) {
	e, err := scanEnrichment(db.pool.QueryRow(ctx, enrichmentSelect+` WHERE contact_id = $1`, contactID))
	if err != nil {
		return nil, notFound(err, "enrichment")
	}
	return e, nil
}

// RequestEnrichment makes a contact's enrichment due now, as a new request
// (POST /v1/contacts/{id}/enrich): research runs again even when the last
// one is recent (the per-domain cache still applies). It returns the
// request, or a not-found error for an unknown or erased contact and an
// invalid one for a contact without an address.
func (db *DB) RequestEnrichment(ctx context.Context, contactID int64, now time.Time) (*nurture.Enrichment, error) {
	var email string
	err := db.pool.QueryRow(ctx, `SELECT coalesce(email, '') FROM contacts WHERE id = $1 AND erased_at IS NULL`, contactID).Scan(&email)
	if err != nil {
		return nil, notFound(err, "contact")
	}
	if email == "" {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "email",
			Message: "the contact has no email address: there is nothing to research"}
	}
	e, err := scanEnrichment(db.pool.QueryRow(ctx, `INSERT INTO contact_enrichment AS e (contact_id, due_at, requested_at)
		VALUES ($1, $2, $2)
		ON CONFLICT (contact_id) DO UPDATE SET revision = e.revision + 1, due_at = $2, queued_at = NULL, requested_at = $2
		RETURNING contact_id, revision, due_at, requested_at, status, reason, domain, fields, enriched_at`,
		contactID, now))
	if err != nil {
		return nil, fmt.Errorf("request enrichment: %w", err)
	}
	return e, nil
}

// DueEnrichments returns up to limit enrichments due by now and not known
// to be queued: never queued, or queued before staleBefore (the task may
// have been lost), oldest first.
func (db *DB) DueEnrichments(ctx context.Context, now, staleBefore time.Time, limit int) ([]nurture.Enrichment, error) {
	rows, err := db.pool.Query(ctx, enrichmentSelect+` WHERE due_at <= $1 AND (queued_at IS NULL OR queued_at < $2)
		ORDER BY due_at LIMIT $3`, now, staleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("due enrichments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.Enrichment, error) {
		e, err := scanEnrichment(r)
		if err != nil {
			return nurture.Enrichment{}, err
		}
		return *e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("due enrichments: %w", err)
	}
	return out, nil
}

// MarkEnrichmentsQueued records that tasks were queued for the contacts'
// enrichments at the given time. A request whose due time moved past at
// meanwhile is left alone: its job already ran and put it off (its domain
// was being researched), and marking it queued would hold it a grace
// period instead of until its new due time.
func (db *DB) MarkEnrichmentsQueued(ctx context.Context, contactIDs []int64, at time.Time) error {
	if len(contactIDs) == 0 {
		return nil
	}
	_, err := db.pool.Exec(ctx, `UPDATE contact_enrichment SET queued_at = $2 WHERE contact_id = ANY($1) AND due_at <= $2`, contactIDs, at)
	if err != nil {
		return fmt.Errorf("mark enrichments queued: %w", err)
	}
	return nil
}

// EnrichmentTarget returns what a lead:enrich job reads of its contact:
// the enrichment request, the address, the job title and the company. A
// contact without a request is a not-found error.
func (db *DB) EnrichmentTarget(ctx context.Context, contactID int64) (*nurture.EnrichmentTarget, error) {
	t := &nurture.EnrichmentTarget{}
	var due, enriched *time.Time
	err := db.pool.QueryRow(ctx, `SELECT e.contact_id, e.revision, e.due_at, e.requested_at, e.status, e.reason,
			e.domain, e.fields, e.enriched_at, coalesce(c.email, ''), c.title, coalesce(c.company_id, 0),
			c.erased_at IS NOT NULL
		FROM contact_enrichment e JOIN contacts c ON c.id = e.contact_id WHERE e.contact_id = $1`, contactID).
		Scan(&t.ContactID, &t.Revision, &due, &t.RequestedAt, &t.Status, &t.Reason, &t.Domain, &t.Fields, &enriched,
			&t.Email, &t.Title, &t.CompanyID, &t.Erased)
	if err != nil {
		return nil, notFound(err, "enrichment")
	}
	t.DueAt, t.EnrichedAt = orZero(due), orZero(enriched)
	return t, nil
}

// CompanyForDomain returns the company a contact's work domain names, and
// links the contact to it when the contact has no company yet (a group
// call's link always wins). The company is the one holding the domain; else
// the contact's own company when it has no domain (it takes this one);
// else a new company with only the domain, which research may fill in and
// a later group call giving that domain adopts.
func (db *DB) CompanyForDomain(ctx context.Context, contactID int64, domain string) (int64, error) {
	var companyID int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var current int64
		err := tx.QueryRow(ctx, `SELECT coalesce(company_id, 0) FROM contacts WHERE id = $1 AND erased_at IS NULL FOR UPDATE`, contactID).Scan(&current)
		if err != nil {
			return notFound(err, "contact")
		}
		err = tx.QueryRow(ctx, `SELECT id FROM companies WHERE domain = $1`, domain).Scan(&companyID)
		if errors.Is(err, pgx.ErrNoRows) && current != 0 {
			err = tx.QueryRow(ctx, `UPDATE companies SET domain = $2, updated_at = now() WHERE id = $1 AND domain IS NULL RETURNING id`,
				current, domain).Scan(&companyID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			// A concurrent job may insert the same domain: the upsert
			// returns the row either way.
			err = tx.QueryRow(ctx, `INSERT INTO companies (domain) VALUES ($1)
				ON CONFLICT (domain) DO UPDATE SET domain = excluded.domain RETURNING id`, domain).Scan(&companyID)
		}
		if err != nil {
			return fmt.Errorf("company of %s: %w", domain, err)
		}
		if current == 0 {
			if _, err := tx.Exec(ctx, `UPDATE contacts SET company_id = $2 WHERE id = $1`, contactID, companyID); err != nil {
				return fmt.Errorf("link contact to %s: %w", domain, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return companyID, nil
}

// ClaimDomainResearch decides who researches a domain. When the domain's
// last research is younger than ttl it returns that research, unclaimed.
// When it is older (or there is none) and no other job holds the domain,
// the caller holds it for lease and must research it (SaveDomainResearch
// lets it go): claimed is true. Otherwise another job is researching it:
// nil and false.
func (db *DB) ClaimDomainResearch(ctx context.Context, domain string, now time.Time, ttl, lease time.Duration) (*nurture.DomainResearch, bool, error) {
	var claimed bool
	err := db.pool.QueryRow(ctx, `INSERT INTO domain_research AS d (domain, claimed_until) VALUES ($1, $2)
		ON CONFLICT (domain) DO UPDATE SET claimed_until = excluded.claimed_until
		WHERE (d.researched_at IS NULL OR d.researched_at < $3) AND (d.claimed_until IS NULL OR d.claimed_until < $4)
		RETURNING true`, domain, now.Add(lease), now.Add(-ttl), now).Scan(&claimed)
	if err == nil {
		return nil, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("claim research of %s: %w", domain, err)
	}
	r := &nurture.DomainResearch{Domain: domain}
	var at *time.Time
	err = db.pool.QueryRow(ctx, `SELECT status, reason, fields, sources, researched_at FROM domain_research WHERE domain = $1`, domain).
		Scan(&r.Status, &r.Reason, &r.Fields, &r.Sources, &at)
	if err != nil {
		return nil, false, fmt.Errorf("read research of %s: %w", domain, err)
	}
	r.ResearchedAt = orZero(at)
	if r.ResearchedAt.IsZero() || r.ResearchedAt.Before(now.Add(-ttl)) {
		return nil, false, nil // someone else holds it
	}
	return r, false, nil
}

// SaveDomainResearch stores a domain's research and lets the domain go.
func (db *DB) SaveDomainResearch(ctx context.Context, r *nurture.DomainResearch) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO domain_research AS d (domain, status, reason, fields, sources, researched_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (domain) DO UPDATE SET status = excluded.status, reason = excluded.reason, fields = excluded.fields,
			sources = excluded.sources, researched_at = excluded.researched_at, claimed_until = NULL`,
		r.Domain, r.Status, r.Reason, emptyFields(r.Fields), orEmptySources(r.Sources), r.ResearchedAt)
	if err != nil {
		return fmt.Errorf("save research of %s: %w", r.Domain, err)
	}
	return nil
}

// DomainResearch returns a domain's stored research, or a not-found error.
func (db *DB) DomainResearch(ctx context.Context, domain string) (*nurture.DomainResearch, error) {
	r := &nurture.DomainResearch{Domain: domain}
	var at *time.Time
	err := db.pool.QueryRow(ctx, `SELECT status, reason, fields, sources, researched_at FROM domain_research WHERE domain = $1`, domain).
		Scan(&r.Status, &r.Reason, &r.Fields, &r.Sources, &at)
	if err != nil {
		return nil, notFound(err, "research")
	}
	r.ResearchedAt = orZero(at)
	return r, nil
}

// DeferEnrichment makes a contact's enrichment due again at the given time
// (its domain is being researched by another job), unless a new request
// came meanwhile.
func (db *DB) DeferEnrichment(ctx context.Context, contactID, revision int64, at time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE contact_enrichment SET due_at = $3, queued_at = NULL WHERE contact_id = $1 AND revision = $2`,
		contactID, revision, at)
	if err != nil {
		return fmt.Errorf("defer enrichment: %w", err)
	}
	return nil
}

// RecordEnrichment records a job's outcome in one transaction: the
// contact's derived fields fill its department and seniority where the
// person did not give them, the company's fill its name, industry, team
// size and country where no group call did, and the enrichment row takes
// the status and the next due time. It records nothing and returns false
// when a new request came after o.Revision (the job's work is stale; the
// contact stays due). An erased contact's request is closed, and nothing
// of it written.
func (db *DB) RecordEnrichment(ctx context.Context, o *nurture.EnrichmentOutcome) (bool, error) {
	recorded := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The contact first, as ingestion locks it.
		var erased bool
		err := tx.QueryRow(ctx, `SELECT erased_at IS NOT NULL FROM contacts WHERE id = $1 FOR UPDATE`, o.ContactID).Scan(&erased)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // gone with its enrichment row
		}
		if err != nil {
			return fmt.Errorf("record enrichment of contact %d: %w", o.ContactID, err)
		}
		var retry *time.Time
		if !o.RetryAt.IsZero() && !erased {
			retry = &o.RetryAt
		}
		tag, err := tx.Exec(ctx, `UPDATE contact_enrichment SET status = $3, reason = $4, domain = $5, fields = $6, enriched_at = $7,
				due_at = $8, queued_at = NULL
			WHERE contact_id = $1 AND revision = $2`,
			o.ContactID, o.Revision, o.Status, o.Reason, o.Domain, emptyFields(o.ContactFields), o.At, retry)
		if err != nil {
			return fmt.Errorf("record enrichment of contact %d: %w", o.ContactID, err)
		}
		if tag.RowsAffected() == 0 {
			return errStale
		}
		if erased {
			recorded = true
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE contacts SET
				department = CASE WHEN trait_times ? 'department' THEN department ELSE $2 END,
				seniority = CASE WHEN trait_times ? 'seniority' THEN seniority ELSE $3 END
			WHERE id = $1`, o.ContactID, fieldValue(o.ContactFields, "department"), fieldValue(o.ContactFields, "seniority"))
		if err != nil {
			return fmt.Errorf("record enrichment of contact %d: %w", o.ContactID, err)
		}
		// What research changed may start a sequence or wake an
		// enrollment waiting on traits, as an identify call would.
		if err := db.signalTraits(ctx, tx, []int64{o.ContactID}, o.At); err != nil {
			return err
		}
		if o.CompanyID != 0 && o.CompanyFields != nil {
			tag, err := tx.Exec(ctx, `UPDATE companies SET
					name = CASE WHEN trait_times ? 'name' THEN name ELSE $2 END,
					industry = CASE WHEN trait_times ? 'industry' THEN industry ELSE $3 END,
					team_size = CASE WHEN trait_times ? 'team_size' THEN team_size ELSE $4 END,
					country = CASE WHEN trait_times ? 'country' THEN country ELSE $5 END,
					enriched = $6, enriched_at = $7, updated_at = now()
				WHERE id = $1 AND enriched IS DISTINCT FROM $6`, o.CompanyID, fieldValue(o.CompanyFields, "name"), fieldValue(o.CompanyFields, "industry"),
				fieldValue(o.CompanyFields, "size"), fieldValue(o.CompanyFields, "country"), o.CompanyFields, o.At)
			if err != nil {
				return fmt.Errorf("record enrichment of company %d: %w", o.CompanyID, err)
			}
			// A new research of the company reaches its other contacts'
			// company.* conditions too (the same research again, from the
			// cache, changes nothing and signals no one).
			if tag.RowsAffected() > 0 {
				var others []int64
				err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(id), '{}') FROM contacts
					WHERE company_id = $1 AND id <> $2 AND erased_at IS NULL`, o.CompanyID, o.ContactID).Scan(&others)
				if err != nil {
					return fmt.Errorf("record enrichment of company %d: %w", o.CompanyID, err)
				}
				if err := db.signalTraits(ctx, tx, others, o.At); err != nil {
					return err
				}
			}
		}
		recorded = true
		return nil
	})
	if errors.Is(err, errStale) {
		return false, nil
	}
	return recorded, err
}

// errStale rolls back an outcome that a newer request made stale.
var errStale = errors.New("a newer enrichment request came")

// fieldValue returns the first value of a field, or "".
func fieldValue(fs []nurture.EnrichedField, field string) string {
	for _, f := range fs {
		if f.Field == field {
			return f.Value
		}
	}
	return ""
}

func emptyFields(fs []nurture.EnrichedField) []nurture.EnrichedField {
	if fs == nil {
		return []nurture.EnrichedField{}
	}
	return fs
}

func orEmptySources(s []nurture.SourceStatus) []nurture.SourceStatus {
	if s == nil {
		return []nurture.SourceStatus{}
	}
	return s
}

// orZero reads a nullable time: NULL is the zero time.
func orZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// signalTraits leaves a traits signal, as an identify call does, for
// each of the contacts when traits start sequences or an enrollment of
// that contact waits on them.
func (db *DB) signalTraits(ctx context.Context, tx pgx.Tx, contactIDs []int64, at time.Time) error {
	if len(contactIDs) == 0 {
		return nil
	}
	trig := db.triggers.Load()
	triggering := trig != nil && trig.Traits
	_, err := tx.Exec(ctx, `INSERT INTO sequence_signals (contact_id, kind, name, properties, at)
		SELECT c.id, $2, '', '{}', $3 FROM unnest($1::bigint[]) AS c(id)
		WHERE $4 OR EXISTS (SELECT 1 FROM enrollment_wakes w WHERE w.contact_id = c.id AND w.key = $5)`,
		contactIDs, string(nurture.SignalTraits), at, triggering, nurture.WakeTraits)
	if err != nil {
		return fmt.Errorf("signal sequences: %w", err)
	}
	return nil
}
