package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
)

// Reports answers the read-only reporting queries (segment previews and
// audience counts, campaign and sequence statistics, the console's
// overview and campaign counts) from a streaming replica while it is
// fresh, else from the primary.
//
// Fresh means reachable and at most ReportsConfig.MaxLag behind the
// primary, measured at most every CheckEvery: a report may therefore show
// the database as it was up to MaxLag (plus the time to the next check)
// ago. Nothing that sends, and nothing that must read a change its caller
// just made, goes through Reports: those read the primary (DB).
type Reports struct {
	primary, replica *DB // replica nil: every report reads the primary
	cfg              ReportsConfig
	checking         atomic.Bool
	state            atomic.Pointer[replicaState]
}

// ReportsConfig tunes Reports. Its zero value is usable.
type ReportsConfig struct {
	// MaxLag is how far behind the primary the replica may be for
	// reports to read it; default 30 s.
	MaxLag time.Duration
	// CheckEvery is how often the lag is measured (by the first report
	// after the last check is this old); default 5 s.
	CheckEvery time.Duration
	// CheckTimeout bounds a measurement; a replica that does not answer
	// within it is unreachable. Default 2 s.
	CheckTimeout time.Duration
	Logger       *slog.Logger
	Observer     ReplicaObserver // nil: none
}

// ReplicaObserver hears where reports are read (internal/metrics
// implements it).
type ReplicaObserver interface {
	// ReplicaLag is the lag a check measured: zero when the replica has
	// replayed everything the primary had written.
	ReplicaLag(lag time.Duration)
	// ReportsSource says, after each check or a failed report, whether
	// reports read the replica, and if not why: "unreachable", "lagging"
	// or "query_failed".
	ReportsSource(replica bool, reason string)
}

// Reasons reports leave the replica for the primary.
const (
	FallbackUnreachable = "unreachable"
	FallbackLagging     = "lagging"
	FallbackQueryFailed = "query_failed"
)

// replicaState is what the last check found.
type replicaState struct {
	at     time.Time
	fresh  bool
	lag    time.Duration // -1: unknown
	reason string        // why not fresh
}

// NewReports reads reports from replica (a pool on a streaming replica of
// primary's database, or nil for none) while it is fresh, else from
// primary. The caller owns and closes the replica's pool.
func NewReports(primary *DB, replica *pgxpool.Pool, cfg ReportsConfig) *Reports {
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 30 * time.Second
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = 5 * time.Second
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reports{primary: primary, cfg: cfg}
	if replica != nil {
		r.replica = &DB{pool: replica, Clock: primary.Clock, readOnly: true}
	}
	return r
}

// ConnectReplica opens a pool on a replica without waiting for it to
// answer: reports read the primary until it does. A connection attempt
// gives up after 5 s unless the URL says otherwise.
func ConnectReplica(url string, pooler Pooler) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	Tune(cfg, pooler)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return pool, nil
}

// source is the store a report reads now: the replica while the last
// check found it fresh, checking again when that check is CheckEvery old.
// One caller checks at a time; the others go by the last check meanwhile.
func (r *Reports) source(ctx context.Context) *DB {
	if r.replica == nil {
		return r.primary
	}
	st := r.state.Load()
	if (st == nil || r.primary.Clock.Now().Sub(st.at) >= r.cfg.CheckEvery) && r.checking.CompareAndSwap(false, true) {
		st = r.check(ctx)
		r.checking.Store(false)
	}
	if st != nil && st.fresh {
		return r.replica
	}
	return r.primary
}

// check measures the replica's lag, records the verdict, and logs and
// reports it.
func (r *Reports) check(ctx context.Context) *replicaState {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CheckTimeout)
	defer cancel()
	st := &replicaState{lag: -1}
	lag, err := r.measure(ctx)
	switch {
	case err != nil:
		st.reason = FallbackUnreachable
		r.cfg.Logger.Debug("replica check", "err", err)
	case lag > r.cfg.MaxLag:
		st.lag, st.reason = lag, FallbackLagging
	default:
		st.lag, st.fresh = lag, true
	}
	if st.lag >= 0 && r.cfg.Observer != nil {
		r.cfg.Observer.ReplicaLag(st.lag)
	}
	r.record(st, err)
	return st
}

// record keeps st as the latest verdict (dated now), logging a change of
// source, and tells the observer.
func (r *Reports) record(st *replicaState, err error) {
	st.at = r.primary.Clock.Now()
	prev := r.state.Swap(st)
	switch {
	case !st.fresh && (prev == nil || prev.fresh || prev.reason != st.reason):
		attrs := []any{"reason", st.reason, "max_lag", r.cfg.MaxLag}
		if st.lag >= 0 {
			attrs = append(attrs, "lag", st.lag)
		}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		r.cfg.Logger.Warn("reports read the primary: the replica is not fresh", attrs...)
	case st.fresh && (prev == nil || !prev.fresh):
		r.cfg.Logger.Info("reports read the replica", "lag", st.lag, "max_lag", r.cfg.MaxLag)
	}
	if r.cfg.Observer != nil {
		r.cfg.Observer.ReportsSource(st.fresh, st.reason)
	}
}

// measure returns how far the replica is behind the primary: zero when it
// has replayed all the WAL the primary had flushed a moment before
// (an idle primary writes none, so a replica whose last replayed
// transaction is old is still fresh), else the age of the last
// transaction it replayed, by the replica's clock. A server that is not
// in recovery (a promoted replica) has no lag. When the primary cannot
// say where its WAL ends, the replica's own view stands: caught up when it
// has replayed all it received.
func (r *Reports) measure(ctx context.Context) (time.Duration, error) {
	var primaryLSN *string
	if err := r.primary.pool.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&primaryLSN); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		primaryLSN = nil
	}
	var (
		caughtUp bool
		age      *float64
	)
	err := r.replica.pool.QueryRow(ctx, `
		SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn,
		                pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn(),
		                NOT pg_is_in_recovery()),
		       EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())::float8`, primaryLSN).Scan(&caughtUp, &age)
	if err != nil {
		return 0, fmt.Errorf("measure replica lag: %w", err)
	}
	return replicaLag(caughtUp, age), nil
}

// replicaLag is the lag of a replica that has or has not replayed all
// the primary wrote, whose last replayed transaction is age seconds old
// (nil: none replayed since it started, so the lag is unknown and
// counted as without bound).
func replicaLag(caughtUp bool, age *float64) time.Duration {
	switch {
	case caughtUp:
		return 0
	case age == nil || *age > float64(1<<62)/float64(time.Second):
		return time.Duration(1<<63 - 1)
	case *age < 0: // the replica's clock is behind the primary's
		return 0
	}
	return time.Duration(*age * float64(time.Second))
}

// read runs q on the store reports read now. A failure of the replica
// that another server would not have (its connection, a query cancelled
// by a conflict with recovery) is answered by the primary; a connection
// failure also sends reports to the primary until the next check.
func read[T any](ctx context.Context, r *Reports, q func(*DB) (T, error)) (T, error) {
	db := r.source(ctx)
	v, err := q(db)
	if err == nil || db == r.primary || ctx.Err() != nil {
		return v, err
	}
	retry, down := replicaFailure(err)
	if !retry {
		return v, err
	}
	if down {
		r.record(&replicaState{lag: -1, reason: FallbackQueryFailed}, err)
	} else {
		r.cfg.Logger.Info("report answered by the primary after the replica cancelled it", "err", err)
	}
	return q(r.primary)
}

// replicaFailure says whether err, from a report on the replica, is worth
// asking the primary again (retry) and whether it says the replica is
// down (down).
func replicaFailure(err error) (retry, down bool) {
	var domain *nurture.Error
	if errors.As(err, &domain) {
		return false, false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true, true // no answer from the server: connection lost or refused
	}
	switch {
	case pgErr.Code == "40001": // canceled on conflict with recovery
		return true, false
	case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "57"): // connection, shutdown
		return true, true
	}
	return false, false
}

// SegmentCount counts the contacts a condition selects (DB.SegmentCount).
func (r *Reports) SegmentCount(ctx context.Context, cond nurture.Condition, now time.Time) (int64, error) {
	return read(ctx, r, func(db *DB) (int64, error) { return db.SegmentCount(ctx, cond, now) })
}

// SegmentSample lists some of the contacts a condition selects
// (DB.SegmentSample).
func (r *Reports) SegmentSample(ctx context.Context, cond nurture.Condition, now time.Time, limit int) ([]*nurture.Contact, error) {
	return read(ctx, r, func(db *DB) ([]*nurture.Contact, error) { return db.SegmentSample(ctx, cond, now, limit) })
}

// SequenceStats counts what a sequence did (DB.SequenceStats).
func (r *Reports) SequenceStats(ctx context.Context, sequenceID string) (*nurture.SequenceStats, error) {
	return read(ctx, r, func(db *DB) (*nurture.SequenceStats, error) { return db.SequenceStats(ctx, sequenceID) })
}

// CampaignStats counts a campaign's messages and engagement
// (DB.CampaignStats).
func (r *Reports) CampaignStats(ctx context.Context, id int64) (*nurture.CampaignStats, error) {
	return read(ctx, r, func(db *DB) (*nurture.CampaignStats, error) { return db.CampaignStats(ctx, id) })
}

// ABResults counts an A/B test's variants as they stand (DB.ABResults).
func (r *Reports) ABResults(ctx context.Context, id int64, variants int) ([]nurture.VariantResult, error) {
	return read(ctx, r, func(db *DB) ([]nurture.VariantResult, error) { return db.ABResults(ctx, id, variants) })
}

// CampaignTotals counts the console list's campaigns (DB.CampaignTotals).
func (r *Reports) CampaignTotals(ctx context.Context, ids []int64) (map[int64]*nurture.CampaignStats, error) {
	return read(ctx, r, func(db *DB) (map[int64]*nurture.CampaignStats, error) { return db.CampaignTotals(ctx, ids) })
}

// Activity counts the console overview's buckets (DB.Activity). On the
// replica the hours it counts from raw rows are not kept: the worker's
// overview job keeps them on the primary.
func (r *Reports) Activity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error) {
	return read(ctx, r, func(db *DB) ([]nurture.ActivityBucket, error) { return db.Activity(ctx, from, step, n) })
}
