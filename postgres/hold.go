package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// holdErased holds the contacts among cs whose address was erased (its
// keyed hash is in erased_addresses), in the transaction that wrote them:
// a sign-up, an import or a change of address that brings an erased
// address back. The hold is kept in contacts.held_at, and the address is
// suppressed again when it was suppressed (other than by an unsubscribe)
// when it was erased. Without an erasure key nothing was ever erased.
func holdErased(ctx context.Context, tx pgx.Tx, key []byte, cs []*nurture.Contact) error {
	if len(key) == 0 {
		return nil
	}
	var ids []int64
	var hashes [][]byte
	for _, c := range cs {
		if c.Email != "" && c.HeldSince.IsZero() {
			ids = append(ids, c.ID)
			hashes = append(hashes, nurture.ErasedAddressHash(key, c.Email))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `UPDATE contacts c SET held_at = now()
		FROM unnest($1::bigint[], $2::bytea[]) AS u(id, h) JOIN erased_addresses e ON e.address_hmac = u.h
		WHERE c.id = u.id AND c.held_at IS NULL
		RETURNING c.email, coalesce(e.suppression, '')`, ids, hashes)
	if err != nil {
		return fmt.Errorf("hold erased addresses: %w", err)
	}
	var emails, reasons []string
	var email, reason string
	_, err = pgx.ForEachRow(rows, []any{&email, &reason}, func() error {
		if reason != "" {
			emails, reasons = append(emails, email), append(reasons, reason)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hold erased addresses: %w", err)
	}
	for i := range emails {
		_, err := tx.Exec(ctx, `INSERT INTO suppressions (email_hash, email, reason, detail) VALUES ($1, $2, $3, 'suppressed before its erasure')
			ON CONFLICT (email_hash) DO NOTHING`, nurture.EmailHash(emails[i]), emails[i], reasons[i])
		if err != nil {
			return fmt.Errorf("suppress again: %w", err)
		}
	}
	return nil
}

// ReleaseHold ends the hold of contact id (a new opt-in): emails of every
// topic may go to it again, and its address is no longer known as erased,
// so that later writes of it do not hold it again. A contact not held is
// left as it is; an unknown one is not found.
func (db *DB) ReleaseHold(ctx context.Context, contactID int64) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT true FROM contacts WHERE id = $1 AND erased_at IS NULL`, contactID).Scan(&exists); err != nil {
			return notFound(err, "contact")
		}
		return releaseHold(ctx, tx, db.ErasureKey, contactID)
	})
}

// releaseHold ends the hold of contact id in tx, if it is held, and
// forgets its address as erased (with the erasure key).
func releaseHold(ctx context.Context, tx pgx.Tx, key []byte, contactID int64) error {
	var email string
	err := tx.QueryRow(ctx, `UPDATE contacts SET held_at = NULL WHERE id = $1 AND held_at IS NOT NULL AND erased_at IS NULL
		RETURNING coalesce(email, '')`, contactID).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // not held
	}
	if err != nil {
		return fmt.Errorf("release hold: %w", err)
	}
	if email == "" || len(key) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM erased_addresses WHERE address_hmac = $1`, nurture.ErasedAddressHash(key, email)); err != nil {
		return fmt.Errorf("release hold: %w", err)
	}
	return nil
}
