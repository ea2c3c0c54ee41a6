package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// CreateConsoleSession stores a session under the hash of its token, for
// the key keyID, until expires.
func (db *DB) CreateConsoleSession(ctx context.Context, tokenHash []byte, keyID int64, expires time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO console_sessions (token_hash, api_key_id, expires_at) VALUES ($1, $2, $3)`,
		tokenHash, keyID, expires)
	if err != nil {
		return fmt.Errorf("create console session: %w", err)
	}
	return nil
}

// ConsoleSession returns the live session with that token hash: not
// expired at now, its key not revoked. A session that is neither is
// nurture.CodeNotFound.
func (db *DB) ConsoleSession(ctx context.Context, tokenHash []byte, now time.Time) (*nurture.ConsoleSession, error) {
	s := &nurture.ConsoleSession{}
	err := db.pool.QueryRow(ctx, `SELECT k.id, k.name, s.expires_at FROM console_sessions s
		JOIN api_keys k ON k.id = s.api_key_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL AND 'admin' = ANY (k.scopes)`,
		tokenHash, now).Scan(&s.KeyID, &s.KeyName, &s.ExpiresAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nurture.Errorf(nurture.CodeNotFound, "no such session")
		}
		return nil, fmt.Errorf("console session: %w", err)
	}
	return s, nil
}

// DeleteConsoleSession ends a session (sign-out), and every session that
// has expired by now.
func (db *DB) DeleteConsoleSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE token_hash = $1 OR expires_at <= $2`, tokenHash, now)
	if err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}

// RecordAudit appends e to the audit log (at the database's clock when
// e.At is zero).
func (db *DB) RecordAudit(ctx context.Context, e nurture.AuditEntry) error {
	var at *time.Time
	if !e.At.IsZero() {
		at = &e.At
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO admin_audit (at, api_key_id, key_name, action, target, detail)
		VALUES (coalesce($1, now()), nullif($2, 0), $3, $4, $5, $6)`,
		at, e.KeyID, e.KeyName, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// AuditLog returns the latest limit lines of the audit log, newest first,
// older than before unless before is zero.
func (db *DB) AuditLog(ctx context.Context, before time.Time, limit int) ([]nurture.AuditEntry, error) {
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := db.pool.Query(ctx, `SELECT at, coalesce(api_key_id, 0), key_name, action, target, detail FROM admin_audit
		WHERE at < $1 ORDER BY at DESC, id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.AuditEntry, error) {
		var e nurture.AuditEntry
		err := r.Scan(&e.At, &e.KeyID, &e.KeyName, &e.Action, &e.Target, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
