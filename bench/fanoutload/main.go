// Command fanoutload measures a campaign's fan-out alone (issue 14): the
// time from the start of a campaign to every one of n contacts (a
// segment of a trait they all have) until every message row exists and
// is handed to delivery (an email:send-batch task in Redis, not sent), with
// the peak RSS of the process that fans out and PostgreSQL's CPU.
//
// It uses a database of its own (migrated, its tables emptied, n contacts
// written by COPY) and a Redis database it empties, and runs the campaign
// package's Dispatcher in this process, pass after pass, as a worker's
// campaign poller does.
//
//	go build -o bin/fanoutload ./bench/fanoutload && bin/fanoutload -n 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/campaign"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/postgres"
)

type options struct {
	n, lanes, page int
	reuse          bool
	dbURL          string
	redisURL       string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1_000_000, "contacts in the campaign's segment")
	flag.IntVar(&o.lanes, "lanes", 2, "lanes the freeze runs in at once (campaign.DispatcherConfig.Lanes)")
	flag.IntVar(&o.page, "page", 2000, "contacts a page of the freeze holds")
	flag.BoolVar(&o.reuse, "reuse", false, "keep the contacts of an earlier run with the same -n (only the campaigns and messages are emptied)")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_fanoutload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/13", "a Redis database to use (it is emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fanoutload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	for _, u := range []string{o.dbURL, o.redisURL} {
		if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") {
			return fmt.Errorf("%s is not on this machine", u)
		}
	}
	pool, err := pgxpool.New(ctx, o.dbURL+"&pool_max_conns=8")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, postgres.NoPooler, slog.New(slog.DiscardHandler)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := fill(ctx, pool, o); err != nil {
		return err
	}
	redisConn, err := redisconn.Parse(o.redisURL)
	if err != nil {
		return err
	}
	redisOpt := redisConn.ConnOpt()
	rdb := redisConn.NewClient()
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("empty the Redis database: %w", err)
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()

	db := postgres.New(pool)
	c := &nurture.Campaign{Name: "fan-out", Template: "check-in", Topic: "product", Status: "scheduled",
		Filter: map[string]any{"traits.plan": "pro"}, SendAt: time.Now(), StartsAt: time.Now()}
	if c.Condition, err = nurture.ParseSegmentFilter(c.Filter); err != nil {
		return err
	}
	if err := db.CreateCampaign(ctx, c); err != nil {
		return err
	}
	d := campaign.NewDispatcher(campaign.DispatcherConfig{Store: db, Audience: db, Enqueuer: jobs.NewEnqueuer(client),
		Lanes: o.lanes, Page: o.page, Logger: slog.New(slog.DiscardHandler)})

	dbName := procstat.DBName(o.dbURL)
	pgMine, pgAll := procstat.PostgresCPU(dbName)
	selfBefore := procstat.ProcessCPU(os.Getpid())
	fmt.Printf("load average before: %s\n", procstat.LoadAvg())
	start := time.Now()
	created, passes := 0, 0
	for {
		n, err := d.Pass(ctx, c.ID)
		if err != nil {
			return err
		}
		created, passes = created+n, passes+1
		got, err := db.Campaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if got.Status == "sent" {
			break
		}
	}
	elapsed := time.Since(start)
	pgMine2, pgAll2 := procstat.PostgresCPU(dbName)
	self := procstat.ProcessCPU(os.Getpid()) - selfBefore

	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()
	q, err := insp.GetQueueInfo(jobs.QueueLow)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE campaign_id = $1`, c.ID).Scan(&rows); err != nil {
		return err
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)

	fmt.Printf("fan-out:  %d contacts, %d lanes, pages of %d: every message row created and handed to delivery in %s (%d passes)\n",
		o.n, o.lanes, o.page, elapsed.Round(time.Millisecond), passes)
	fmt.Printf("          %.0f rows/s; %d message rows, %d created by the passes, %d email:send-batch tasks queued (%d pending)\n",
		float64(rows)/elapsed.Seconds(), rows, created, q.Size, q.Pending)
	fmt.Printf("CPU:      PostgreSQL %s (its backends for this database %s), this process %s\n",
		(pgAll2 - pgAll).Round(10*time.Millisecond), (pgMine2 - pgMine).Round(10*time.Millisecond), self.Round(10*time.Millisecond))
	fmt.Printf("memory:   this process's peak RSS %d MB\n", ru.Maxrss/1024)
	fmt.Printf("load average after: %s\n", procstat.LoadAvg())
	if rows != o.n {
		return fmt.Errorf("%d message rows for %d contacts", rows, o.n)
	}
	return nil
}

// fill empties the tables and writes n contacts, each with plan pro, by
// COPY (with -reuse, keeps n contacts already there).
func fill(ctx context.Context, pool *pgxpool.Pool, o options) error {
	if o.reuse {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil {
			return err
		}
		if n == o.n {
			_, err := pool.Exec(ctx, `TRUNCATE messages, message_status_history, campaigns, campaign_audience, campaign_lanes`)
			return err
		}
	}
	if _, err := pool.Exec(ctx, `TRUNCATE contacts, messages, message_status_history, campaigns, campaign_audience, campaign_lanes RESTART IDENTITY CASCADE`); err != nil {
		return err
	}
	start := time.Now()
	i := 0
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "time_zone", "attributes"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == o.n {
				return nil, nil
			}
			i++
			return []any{fmt.Sprintf("person%d@bench.example", i), "Ada", "Europe/Paris", map[string]any{"plan": "pro"}}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy contacts: %w", err)
	}
	// The sign-ups' enrichment requests (migration 00016's triggers) are
	// not the fan-out's work.
	if _, err := pool.Exec(ctx, `TRUNCATE contact_enrichment`); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) contacts`); err != nil {
		return err
	}
	fmt.Printf("load:     %d contacts in %s\n", o.n, time.Since(start).Round(time.Millisecond))
	return nil
}
