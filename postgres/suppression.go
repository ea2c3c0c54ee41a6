package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Suppress records that email must not be mailed again, for reason. An
// address already suppressed keeps its first reason.
func (db *DB) Suppress(ctx context.Context, email string, reason nurture.SuppressionReason, detail string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO suppressions (email_hash, email, reason, detail) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email_hash) DO NOTHING`,
		nurture.EmailHash(email), email, reason, detail)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	return nil
}

// Suppressed reports whether email is suppressed, and why.
func (db *DB) Suppressed(ctx context.Context, email string) (nurture.SuppressionReason, bool, error) {
	var reason nurture.SuppressionReason
	err := db.pool.QueryRow(ctx, `SELECT reason FROM suppressions WHERE email_hash = $1`,
		nurture.EmailHash(email)).Scan(&reason)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("suppressed: %w", err)
	}
	return reason, true, nil
}

// SuppressedAmong returns which of the addresses are suppressed, and why,
// keyed by the address as given.
func (db *DB) SuppressedAmong(ctx context.Context, emails []string) (map[string]nurture.SuppressionReason, error) {
	hashes := make([][]byte, len(emails))
	byHash := make(map[string]string, len(emails))
	for i, e := range emails {
		hashes[i] = nurture.EmailHash(e)
		byHash[string(hashes[i])] = e
	}
	rows, err := db.pool.Query(ctx, `SELECT email_hash, reason FROM suppressions WHERE email_hash = ANY($1)`, hashes)
	if err != nil {
		return nil, fmt.Errorf("suppressed among: %w", err)
	}
	out := map[string]nurture.SuppressionReason{}
	var hash []byte
	var reason nurture.SuppressionReason
	_, err = pgx.ForEachRow(rows, []any{&hash, &reason}, func() error {
		out[byHash[string(hash)]] = reason
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("suppressed among: %w", err)
	}
	return out, nil
}
