package postgres_test

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

func setup(t *testing.T) (*postgres.DB, context.Context) {
	t.Helper()
	return postgres.New(testkit.DB(t)), context.Background()
}

func TestUpsertContactMergesByExternalIDThenEmail(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)

	c, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com", FirstName: "Ada",
		Attributes: map[string]any{"plan": "trial"}})
	require.NoError(t, err)
	require.True(t, created)

	// Same user, new fields: merged, empty fields keep their value.
	c2, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Company: "Acme",
		Attributes: map[string]any{"seats": float64(3)}})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c2.ID)
	require.Equal(t, "Ada", c2.FirstName)
	require.Equal(t, "Acme", c2.Company)
	require.Equal(t, map[string]any{"plan": "trial", "seats": float64(3)}, c2.Attributes)

	// Found by email, whatever its case, and given the external id.
	c3, created, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ADA@example.com", LastName: "Lovelace"})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c3.ID)
	require.Equal(t, "Lovelace", c3.LastName)
	require.Equal(t, "ADA@example.com", c3.Email, "the newest address is kept")
}

func TestUpsertContactNeverMergesTwoUsers(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "shared@example.com"})
	require.NoError(t, err)

	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	// u2 exists on its own, then claims u1's address: refused as well.
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "u2@example.com"})
	require.NoError(t, err)
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	u1, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, "shared@example.com", u1.Email)
}

// Eight first calls for the same new person at once: one creates the
// contact, the others find it, and the table holds one row.
func TestUpsertContactConcurrentCreatesOneContact(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	type result struct {
		id      int64
		created bool
	}
	results := make(chan result, 8)
	start := make(chan struct{})
	for range 8 {
		go func() {
			<-start
			c, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "same", Email: "same@example.com"})
			if err != nil {
				t.Error(err)
				results <- result{}
				return
			}
			results <- result{c.ID, created}
		}()
	}
	close(start)
	ids, creators := map[int64]bool{}, 0
	for range 8 {
		r := <-results
		ids[r.id] = true
		if r.created {
			creators++
		}
	}
	require.Len(t, ids, 1, "every call returns the same contact")
	require.Equal(t, 1, creators, "exactly one call created it")
	var rows int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&rows))
	require.Equal(t, 1, rows)
}

func TestSuppression(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, ok, err := db.Suppressed(ctx, "ada@example.com")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.Suppress(ctx, "Ada@Example.com", nurture.SuppressHardBounce, "550 5.1.1"))
	require.NoError(t, db.Suppress(ctx, "ada@example.com", nurture.SuppressComplaint, ""))
	reason, ok, err := db.Suppressed(ctx, "ada@EXAMPLE.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, nurture.SuppressHardBounce, reason, "the first reason is kept")
}

// Two instances starting at once on an empty database both succeed, and
// every migration is applied exactly once (its seed rows too), with either
// lock: the session's advisory lock, or behind pgbouncer a lock row (which
// works on a direct connection too, so both are tried there).
func TestMigrateTwiceConcurrently(t *testing.T) {
	t.Parallel()
	poolers := []postgres.Pooler{postgres.PgBouncer}
	if testkit.Pooler() == postgres.NoPooler {
		poolers = append(poolers, postgres.NoPooler)
	}
	for _, pooler := range poolers {
		t.Run(string(pooler), func(t *testing.T) {
			t.Parallel()
			migrateTwiceConcurrently(t, pooler)
		})
	}
}

func migrateTwiceConcurrently(t *testing.T, pooler postgres.Pooler) {
	ctx := context.Background()
	pool := testkit.EmptyDB(t)
	var tables int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables))
	require.Zero(t, tables, "the schema starts empty")

	start := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			<-start
			errs <- postgres.Migrate(ctx, pool, pooler, nil)
		}()
	}
	close(start)
	for range 2 {
		require.NoError(t, <-errs)
	}

	files, err := fs.Glob(postgres.Migrations(), "*.sql")
	require.NoError(t, err)
	want := map[int64]int{0: 1} // goose's own first row
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(f, "_", 2)[0], 10, 64)
		require.NoError(t, err)
		want[v] = 1
	}
	rows, err := pool.Query(ctx, `SELECT version_id, count(*)::int FROM goose_db_version WHERE is_applied GROUP BY version_id`)
	require.NoError(t, err)
	applied := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		require.NoError(t, rows.Scan(&v, &n))
		applied[v] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, want, applied, "each migration applied once")
	var installations int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM installation`).Scan(&installations))
	require.Equal(t, 1, installations, "the seed row inserted once")

	// A third start finds nothing to do.
	require.NoError(t, postgres.Migrate(ctx, pool, pooler, nil))
	var versions int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&versions))
	require.Len(t, want, versions)
}
