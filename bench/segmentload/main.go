// Command segmentload measures segment previews (issue 14): how long
// SegmentCount and SegmentSample take for typical filters on a large
// audience.
//
// It fills a database of its own (nurture_segmentload, migrated, then
// emptied) by COPY with -contacts contacts carrying realistic traits (plan,
// role, seats, industry, country, a few custom attributes) and -events track
// and page events (about twenty a contact over 90 days, from some thirty
// names spelled as products send them, with properties), and a few emails
// with opens and clicks. -reuse keeps the data of an earlier run.
//
// Each filter of the set is then asked -runs times (warm: two runs first
// that are not counted), through the store's own SegmentCount and
// SegmentSample, and p50 and p95 printed; the typical filter's count query
// (or -explain's) is shown with EXPLAIN (ANALYZE, BUFFERS) once.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

type options struct {
	contacts, events, runs int
	emails                 float64
	reuse                  bool
	dbURL                  string
	only, explain          string
}

// anchor is the moment the data is generated around and the filters are
// asked at: events fall in the 90 days before it. A fixed moment lets
// -reuse ask the same questions of the same data.
var anchor = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// filters are the previews measured: the first is "the typical filter" of
// issue 14 (three trait conditions and one engagement condition).
var filters = []struct{ name, text string }{
	{"typical", `traits.plan == "pro" and traits.country in ["US", "DE", "FR"] and traits.seats >= 10 and did viewed_pricing within 30d`},
	{"typical, rare event", `traits.industry == "Software" and traits.plan in ["trial", "starter"] and traits.signup_source == "ads" and did invited_teammate within 30d`},
	{"event at least 3 times", `traits.role == "Engineer" and traits.beta == true and traits.seats < 50 and did created_project at least 3 times within 30d`},
	{"event with a property", `traits.plan == "pro" and did upgraded_plan where plan == "enterprise" within 30d`},
	{"clicked a topic", `traits.plan in ["pro", "enterprise"] and traits.country == "US" and clicked topic product within 30d`},
	{"opened any email", `traits.seats >= 100 and opened any email within 30d`},
	{"not did", `traits.plan == "trial" and traits.trial_ends <= "2026-12-15" and not did created_project within 30d`},
	{"traits only", `traits.plan == "pro" and traits.country in ["US", "DE", "FR"] and traits.seats >= 10`},
}

func main() {
	var o options
	flag.IntVar(&o.contacts, "contacts", 1000000, "contacts to generate")
	flag.IntVar(&o.events, "events", 20000000, "events to generate")
	flag.Float64Var(&o.emails, "emails", 0.3, "share of contacts that were sent emails (1 to 4 each, some opened or clicked)")
	flag.IntVar(&o.runs, "runs", 20, "timed runs of each query")
	flag.BoolVar(&o.reuse, "reuse", false, "keep the data of an earlier run (no migration, no load)")
	flag.StringVar(&o.explain, "explain", "typical", "print EXPLAIN (ANALYZE, BUFFERS) of the count of the filter of this name (none: -explain '')")
	flag.StringVar(&o.only, "only", "", "measure only the filters whose name contains this")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_segmentload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "segmentload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	if !strings.Contains(o.dbURL, "127.0.0.1") && !strings.Contains(o.dbURL, "localhost") {
		return fmt.Errorf("%s is not on this machine", o.dbURL)
	}
	cfg, err := pgxpool.ParseConfig(o.dbURL)
	if err != nil {
		return err
	}
	postgres.Tune(cfg, postgres.NoPooler)
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !o.reuse {
		if err := postgres.Migrate(ctx, pool, postgres.NoPooler, nil); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := load(ctx, pool, o); err != nil {
			return err
		}
	}
	var contacts, events int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM events)`).Scan(&contacts, &events); err != nil {
		return err
	}
	fmt.Printf("data: %d contacts, %d events, asked at %s\n", contacts, events, anchor.Format(time.RFC3339))
	db := postgres.New(pool)
	for _, f := range filters {
		if o.only != "" && !strings.Contains(f.name, o.only) {
			continue
		}
		cond, err := nurture.ParseCondition(f.text)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := measure(ctx, db, f.name, f.text, cond, o.runs); err != nil {
			return err
		}
		if f.name == o.explain {
			if err := explain(ctx, pool, db, rec, cond); err != nil {
				return err
			}
		}
	}
	return nil
}
