package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// measure times SegmentCount and SegmentSample (the preview's two
// queries) of cond.
func measure(ctx context.Context, db *postgres.DB, name, text string, cond nurture.Condition, runs int) error {
	var n int64
	count, err := timeRuns(runs, func() error {
		var err error
		n, err = db.SegmentCount(ctx, cond, anchor)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: count: %w", name, err)
	}
	var got int
	sample, err := timeRuns(runs, func() error {
		s, err := db.SegmentSample(ctx, cond, anchor, 20)
		got = len(s)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: sample: %w", name, err)
	}
	fmt.Printf("\n%s: %s\n  %d contacts; count p50 %s p95 %s; sample of %d p50 %s p95 %s\n",
		name, text, n, ms(percentile(count, 50)), ms(percentile(count, 95)), got, ms(percentile(sample, 50)), ms(percentile(sample, 95)))
	return nil
}

// timeRuns runs f twice to warm up, then runs times, timed.
func timeRuns(runs int, f func() error) ([]time.Duration, error) {
	var out []time.Duration
	for i := range runs + 2 {
		start := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		if i >= 2 {
			out = append(out, time.Since(start))
		}
	}
	return out, nil
}

// percentile is the nearest-rank percentile p of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// explain shows the plan PostgreSQL runs for cond's count: the store's
// statement, caught by the recorder, run again under EXPLAIN.
func explain(ctx context.Context, pool *pgxpool.Pool, db *postgres.DB, rec *recorder, cond nurture.Condition) error {
	rec.start()
	if _, err := db.SegmentCount(ctx, cond, anchor); err != nil {
		return err
	}
	sql, args := rec.stop()
	if sql == "" {
		return fmt.Errorf("explain: no statement seen")
	}
	// As the store runs it: without JIT (see postgres.DB.SegmentCount).
	var lines []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	fmt.Printf("\nEXPLAIN (ANALYZE, BUFFERS) of the count:\n%s\n\n%s\n", strings.Join(lines, "\n"), sql)
	return nil
}

// recorder remembers the first query (SELECT) run while it listens (a
// pgx.QueryTracer).
type recorder struct {
	mu        sync.Mutex
	listening bool
	sql       string
	args      []any
}

func (r *recorder) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listening, r.sql, r.args = true, "", nil
}

func (r *recorder) stop() (string, []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listening = false
	return r.sql, r.args
}

// TraceQueryStart records the statement.
func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listening && r.sql == "" && strings.HasPrefix(data.SQL, "SELECT") {
		r.sql, r.args = data.SQL, data.Args
	}
	return ctx
}

// TraceQueryEnd does nothing.
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
