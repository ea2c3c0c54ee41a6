package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

const apiKeySelect = `SELECT id, name, prefix, hash, scopes, created_at,
	coalesce(last_used_at, 'epoch'), coalesce(revoked_at, 'epoch') FROM api_keys`

func scanAPIKey(row pgx.Row) (*nurture.APIKey, error) {
	k := &nurture.APIKey{}
	var scopes []string
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	for _, s := range scopes {
		k.Scopes = append(k.Scopes, nurture.Scope(s))
	}
	k.LastUsedAt, k.RevokedAt = zeroEpoch(k.LastUsedAt), zeroEpoch(k.RevokedAt)
	return k, nil
}

func zeroEpoch(t time.Time) time.Time {
	if t.Equal(time.Unix(0, 0)) {
		return time.Time{}
	}
	return t
}

// CreateAPIKey stores k (its hash, never the key) and fills in its id.
func (db *DB) CreateAPIKey(ctx context.Context, k *nurture.APIKey) error {
	scopes := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		scopes[i] = string(s)
	}
	err := db.pool.QueryRow(ctx, `INSERT INTO api_keys (name, prefix, hash, scopes) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, k.Name, k.Prefix, k.Hash, scopes).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKeyByHash returns the live (not revoked) key with that hash.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (*nurture.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, apiKeySelect+` WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if err != nil {
		return nil, notFound(err, "api key")
	}
	return k, nil
}

// APIKeys lists every key, revoked ones included, oldest first.
func (db *DB) APIKeys(ctx context.Context) ([]nurture.APIKey, error) {
	rows, err := db.pool.Query(ctx, apiKeySelect+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.APIKey, error) {
		k, err := scanAPIKey(r)
		if err != nil {
			return nurture.APIKey{}, err
		}
		return *k, nil
	})
}

// RevokeAPIKey revokes the key with the given id; revoking twice is fine.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &nurture.Error{Code: nurture.CodeNotFound, Field: "id", Message: fmt.Sprintf("no api key with id %d", id)}
	}
	return nil
}

// TouchAPIKey records that the key was used at.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, at)
	return err
}
