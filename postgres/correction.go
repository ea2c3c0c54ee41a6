package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// CorrectContact applies a person's correction to contact id
// (nurture.Contact.Correct decides), in one transaction with the contact
// locked, as ingestion locks it: the fields it names are marked as told by
// the person, so no identify call or enrichment changes them afterwards. A
// new address that belongs to another contact is a conflict, and nothing
// is stored. An address replaced is kept in contact_email_changes, as
// ingestion keeps it, and sequences waiting on traits are woken. It
// returns the contact as stored.
func (db *DB) CorrectContact(ctx context.Context, id int64, fix *nurture.Correction) (*nurture.Contact, error) {
	var out *nurture.Contact
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		c, err := scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1 AND erased_at IS NULL FOR UPDATE", id))
		if err != nil {
			return notFound(err, "contact")
		}
		if email := fix.Fields["email"]; email != "" && !strings.EqualFold(email, c.Email) {
			var other int64
			err := tx.QueryRow(ctx, `SELECT id FROM contacts WHERE lower(email) = lower($1) AND id <> $2`, email, id).Scan(&other)
			if err == nil {
				return emailTaken
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("correct contact: %w", err)
			}
		}
		now := db.Clock.Now()
		changed, oldEmail, err := c.Correct(fix, now)
		if err != nil {
			return err
		}
		if !changed {
			out = c
			return nil
		}
		sets := []string{"email = $2", "attributes = $3", "trait_times = $4", "told = $5", "updated_at = now()"}
		args := []any{id, nullable(c.Email), c.Attributes, c.TraitTimes, c.Told}
		for i, col := range profileColumns {
			sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)+i+1))
		}
		args = append(args, profileValues(c)...)
		if _, err := tx.Exec(ctx, "UPDATE contacts SET "+strings.Join(sets, ", ")+" WHERE id = $1", args...); err != nil {
			if isUniqueViolation(err) {
				return emailTaken
			}
			return fmt.Errorf("correct contact: %w", err)
		}
		if oldEmail != "" {
			if err := recordEmailChanges(ctx, tx, []nurture.EmailChange{{Contact: c, Old: oldEmail, New: c.Email, At: now}}); err != nil {
				return err
			}
		}
		if err := db.signalIngested(ctx, tx, []nurture.PlannedEvent{{Call: &nurture.Call{Type: nurture.EventIdentify, Timestamp: now}, Contact: c}}); err != nil {
			return err
		}
		out, err = scanContact(tx.QueryRow(ctx, contactSelect+" WHERE id = $1", id))
		if err != nil {
			return err
		}
		return db.rehome(ctx, tx, []*nurture.Contact{out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// emailTaken refuses an address that belongs to another contact.
var emailTaken = &nurture.Error{Code: nurture.CodeConflict, Field: "email", Message: "belongs to another contact"}
