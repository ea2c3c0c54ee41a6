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
