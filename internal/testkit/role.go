package testkit

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture/postgres"
)

// Schemas whose role this test binary has made sure of (see Pooler).
var roles sync.Map

// ensureRole makes sure that, behind pgbouncer, schema has a login role of
// the same name whose search_path is the schema. The role is a superuser,
// as the role of DatabaseURL is when tests connect directly, so that tests
// run with the same rights either way; it reaches another test's schema
// only by naming it, as the direct connections do. Nothing is done without
// a pooler.
func ensureRole(ctx context.Context, t testing.TB, conn *pgx.Conn, schema string) {
	t.Helper()
	if Pooler() == postgres.NoPooler {
		return
	}
	if _, ok := roles.Load(schema); ok {
		return
	}
	ident := pgx.Identifier{schema}.Sanitize()
	_, err := conn.Exec(ctx, `DO $$ BEGIN
			CREATE ROLE `+ident+` LOGIN SUPERUSER;
		EXCEPTION WHEN duplicate_object THEN NULL;
		END $$;
		ALTER ROLE `+ident+` SET search_path = `+ident)
	if err != nil {
		t.Fatalf("testkit: the role of schema %s: %v", schema, err)
	}
	roles.Store(schema, true)
}

// dropRole drops the role of a schema dropped, if it has one. A role that
// cannot be dropped yet (it owns something elsewhere) is left.
func dropRole(ctx context.Context, conn *pgx.Conn, schema string) {
	_, _ = conn.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{schema}.Sanitize())
	roles.Delete(schema)
}
