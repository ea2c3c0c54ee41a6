// Package postgres is Nurture's store: contacts, events, messages and
// suppressions in PostgreSQL through pgx, with the schema in embedded,
// versioned migrations.
//
// It implements the small interfaces that api, jobs and worker declare; it
// knows nothing of HTTP, queues or SMTP.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/nurture-email/nurture"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	// Clock dates what a caller leaves undated (a bounce or an outcome
	// without a time); New sets the system clock.
	Clock nurture.Clock
	// ErasureKey keys the hash that erasure keeps of an erased address
	// (nurture.ErasedAddressHash), and with which a later sign-up of the
	// address is recognised and held. EraseContact refuses to work
	// without one.
	ErasureKey []byte
	// Regions are the installation's regions: every write of a contact's
	// traits resolves its region with them (nurture.Regions.Resolve) and
	// moves its pending messages when it changes. The zero value: no
	// regions, nothing resolved, no statement spent.
	Regions nurture.Regions
	// triggers are the events ingestion signals to the sequence engine
	// (WatchSequences).
	triggers atomic.Pointer[SequenceTriggers]
	// readOnly is set on the store of a replica (NewReports): reads that
	// would keep what they counted do not.
	readOnly bool
}

// New wraps a pool. The caller owns the pool and closes it.
func New(pool *pgxpool.Pool) *DB { return &DB{pool: pool, Clock: nurture.SystemClock{}} }

// Connect opens a pool for url, through pooler, and checks that the server
// answers.
func Connect(ctx context.Context, url string, pooler Pooler) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	Tune(cfg, pooler)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	return pool, nil
}

// ConnectForHits opens a small pool for the writer of opens and clicks. Its
// connections keep PostgreSQL's default plan caching: the writer runs one
// statement shape thousands of times a second, whose generic plan is right
// (index lookups by primary key), and planning it afresh each time, as Tune
// asks of the other connections, cost a third of the pixel's throughput.
// Behind pgbouncer no plan is kept: each statement is planned for its values.
func ConnectForHits(ctx context.Context, url string, pooler Pooler) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pooler.adapt(cfg)
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok && !pooler.transactionPooled() {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "auto"
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return pool, nil
}

// Tune sets what the store's queries need of every connection, unless the
// URL says otherwise, and what pooler needs (see Pooler).
//
// pgx prepares each statement once per connection, and after five runs
// PostgreSQL may switch it to a generic plan. For `col = ANY($1)` over a
// table that was small when that happened, the generic plan is a sequential
// scan that stays while the table grows: ingestion became three times slower
// over a one-minute benchmark. Custom plans cost a little planning each time
// and stay right. Behind pgbouncer, statements are unnamed and planned for
// their values each time anyway.
func Tune(cfg *pgxpool.Config, pooler Pooler) {
	pooler.adapt(cfg)
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok && !pooler.transactionPooled() {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if cfg.MaxConns < 8 {
		// Requests wait for a connection otherwise; Postgres serves more
		// concurrent short transactions than this machine has cores.
		cfg.MaxConns = 8
	}
}

// Migrations returns the embedded migration files, named as goose reads
// them. Tests use it to tell schemas migrated by another set apart.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: it is there
	}
	return sub
}

// Migrate applies every pending migration. A lock makes concurrent starts
// wait for each other instead of racing: a session advisory lock, or
// through pgbouncer, where no session is kept, a lock row with a lease that
// its holder renews (goose's table locker, in a table goose_lock created the
// first time).
func Migrate(ctx context.Context, pool *pgxpool.Pool, pooler Pooler, logger *slog.Logger) error {
	return migrate(ctx, pool, pooler, logger, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.Up(ctx) })
}

func migrate(ctx context.Context, pool *pgxpool.Pool, pooler Pooler, logger *slog.Logger, up func(*goose.Provider) ([]*goose.MigrationResult, error)) error {
	sub := Migrations()
	// Starts migrating the same schema wait for each other; different
	// schemas (as tests use) do not, so the lock id is derived from it.
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("nurture-migrations:" + schema))
	lockID := int64(h.Sum64() >> 1)
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	var lockOpt goose.ProviderOption
	if pooler.transactionPooled() {
		// Nothing to do, nothing to lock: an engine that starts on an
		// up-to-date database leaves no lock table behind.
		check, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub)
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		pending, err := check.HasPending(ctx)
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if !pending {
			return nil
		}
		locker, err := lock.NewPostgresTableLocker(lock.WithTableLockID(lockID), lock.WithTableLockTimeout(time.Second, 300))
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		lockOpt = goose.WithLocker(locker)
	} else {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		lockOpt = goose.WithSessionLocker(locker)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, lockOpt)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := up(provider)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		if logger != nil {
			logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	return nil
}

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// notFound maps pgx.ErrNoRows to the domain's not-found error.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: what + " not found"}
	}
	return err
}

// Pool returns the pool the store uses, for tests and tools that read the
// database directly.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
