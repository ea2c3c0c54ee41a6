package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const companySelect = `SELECT id, coalesce(group_id, ''), coalesce(domain, ''), name, industry, team_size, country,
	traits, trait_times, enriched, enriched_at, created_at, updated_at FROM companies`

func scanCompany(row pgx.Row) (*nurture.Company, error) {
	co := &nurture.Company{}
	var enrichedAt *time.Time
	err := row.Scan(&co.ID, &co.GroupID, &co.Domain, &co.Name, &co.Industry, &co.TeamSize, &co.Country,
		&co.Traits, &co.TraitTimes, &co.Enriched, &enrichedAt, &co.CreatedAt, &co.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if enrichedAt != nil {
		co.EnrichedAt = *enrichedAt
	}
	return co, nil
}

// Company returns the company with the given id.
func (db *DB) Company(ctx context.Context, id int64) (*nurture.Company, error) {
	co, err := scanCompany(db.pool.QueryRow(ctx, companySelect+" WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "company")
	}
	return co, nil
}

// CompanyContacts returns the first limit contacts of a company, oldest
// first, and how many it has in all. Erased contacts are not counted.
func (db *DB) CompanyContacts(ctx context.Context, id int64, limit int) ([]*nurture.Contact, int, error) {
	var total int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE company_id = $1 AND erased_at IS NULL`, id).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("count company contacts: %w", err)
	}
	rows, err := db.pool.Query(ctx, contactSelect+` WHERE company_id = $1 AND erased_at IS NULL ORDER BY id LIMIT $2`, id, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("company contacts: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("company contacts: %w", err)
	}
	return cs, total, nil
}

// companyKeys returns the group ids a batch's group calls name (and those
// of the anonymous group calls its history brings along), and the domains
// they claim.
func companyKeys(calls []nurture.Call, pending map[string][]nurture.Event) (groups, domains []string) {
	for i := range calls {
		c := &calls[i]
		if c.Type != nurture.EventGroup {
			continue
		}
		groups = append(groups, c.GroupID)
		if c.Company != nil && c.Company.Domain != "" {
			domains = append(domains, c.Company.Domain)
		}
	}
	for _, evs := range pending {
		for _, ev := range evs {
			if ev.Type == nurture.EventGroup {
				groups = append(groups, ev.Name)
			}
		}
	}
	return groups, domains
}

// loadCompanies reads and locks, in id order, the companies of the group
// ids, and those that hold the domains.
func loadCompanies(ctx context.Context, tx pgx.Tx, groups, domains []string) ([]*nurture.Company, error) {
	rows, err := tx.Query(ctx, companySelect+` WHERE group_id = ANY($1) OR domain = ANY($2) ORDER BY id FOR UPDATE`, groups, domains)
	if err != nil {
		return nil, fmt.Errorf("load companies: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Company, error) { return scanCompany(r) })
	if err != nil {
		return nil, fmt.Errorf("load companies: %w", err)
	}
	return cs, nil
}

const companyRecordType = `id bigint, group_id text, domain text, name text, industry text, team_size text,
	country text, traits jsonb, trait_times jsonb`

// companyRows returns the rows as JSON text: through pgbouncer (exec mode)
// PostgreSQL types a text parameter from the statement, not bytes.
func companyRows(cs []*nurture.Company) (string, error) {
	rows := make([]map[string]any, len(cs))
	for i, co := range cs {
		rows[i] = map[string]any{
			"id": co.ID, "group_id": nullable(co.GroupID), "domain": nullable(co.Domain), "name": co.Name,
			"industry": co.Industry, "team_size": co.TeamSize, "country": co.Country,
			"traits": co.Traits, "trait_times": co.TraitTimes,
		}
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// writeCompanies inserts and updates the plan's companies, then gives each
// linked contact its company's id, before the contacts are written.
func writeCompanies(ctx context.Context, tx pgx.Tx, plan *nurture.IngestPlan) error {
	// Updates first: a domain a company gives up may go to a new one.
	if len(plan.CompaniesUpdated) > 0 {
		data, err := companyRows(plan.CompaniesUpdated)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE companies c SET group_id = r.group_id, domain = r.domain, name = r.name, industry = r.industry,
			team_size = r.team_size, country = r.country, traits = r.traits, trait_times = r.trait_times, updated_at = now()
			FROM jsonb_to_recordset($1) AS r(`+companyRecordType+`) WHERE c.id = r.id`, data)
		if err != nil {
			return fmt.Errorf("update companies: %w", err)
		}
	}
	if len(plan.CompaniesCreated) > 0 {
		data, err := companyRows(plan.CompaniesCreated)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `INSERT INTO companies (group_id, domain, name, industry, team_size, country, traits, trait_times)
			SELECT group_id, domain, name, industry, team_size, country, traits, trait_times
			FROM jsonb_to_recordset($1) AS r(`+companyRecordType+`)
			RETURNING id, group_id, created_at`, data)
		if err != nil {
			return fmt.Errorf("insert companies: %w", err)
		}
		byGroup := make(map[string]*nurture.Company, len(plan.CompaniesCreated))
		for _, co := range plan.CompaniesCreated {
			byGroup[co.GroupID] = co
		}
		var id int64
		var group string
		var co nurture.Company
		_, err = pgx.ForEachRow(rows, []any{&id, &group, &co.CreatedAt}, func() error {
			c := byGroup[group]
			if c == nil {
				return fmt.Errorf("inserted company %d matches no planned company", id)
			}
			c.ID, c.CreatedAt, c.UpdatedAt = id, co.CreatedAt, co.CreatedAt
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert companies: %w", err)
		}
	}
	for _, l := range plan.CompanyLinks {
		l.Contact.CompanyID = l.Company.ID
	}
	return nil
}

// nullableID stores 0 as NULL: no row has id 0.
func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
