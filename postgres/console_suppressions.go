package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// SuppressionList returns up to limit suppressions, newest first, after
// the entry (at, hash) of the page before; a zero at starts at the newest.
// The index suppressions_created_idx (migration 00029) serves each page
// without sorting the list.
func (db *DB) SuppressionList(ctx context.Context, at time.Time, hash []byte, limit int) ([]nurture.SuppressedAddress, error) {
	if at.IsZero() {
		at, hash = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	if hash == nil {
		hash = []byte{}
	}
	// Rows created at the cursor's instant come after it when their hash
	// is smaller; an empty hash (the start) is smaller than any, so the
	// start takes none of them, and none exists in year 9999.
	rows, err := db.pool.Query(ctx, `SELECT email_hash, coalesce(email, ''), reason, detail, created_at FROM suppressions
		WHERE (created_at, email_hash) < ($1, $2) ORDER BY created_at DESC, email_hash DESC LIMIT $3`, at, hash, limit)
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSuppressedAddress)
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	return out, nil
}

// SuppressionByHash returns the suppression keyed by hash (nurture.EmailHash
// of the address), or an error with nurture.CodeNotFound.
func (db *DB) SuppressionByHash(ctx context.Context, hash []byte) (*nurture.SuppressedAddress, error) {
	rows, err := db.pool.Query(ctx, `SELECT email_hash, coalesce(email, ''), reason, detail, created_at FROM suppressions
		WHERE email_hash = $1`, hash)
	if err != nil {
		return nil, fmt.Errorf("suppression: %w", err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanSuppressedAddress)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nurture.Errorf(nurture.CodeNotFound, "that address is not suppressed")
	}
	if err != nil {
		return nil, fmt.Errorf("suppression: %w", err)
	}
	return &s, nil
}

func scanSuppressedAddress(r pgx.CollectableRow) (nurture.SuppressedAddress, error) {
	var s nurture.SuppressedAddress
	err := r.Scan(&s.EmailHash, &s.Email, &s.Reason, &s.Detail, &s.Since)
	return s, err
}

// RemoveSuppression takes the address keyed by hash off the suppression
// list, so that it may be mailed again, and returns what was removed (an
// error with nurture.CodeNotFound when it was not suppressed). An operator
// removing a suppression means "this address works, mail it again", so
// what would suppress it again on its own goes with it:
//
//   - its soft bounce count (soft_bounces) starts again from zero, or the
//     next soft bounce would suppress it at once;
//   - when the address was erased before and its suppression kept for its
//     return (erased_addresses.suppression), that kept reason is dropped,
//     or a later write of the address would suppress it again. The hold
//     itself (contacts.held_at, no marketing until a new opt-in) is a
//     matter of consent and stays.
//
// What it leaves: the bounces as history (nothing reads them to suppress),
// the person's consents (a complaint's opt-outs were the person's choice:
// removing the suppression does not subscribe anyone again), and messages
// that were skipped or bounced meanwhile (they are not sent again).
func (db *DB) RemoveSuppression(ctx context.Context, hash []byte) (*nurture.SuppressedAddress, error) {
	var removed nurture.SuppressedAddress
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM suppressions WHERE email_hash = $1
			RETURNING email_hash, coalesce(email, ''), reason, detail, created_at`, hash)
		if err != nil {
			return err
		}
		removed, err = pgx.CollectExactlyOneRow(rows, scanSuppressedAddress)
		if errors.Is(err, pgx.ErrNoRows) {
			return nurture.Errorf(nurture.CodeNotFound, "that address is not suppressed")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM soft_bounces WHERE email_hash = $1`, hash); err != nil {
			return err
		}
		if removed.Email != "" && len(db.ErasureKey) > 0 {
			_, err := tx.Exec(ctx, `UPDATE erased_addresses SET suppression = NULL WHERE address_hmac = $1`,
				nurture.ErasedAddressHash(db.ErasureKey, removed.Email))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("remove suppression: %w", err)
	}
	return &removed, nil
}
