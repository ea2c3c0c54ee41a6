package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// tableRows is the statement that reads a personal table's rows of one
// contact as a JSON array, without its internal columns. The first CTE
// gives the arguments their types whether the table's condition names
// them or not.
func tableRows(t personalTable) string {
	return `WITH args AS (SELECT $1::bigint, $2::bytea[], $3::text[])
		SELECT coalesce(jsonb_agg(to_jsonb(t) - $3::text[] ORDER BY ` + qualify(t.order) + `), '[]')
		FROM ` + t.name + ` t WHERE ` + t.rows
}

// qualify prefixes each column of an ORDER BY list with the table's alias.
func qualify(order string) string {
	cols := strings.Split(order, ",")
	for i, c := range cols {
		cols[i] = "t." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// ExportContact returns everything the store holds about contact id, as
// the versioned JSON document docs/export.md describes. An erased or
// unknown contact is not found.
func (db *DB) ExportContact(ctx context.Context, id int64) ([]byte, error) {
	var out []byte
	// One snapshot: the sections agree with each other.
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = db.export(ctx, tx, id)
		return err
	})
	return out, err
}

// ExportContactByEmail is ExportContact for the contact with that address.
func (db *DB) ExportContactByEmail(ctx context.Context, email string) ([]byte, error) {
	c, err := db.ContactByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return db.ExportContact(ctx, c.ID)
}

// addressHashes returns the SHA-256 of every address contact id has had:
// its own and those of its recorded changes.
func addressHashes(ctx context.Context, tx pgx.Tx, id int64) ([][]byte, error) {
	rows, err := tx.Query(ctx, `SELECT email FROM contacts WHERE id = $1 AND coalesce(email, '') <> ''
		UNION SELECT old_email FROM contact_email_changes WHERE contact_id = $1
		UNION SELECT new_email FROM contact_email_changes WHERE contact_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("addresses of contact: %w", err)
	}
	emails, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("addresses of contact: %w", err)
	}
	seen := map[string]bool{}
	var hashes [][]byte
	for _, e := range emails {
		h := nurture.EmailHash(e)
		if e != "" && !seen[string(h)] {
			seen[string(h)] = true
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}

func (db *DB) export(ctx context.Context, tx pgx.Tx, id int64) ([]byte, error) {
	var c *nurture.Contact
	c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1 AND erased_at IS NULL", id))
	if err != nil {
		return nil, notFound(err, "contact")
	}
	hashes, err := addressHashes(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	sections := make(map[string]json.RawMessage, len(personalTables))
	b := &pgx.Batch{}
	for _, t := range personalTables {
		internal := t.internal
		if internal == nil {
			internal = []string{}
		}
		b.Queue(tableRows(t), id, hashes, internal).QueryRow(func(row pgx.Row) error {
			var raw json.RawMessage
			if err := row.Scan(&raw); err != nil {
				return fmt.Errorf("export %s: %w", t.name, err)
			}
			sections[t.section] = raw
			return nil
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	var contactRows []json.RawMessage
	if err := json.Unmarshal(sections["contact"], &contactRows); err != nil || len(contactRows) != 1 {
		return nil, errors.Join(errors.New("export: the contact's row"), err)
	}
	var enrichments []struct {
		Fields []nurture.EnrichedField `json:"fields"`
	}
	if err := json.Unmarshal(sections["enrichment"], &enrichments); err != nil {
		return nil, fmt.Errorf("export: enrichment: %w", err)
	}
	var enriched []nurture.EnrichedField
	for _, e := range enrichments {
		enriched = append(enriched, e.Fields...)
	}

	doc := map[string]any{
		"version":    nurture.ExportVersion,
		"exportedAt": db.Clock.Now().UTC().Truncate(time.Second),
		"profile":    nurture.FieldSources(c, enriched),
		"traits":     orEmpty(c.Attributes),
		// Consents: the opt-outs and explicit opt-ins of each topic as
		// they stand, and the history of every change (source, IP, time).
		"consents":    map[string]any{"optOuts": sections["optOuts"], "optIns": sections["optIns"], "history": sections["consentRecords"]},
		"suppression": suppressionState(sections["suppressions"]),
	}
	for k, v := range sections {
		if k != "contact" && k != "optOuts" && k != "optIns" && k != "consentRecords" {
			doc[k] = v
		}
	}
	doc["contact"] = contactRows[0]
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

// suppressionState says whether any of the contact's addresses is
// suppressed, and why: the first reason recorded.
func suppressionState(raw json.RawMessage) map[string]any {
	var rows []struct {
		Reason    string    `json:"reason"`
		CreatedAt time.Time `json:"created_at"`
	}
	if json.Unmarshal(raw, &rows) != nil || len(rows) == 0 {
		return map[string]any{"suppressed": false}
	}
	return map[string]any{"suppressed": true, "reason": rows[0].Reason, "since": rows[0].CreatedAt}
}
