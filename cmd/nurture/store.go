package main

import (
	"context"
	"fmt"

	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/postgres"
)

// openStore connects the store for a short operations command; the error
// names the variable to fix. The caller calls close when done.
func openStore(ctx context.Context, cfg *config.Config) (store *postgres.DB, close func(), err error) {
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, postgres.Pooler(cfg.DatabasePooler))
	if err != nil {
		return nil, nil, fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
	}
	return postgres.New(pool), pool.Close, nil
}
