// Package testkit gives every test what it needs to run against the real
// services in isolation: a PostgreSQL schema of its own exactly as the
// migrations leave it, a throw-away redis-server of its own, and a clock it
// controls.
//
// Tests of many packages run at once, so nothing here is shared between
// tests: each schema and each Redis server belongs to one test until it
// ends (a schema is then reset for a later test, never shared), and the
// developer's own Redis is never touched.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture/postgres"
)

// DatabaseURL is the test database: NURTURE_TEST_DATABASE_URL, or the local default.
func DatabaseURL() string {
	if u := os.Getenv("NURTURE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/nurture_test?sslmode=disable"
}

// DirectDatabaseURL is the test database reached without a pooler:
// NURTURE_TEST_DATABASE_DIRECT_URL when NURTURE_TEST_DATABASE_URL leads to
// pgbouncer in transaction pooling mode (see Pooler), else DatabaseURL.
// testkit holds and resets schemas through it, with session state that a
// transaction pooler would not keep.
func DirectDatabaseURL() string {
	if u := os.Getenv("NURTURE_TEST_DATABASE_DIRECT_URL"); u != "" {
		return u
	}
	return DatabaseURL()
}

// Pooler is what DatabaseURL leads to: pgbouncer in transaction pooling mode
// when NURTURE_TEST_DATABASE_DIRECT_URL names PostgreSQL itself, else
// nothing. Code under test that opens its own pool is given it (as
// NURTURE_DATABASE_POOLER for the binary).
//
// Behind pgbouncer a pool cannot choose its schema with search_path: the
// pooler refuses startup parameters it does not know, and would hand the
// next client a server connection with the last one's settings anyway. So
// each pool schema has a login role of the same name whose search_path is
// that schema (ALTER ROLE ... SET), and a test's pool logs in as it:
// pgbouncer keeps a pool of server connections per role, each started with
// the role's search_path, so no statement of the test can run in another's
// schema. The pgbouncer of `make test-pgbouncer` finds the roles with its
// auth_query.
func Pooler() postgres.Pooler {
	if os.Getenv("NURTURE_TEST_DATABASE_DIRECT_URL") != "" {
		return postgres.PgBouncer
	}
	return postgres.NoPooler
}

var createDatabaseOnce sync.Once

// ensureDatabase creates the test database when it is missing, so that a
// plain `go test ./...` works as well as `make test`.
func ensureDatabase(t testing.TB, url string) {
	createDatabaseOnce.Do(func() {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatalf("testkit: parse %s: %v", url, err)
		}
		name := cfg.Database
		cfg.Database = "postgres"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return // the real connection below reports the problem
		}
		defer conn.Close(ctx)
		var exists bool
		_ = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
		if !exists {
			_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
			if err != nil && !strings.Contains(err.Error(), "already exists") {
				t.Logf("testkit: create database %s: %v", name, err)
			}
		}
	})
}

// DB returns a pool whose connections use a schema of the test database
// that is the test's alone until it ends, exactly as the migrations leave
// it: same tables, indexes and constraints, the rows the migrations insert
// (the installation row, with a key no other schema in use has) and nothing
// else. Schemas are migrated once and reused (see schema.go).
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ensureDatabase(t, DirectDatabaseURL())
	ctx, cancel := context.WithTimeout(context.Background(), holdBudget)
	defer cancel()

	h, fresh := holdSchema(ctx, t, DirectDatabaseURL())
	t.Cleanup(func() { h.release() })
	schema := h.schema
	ensureRole(ctx, t, h.conn, schema)
	pool := openPool(ctx, t, DatabaseURL(), schema)
	if fresh {
		mctx, mcancel := context.WithTimeout(context.Background(), migrateBudget)
		defer mcancel()
		start := time.Now()
		if err := postgres.Migrate(mctx, pool, Pooler(), nil); err != nil {
			t.Fatalf("testkit: migrate %s (after %s): %v", schema, time.Since(start).Round(time.Millisecond), err)
		}
		if err := recordSchema(mctx, h.conn, schema); err != nil {
			t.Fatalf("testkit: %v (%s after the migration began)", err, time.Since(start).Round(time.Millisecond))
		}
	}
	return pool
}

// holdBudget bounds getting a schema: finding a free one and putting it
// back as its migrations left it, or making a new one. That takes well
// under a second; a test that waits longer shows a hang.
const holdBudget = 60 * time.Second

// migrateBudget bounds migrating a new schema and recording it. Its cost is
// the machine's: the migrations build some 120 indexes, and PostgreSQL 15
// writes each new index to disk with an fsync of its own, so while several
// test binaries migrate at once on a loaded machine (after a change to the
// migrations, every binary of the run migrates its first schemas) a
// migration has taken more than a minute. It is bounded apart from
// holdBudget so that a slow disk does not read as a hang.
const migrateBudget = 5 * time.Minute

// EmptyDB returns a pool whose connections use a new, empty schema of the
// test database, for tests of the migrations themselves. The schema is
// dropped when the test ends.
func EmptyDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := DirectDatabaseURL()
	ensureDatabase(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	schema := "test_" + randomHex(6)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("testkit: PostgreSQL at %s does not answer (run `make test`, which starts it): %v", url, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testkit: create schema: %v", err)
	}
	ensureRole(ctx, t, admin, schema)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			dropRole(ctx, conn, schema)
			_ = conn.Close(ctx)
		}
	})
	return openPool(ctx, t, DatabaseURL(), schema)
}

// openPool opens a pool on schema, closed when the test ends (before the
// schema is given back).
func openPool(ctx context.Context, t testing.TB, url, schema string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if Pooler() == postgres.NoPooler {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	} else {
		cfg.ConnConfig.User = schema // the schema's role (see Pooler)
	}
	postgres.Tune(cfg, Pooler())
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testkit: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// DatabaseURLFor returns a connection URL for the schema that pool uses, for
// code under test that opens its own pool from a URL (through Pooler).
func DatabaseURLFor(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	schema := SchemaOf(pool)
	if Pooler() != postgres.NoPooler {
		u, err := url.Parse(DatabaseURL())
		if err != nil {
			t.Fatalf("testkit: %v", err)
		}
		u.User = url.User(schema)
		return u.String()
	}
	sep := "?"
	if strings.Contains(DatabaseURL(), "?") {
		sep = "&"
	}
	return DatabaseURL() + sep + "search_path=" + schema
}

// SchemaOf returns the schema of a pool from DB or EmptyDB.
func SchemaOf(pool *pgxpool.Pool) string {
	cfg := pool.Config().ConnConfig
	if s := cfg.RuntimeParams["search_path"]; s != "" {
		return s
	}
	return cfg.User // behind pgbouncer, the role named after the schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Clock is a clock the test moves by hand. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// DBVia returns a second pool on the same schema as pool whose connections
// go through the proxy at addr (see NewProxy), so a test can cut the
// database away from one component while the rest of the test still
// reaches it.
func DBVia(t testing.TB, pool *pgxpool.Pool, addr string) *pgxpool.Pool {
	t.Helper()
	cfg := pool.Config().Copy()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
	cfg.ConnConfig.Fallbacks = nil
	via, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("testkit: open pool via %s: %v", addr, err)
	}
	t.Cleanup(via.Close)
	return via
}

// DatabaseAddr returns host:port of the test database server.
func DatabaseAddr(t testing.TB) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(DatabaseURL())
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}
