package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// companiesOfContacts selects the companies of the contacts whose ids are
// $1 (not erased): each company once, however many of them it has.
var companiesOfContacts = companySelect + ` WHERE id IN (SELECT company_id FROM contacts WHERE id = ANY($1) AND erased_at IS NULL)`

// ContactsWithCompanies returns the contacts with the given ids that exist
// and are not erased, by id, and the companies they belong to, by company
// id, in one round trip: what the send path renders a batch with.
func (db *DB) ContactsWithCompanies(ctx context.Context, ids []int64) (map[int64]*nurture.Contact, map[int64]*nurture.Company, error) {
	contacts := make(map[int64]*nurture.Contact, len(ids))
	companies := map[int64]*nurture.Company{}
	b := &pgx.Batch{}
	b.Queue(contactSelect+" WHERE id = ANY($1) AND erased_at IS NULL", ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				return err
			}
			contacts[c.ID] = c
		}
		return rows.Err()
	})
	b.Queue(companiesOfContacts, ids).Query(func(rows pgx.Rows) error {
		return collectCompanies(rows, companies)
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("contacts with companies: %w", err)
	}
	return contacts, companies, nil
}

// collectCompanies reads the rows of a companySelect into m, by id.
func collectCompanies(rows pgx.Rows, m map[int64]*nurture.Company) error {
	for rows.Next() {
		co, err := scanCompany(rows)
		if err != nil {
			return err
		}
		m[co.ID] = co
	}
	return rows.Err()
}
