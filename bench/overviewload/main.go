// Command overviewload measures the console overview's store query
// (postgres.DB.Activity) on a large history: n contacts, m messages sent
// evenly over the last 60 days (so the 30-day period holds half of them),
// with their bounces, complaints, unsubscribes and hits, for each period
// the page offers. It prints the median of several runs and the plan of
// the largest statement. The first view of a period counts its hours
// from the raw rows and keeps them; the ones after read what it kept.
//
// It uses a database of its own (migrated, its tables emptied and filled
// by INSERT ... SELECT).
//
//	go build -o bin/overviewload ./bench/overviewload && bin/overviewload -contacts 1000000 -messages 10000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture/postgres"
)

type options struct {
	contacts, messages, runs int
	reuse                    bool
	dbURL                    string
}

func main() {
	var o options
	flag.IntVar(&o.contacts, "contacts", 1_000_000, "contacts")
	flag.IntVar(&o.messages, "messages", 4_000_000, "messages sent over the last 60 days")
	flag.IntVar(&o.runs, "runs", 7, "runs of each period; the median is reported")
	flag.BoolVar(&o.reuse, "reuse", false, "keep the data of an earlier run")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_overviewload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "overviewload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	if !strings.Contains(o.dbURL, "127.0.0.1") && !strings.Contains(o.dbURL, "localhost") {
		return fmt.Errorf("%s is not on this machine", o.dbURL)
	}
	pool, err := pgxpool.New(ctx, o.dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, postgres.NoPooler, slog.New(slog.DiscardHandler)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	now := time.Now().UTC()
	if !o.reuse {
		if err := fill(ctx, pool, o, now); err != nil {
			return err
		}
	}
	// Every run starts with no hour kept: the first view of each period
	// counts its hours from the raw rows, the views after it read them.
	if _, err := pool.Exec(ctx, `TRUNCATE activity_hours`); err != nil {
		return err
	}
	db := postgres.New(pool)
	for _, p := range []struct {
		name string
		step time.Duration
		n    int
	}{{"24h", time.Hour, 24}, {"7d", 24 * time.Hour, 7}, {"30d", 24 * time.Hour, 30}} {
		from := now.Truncate(p.step).Add(-time.Duration(p.n-1) * p.step)
		var took []time.Duration
		var sent int64
		for range o.runs {
			start := time.Now()
			b, err := db.Activity(ctx, from, p.step, p.n)
			if err != nil {
				return err
			}
			took = append(took, time.Since(start))
			sent = 0
			for _, x := range b {
				sent += x.Sent
			}
		}
		first := took[0]
		slices.Sort(took)
		fmt.Printf("%-4s %9d sent  first %7.1f ms  then median %7.1f ms  min %7.1f ms  max %7.1f ms\n", p.name, sent,
			ms(first), ms(took[len(took)/2]), ms(took[0]), ms(took[len(took)-1]))
	}
	return explain(ctx, pool, now)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill writes the history: every statement is one INSERT ... SELECT.
func fill(ctx context.Context, pool *pgxpool.Pool, o options, now time.Time) error {
	span := 60 * 24 * time.Hour
	steps := []struct{ what, sql string }{
		{"empty", `TRUNCATE contacts, messages, message_status_history, bounces, email_events, consent_records,
			topic_optouts RESTART IDENTITY CASCADE`},
		{"contacts", fmt.Sprintf(`INSERT INTO contacts (external_id, email)
			SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, %d) g`, o.contacts)},
		// Sent evenly over the span, in order of id (as sends roughly are);
		// 1.5%% bounced.
		{"messages", fmt.Sprintf(`INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, sent_at)
			SELECT 'k' || g, 1 + g %% %d, 'welcome', t, CASE WHEN g %% 200 < 3 THEN 'bounced' ELSE 'sent' END, t
			FROM generate_series(1, %d) g, LATERAL (SELECT $1::timestamptz - $2::interval * (1 - g::float8 / %d)) x(t)`,
			o.contacts, o.messages, o.messages)},
		{"bounces", `INSERT INTO bounces (email_hash, type, provider, event_key, at, received_at)
			SELECT sha256(('u' || contact_id)::bytea), CASE WHEN id % 3 = 0 THEN 'soft' ELSE 'hard' END, 'api', 'b' || id,
				sent_at + interval '1 minute', sent_at + interval '1 minute'
			FROM messages WHERE status = 'bounced'`},
		{"complaints", `INSERT INTO bounces (email_hash, type, provider, event_key, at, received_at)
			SELECT sha256(('u' || contact_id)::bytea), 'complaint', 'api', 'c' || id, sent_at + interval '1 hour', sent_at + interval '1 hour'
			FROM messages WHERE id % 2000 = 7`},
		// Opens by a person for 20% of the emails (a quarter of them also
		// clicked), machine opens for 10%.
		{"hits", `INSERT INTO email_events (message_id, contact_id, kind, class, at)
			SELECT id, contact_id, k.kind, k.class, sent_at + k.after FROM messages,
			LATERAL (VALUES ('open', 'human', interval '2 hours', 5), ('click', 'human', interval '3 hours', 20),
				('open', 'machine', interval '1 minute', 10)) k(kind, class, after, every)
			WHERE id % k.every = 0`},
		{"unsubscribes", fmt.Sprintf(`INSERT INTO consent_records (contact_id, topic, granted, source, at)
			SELECT g, 'marketing', false, 'one_click', $1::timestamptz - $2::interval * random()
			FROM generate_series(1, %d, 250) g`, o.contacts)},
		{"analyze", `VACUUM ANALYZE contacts, messages, bounces, email_events, consent_records`},
	}
	for _, s := range steps {
		start := time.Now()
		var err error
		if strings.Contains(s.sql, "$1") {
			_, err = pool.Exec(ctx, s.sql, now, span)
		} else {
			_, err = pool.Exec(ctx, s.sql)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		fmt.Printf("fill %-12s %6.1f s\n", s.what, time.Since(start).Seconds())
	}
	return nil
}

// explain prints the plan of the largest statement, the sends' over 30 days.
func explain(ctx context.Context, pool *pgxpool.Pool, now time.Time) error {
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -29)
	rows, err := pool.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) SELECT date_bin(86400 * interval '1 second', sent_at, $1) AS bucket,
			count(*), count(*) FILTER (WHERE status = 'sent')
		FROM messages WHERE sent_at >= $1 AND sent_at < $2 GROUP BY bucket`, from, from.AddDate(0, 0, 30))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		fmt.Println(line)
	}
	return rows.Err()
}
