package testkit

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// state is what a test can see of a schema's contents: row counts of the
// tables the test below writes, the seed rows and the next contact id.
type state struct {
	Contacts, Messages, History, SoftBounces int
	Versions                                 int
	Key                                      []byte
	LegacyBelow                              int64
}

func readState(t *testing.T, pool *pgxpool.Pool) state {
	t.Helper()
	var s state
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM contacts), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM message_status_history), (SELECT count(*) FROM soft_bounces),
		(SELECT count(*) FROM goose_db_version), message_id_key, legacy_message_ids_below
		FROM installation`).Scan(&s.Contacts, &s.Messages, &s.History, &s.SoftBounces, &s.Versions, &s.Key, &s.LegacyBelow)
	require.NoError(t, err)
	return s
}

// schemaOf returns the schema a pool from DB uses.
func schemaOf(pool *pgxpool.Pool) string {
	return SchemaOf(pool)
}

// conn opens a connection of the test's own.
func conn(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), DirectDatabaseURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// What a test wrote is gone when the schema is reset, and what the
// migrations wrote is back: seed rows as they were, sequences restarted.
func TestResetSchemaPutsBackWhatTheMigrationsLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := DB(t)
	migrated := readState(t, pool)
	require.Zero(t, migrated.Contacts)
	require.Positive(t, migrated.Versions, "goose's versions are the migrations' rows")
	require.GreaterOrEqual(t, len(migrated.Key), 16, "the installation row is there")

	_, err := pool.Exec(ctx, `
		WITH c AS (INSERT INTO contacts (email) VALUES ('ada@example.com'), ('bob@example.com') RETURNING id),
		m AS (INSERT INTO messages (dedupe_key, contact_id, template, send_at)
		      SELECT 'welcome:' || id, id, 'welcome', now() FROM c RETURNING id)
		INSERT INTO message_status_history (message_id, status) SELECT id, 'queued' FROM m`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO soft_bounces (email_hash, count, last_at) VALUES ('\x01', 1, now());
		UPDATE installation SET message_id_key = '\x00000000000000000000000000000000', legacy_message_ids_below = 42;
		DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`)
	require.NoError(t, err)
	require.NotEqual(t, migrated, readState(t, pool))

	require.NoError(t, resetSchema(ctx, conn(t), schemaOf(pool)))
	require.Equal(t, migrated, readState(t, pool))
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO contacts (email) VALUES ('cy@example.com') RETURNING id`).Scan(&id))
	require.Equal(t, int64(1), id, "identities start again where the migrations left them")
}

// A schema a test reshaped, or one whose migration never finished, is not
// given to another test: resetting it fails, and DB then drops it.
func TestResetSchemaRefusesASchemaNotAsMigrated(t *testing.T) {
	t.Parallel()
	for name, ddl := range map[string]string{
		"a column added":     `ALTER TABLE contacts ADD COLUMN nickname text`,
		"a column dropped":   `ALTER TABLE contacts DROP COLUMN phone`,
		"a default changed":  `ALTER TABLE contacts ALTER COLUMN company SET DEFAULT 'Acme'`,
		"an index dropped":   `DROP INDEX messages_due_idx`,
		"a table created":    `CREATE TABLE notes (id int)`,
		"a check dropped":    `ALTER TABLE messages DROP CONSTRAINT messages_status_check`,
		"a function created": `CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		"a table recreated":  `DROP TABLE soft_bounces; CREATE TABLE soft_bounces (email_hash bytea PRIMARY KEY, count integer NOT NULL, last_at timestamptz NOT NULL)`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := DB(t)
			_, err := pool.Exec(ctx, ddl)
			require.NoError(t, err)
			require.ErrorContains(t, resetSchema(ctx, conn(t), schemaOf(pool)), "no longer has the shape")
		})
	}
	t.Run("never finished", func(t *testing.T) {
		t.Parallel()
		err := resetSchema(context.Background(), conn(t), schemaPrefix()+"unfinished")
		require.ErrorContains(t, err, "never finished")
	})
}

// Schemas in use at once are two databases: each has the installation key
// its own migration drew.
func TestDBSchemasInUseAtOnceHaveKeysOfTheirOwn(t *testing.T) {
	t.Parallel()
	a, b := DB(t), DB(t)
	require.NotEqual(t, schemaOf(a), schemaOf(b))
	require.NotEqual(t, readState(t, a).Key, readState(t, b).Key)
}

// A test that wrote many rows leaves a big table: the reset truncates it,
// so that schemas reused test after test do not grow slower with the dead
// rows of their past.
func TestResetSchemaKeepsReusedTablesSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := DB(t)
	_, err := pool.Exec(ctx, `
		WITH c AS (INSERT INTO contacts (email) SELECT 'p' || i || '@example.com' FROM generate_series(1, 2000) i RETURNING id)
		INSERT INTO messages (dedupe_key, contact_id, template, send_at) SELECT 'k' || id, id, 'welcome', now() FROM c`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO api_keys (name, prefix, hash, scopes) VALUES ('k', 'p', '\x01', '{}')`)
	require.NoError(t, err)

	require.NoError(t, resetSchema(ctx, conn(t), schemaOf(pool)))
	for _, table := range []string{"contacts", "messages", "api_keys"} {
		var size int64
		require.NoError(t, pool.QueryRow(ctx, `SELECT pg_relation_size($1::regclass)`, table).Scan(&size))
		require.LessOrEqual(t, size, int64(truncateAbove), table)
	}
	require.Zero(t, readState(t, pool).Contacts)
	require.Zero(t, readState(t, pool).Messages)
}
