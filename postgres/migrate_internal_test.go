package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
)

// MigrateTo applies the migrations up to version, for the tests of a
// migration on rows written before it.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	return migrate(ctx, pool, NoPooler, nil, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.UpTo(ctx, version) })
}

// MigrateDownTo rolls the migrations back to version, for the tests of a
// migration's Down.
func MigrateDownTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	return migrate(ctx, pool, NoPooler, nil, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.DownTo(ctx, version) })
}
