package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// Behind pgbouncer in transaction mode a connection keeps nothing between
// transactions: statements go unnamed, and nothing is asked at startup that
// pgbouncer 1.18 refuses (plan_cache_mode); a mode the URL chose that keeps
// nothing on the server is left alone.
func TestTuneForPooler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		url       string
		pooler    postgres.Pooler
		mode      pgx.QueryExecMode
		planCache string
	}{
		{"direct", "postgres://u@db/n", postgres.NoPooler, pgx.QueryExecModeCacheStatement, "force_custom_plan"},
		{"direct, an empty pooler", "postgres://u@db/n", "", pgx.QueryExecModeCacheStatement, "force_custom_plan"},
		{"direct, the URL's plan cache mode", "postgres://u@db/n?plan_cache_mode=auto", postgres.NoPooler, pgx.QueryExecModeCacheStatement, "auto"},
		{"pgbouncer", "postgres://u@db/n", postgres.PgBouncer, pgx.QueryExecModeExec, ""},
		{"pgbouncer, the URL's simple protocol", "postgres://u@db/n?default_query_exec_mode=simple_protocol", postgres.PgBouncer, pgx.QueryExecModeSimpleProtocol, ""},
		{"pgbouncer, the URL's describe_exec", "postgres://u@db/n?default_query_exec_mode=describe_exec", postgres.PgBouncer, pgx.QueryExecModeDescribeExec, ""},
		{"pgbouncer, a cache from the URL is not kept", "postgres://u@db/n?default_query_exec_mode=cache_describe", postgres.PgBouncer, pgx.QueryExecModeExec, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := pgxpool.ParseConfig(tt.url)
			require.NoError(t, err)
			postgres.Tune(cfg, tt.pooler)
			require.Equal(t, tt.mode, cfg.ConnConfig.DefaultQueryExecMode)
			require.Equal(t, tt.planCache, cfg.ConnConfig.RuntimeParams["plan_cache_mode"])
		})
	}
}

// Many connections run the same statements at once, transaction after
// transaction: through pgbouncer (make test-pgbouncer) they land on server
// connections other clients used, where a named statement of pgx's cache
// would be missing or already taken.
func TestStatementsRunOnAnyServerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.DB(t)
	db := postgres.New(pool)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() { errs <- sendMany(ctx, pool, db, i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n))
	require.Equal(t, 16*20, n)
}

// sendMany runs statements for 20 contacts of its own.
func sendMany(ctx context.Context, pool *pgxpool.Pool, db *postgres.DB, i int) error {
	for j := range 20 {
		email := fmt.Sprintf("p%d-%d@example.com", i, j)
		if _, err := pool.Exec(ctx, `INSERT INTO contacts (email) VALUES ($1)`, email); err != nil {
			return err
		}
		if _, _, err := db.Suppressed(ctx, email); err != nil {
			return err
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE email = $1`, email).Scan(&n); err != nil {
			return fmt.Errorf("count %s: %w", email, err)
		}
		if n != 1 {
			return fmt.Errorf("count %s: %d", email, n)
		}
	}
	return nil
}
