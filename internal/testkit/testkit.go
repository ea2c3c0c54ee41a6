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
	url := DatabaseURL()
	ensureDatabase(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	h, fresh := holdSchema(ctx, t, url)
	t.Cleanup(func() { h.release() })
	schema := h.schema
	pool := openPool(ctx, t, url, schema)
	if fresh {
		if err := postgres.Migrate(ctx, pool, nil); err != nil {
			t.Fatalf("testkit: migrate: %v", err)
		}
		if err := recordSchema(ctx, h.conn, schema); err != nil {
			t.Fatalf("testkit: %v", err)
		}
	}
	return pool
}

// EmptyDB returns a pool whose connections use a new, empty schema of the
// test database, for tests of the migrations themselves. The schema is
// dropped when the test ends.
func EmptyDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := DatabaseURL()
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	return openPool(ctx, t, url, schema)
}

// openPool opens a pool on schema, closed when the test ends (before the
// schema is given back).
func openPool(ctx context.Context, t testing.TB, url, schema string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	postgres.Tune(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testkit: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// DatabaseURLFor returns a connection URL for the schema that pool uses, for
// code under test that opens its own pool from a URL.
func DatabaseURLFor(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	schema := pool.Config().ConnConfig.RuntimeParams["search_path"]
	sep := "?"
	if strings.Contains(DatabaseURL(), "?") {
		sep = "&"
	}
	return DatabaseURL() + sep + "search_path=" + schema
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
