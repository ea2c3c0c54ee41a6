// Command enrichload measures lead enrichment (issue 13) through the
// engine's own packages: n sign-ups from d companies go through ingestion
// ((*postgres.DB).Ingest with identify calls, in batches, as the API
// stores them), whose triggers make each contact due; the enrichment
// poller queues them, a worker server on the enrich queue runs lead:enrich,
// and the Enricher researches each company's web site and DNS once,
// paced at one request per second per domain by the Redis DomainPacer
// (production's rule).
//
// The companies are real-looking (acme-freight.de, lark-legal.co.uk) but
// never leave the machine: one loopback HTTP server serves all their
// sites (the Host header chooses the company: a home page with JSON-LD,
// OpenGraph and a text of its industry, an about page it links, a
// robots.txt), a local DNS server answers for them (A 127.0.0.1, MX and
// SPF records of various providers) and for nothing else, every
// connection goes through enrich.LoopbackOnly under the fetcher's own
// checks, and DNS goes only to the local server.
//
// It wires the packages as cmd/nurture does with NURTURE_ENRICH=true
// (research.go and serve.go), in one process, because the binary always
// fetches https://domain/ on port 443, which a benchmark cannot serve on
// loopback for a thousand names; the sites here are http://domain:PORT/.
// The process's CPU and memory therefore include the sites and the DNS
// server (small: pages are a few KB of text).
//
// It reports contacts enriched and domains researched per second, the
// requests per domain and path, the DNS queries per domain, the statuses,
// sign-up to enrichment latency, the process's peak memory and CPU, and
// PostgreSQL's CPU; and it exits non-zero when a contact was not enriched
// exactly once, a domain researched more than once, a path fetched twice,
// DNS asked about another name, or the guard refused anything.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/postgres"
)

func main() {
	var (
		cfg   config
		dbURL string
	)
	flag.IntVar(&cfg.contacts, "n", 10000, "sign-ups")
	flag.IntVar(&cfg.domains, "domains", 1000, fmt.Sprintf("companies they work for (at most %d)", maxDomains))
	flag.IntVar(&cfg.concurrency, "concurrency", 16, "lead:enrich tasks at once (NURTURE_ENRICH_CONCURRENCY)")
	flag.IntVar(&cfg.batch, "batch", 500, "identify calls per ingested batch")
	flag.Float64Var(&cfg.perSecond, "per-second", 1, "requests per second per domain (production: 1)")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "how long to wait for every contact to be enriched")
	flag.StringVar(&dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_enrichload?sslmode=disable", "a database of the bench's own (its tables are emptied)")
	flag.Parse()
	cfg.seed = 13
	cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(cfg, dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "enrichload:", err)
		os.Exit(1)
	}
}

func run(cfg config, dbURL string) error {
	ctx := context.Background()
	if !strings.Contains(dbURL, "127.0.0.1") && !strings.Contains(dbURL, "localhost") {
		return fmt.Errorf("%s is not on this machine", dbURL)
	}
	dir, err := os.MkdirTemp("", "enrichload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	redisAddr, redisPID, stopRedis, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer stopRedis()
	cfg.redisURL, cfg.redisPID = "redis://"+redisAddr+"/0", redisPID

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, postgres.NoPooler, nil); err != nil {
		return err
	}
	if err := empty(ctx, pool); err != nil {
		return err
	}
	cfg.pool, cfg.dbName = pool, procstat.DBName(dbURL)

	fmt.Printf("load average before: %s; %d CPUs, GOMAXPROCS %d\n", procstat.LoadAvg(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	res, err := bench(ctx, cfg)
	if err != nil {
		return err
	}
	report(res)
	if len(res.problems) > 0 {
		for _, p := range res.problems[:min(len(res.problems), 20)] {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		return fmt.Errorf("%d problems", len(res.problems))
	}
	fmt.Println("OK: every contact enriched once, every domain researched once, every page fetched once, nothing refused")
	return nil
}

// empty empties every table the migrations made, but the installation
// row and goose's.
func empty(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		AND tablename NOT IN ('installation', 'goose_db_version')`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for i, n := range names {
		names[i] = pgx.Identifier{n}.Sanitize()
	}
	_, err = pool.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")+" RESTART IDENTITY CASCADE")
	return err
}

func report(r *results) {
	c := r.cfg
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Printf("%d sign-ups from %d companies, ingested in batches of %d in %s; enrich concurrency %d, %.0f request/s per domain\n",
		c.contacts, c.domains, c.batch, ms(r.ingest), c.concurrency, c.perSecond)
	fmt.Printf("  %d contacts enriched in %s from the first sign-up: %.1f contacts/s; %d domains researched in %s: %.2f domains/s\n",
		r.enriched, ms(r.wall), float64(r.enriched)/r.wall.Seconds(), r.researches, ms(r.researchWall),
		float64(r.researches)/r.researchWall.Seconds())
	fmt.Printf("  statuses: %s; %d contacts deferred (their domain was being researched by another job)\n", counts(r.statuses), r.deferrals)
	fmt.Printf("  sign-up -> enriched: p50 %s, p99 %s, max %s\n", ms(percentile(r.latency, 0.5)), ms(percentile(r.latency, 0.99)),
		ms(percentile(r.latency, 1)))
	fmt.Printf("  research of a domain (claim to save): p50 %s, p99 %s; pace: %d waits, %s in all (%s per domain)\n",
		ms(percentile(r.researchTimes, 0.5)), ms(percentile(r.researchTimes, 0.99)), r.paceWaits, ms(r.paceWaited),
		ms(r.paceWaited/time.Duration(max(1, c.domains))))
	perPath := len(sitePaths)
	floor := time.Duration(float64(c.domains) * float64(perPath-1) / c.perSecond / float64(c.concurrency) * float64(time.Second))
	fmt.Printf("  the pace's floor: %d domains x %d paced gaps of %.3g s / %d tasks at once = %s of the %s; the task slots spent %.0f%% of the run waiting for the pace\n",
		c.domains, perPath-1, 1/c.perSecond, c.concurrency, ms(floor), ms(r.wall),
		100*r.paceWaited.Seconds()/(float64(c.concurrency)*r.wall.Seconds()))
	s := r.sites
	fmt.Printf("  site requests: %d (%s); per domain min %d max %d; most requests of one path of one host: %d; other hosts: %d\n",
		s.total, counts(s.byPath), minOf(s.perDomain), maxOf(s.perDomain), s.maxPerPath, s.unknown)
	fmt.Printf("  DNS queries: %d (%s); per domain min %d max %d; other names: %d\n",
		r.dns.total, counts(r.dns.byType), minOf(r.dns.perDomain), maxOf(r.dns.perDomain), len(r.dns.foreign))
	fmt.Printf("  loopback guard refusals: %d; User-Agent: %s\n", len(r.refused), strings.Join(s.agents, " / "))
	fmt.Printf("  companies as their sites say: industry %d, team size %d, country %d, mail provider %d, SaaS tools %d of %d; contacts with a department %d, a seniority %d of %d\n",
		r.industryOK, r.sizeOK, r.countryOK, r.mailOK, r.toolsOK, c.domains, r.department, r.senority, c.contacts)
	fmt.Printf("  memory: peak RSS (VmHWM) %d MB, Go heap peak (sampled every 100 ms) %d MB\n", r.rssPeak>>20, r.heapPeak>>20)
	cpu := fmt.Sprintf("  CPU: this process %s (%.0f µs per contact; sites and DNS server included)", ms(r.processCPU),
		float64(r.processCPU.Microseconds())/float64(max(1, r.enriched)))
	if c.dbName != "" {
		cpu += fmt.Sprintf(", PostgreSQL %s (the backends of %s; all postgres processes: %s)", ms(r.pgCPU), c.dbName, ms(r.pgAllCPU))
	}
	if c.redisPID != 0 {
		cpu += fmt.Sprintf(", redis-server %s", ms(r.redisCPU))
	}
	fmt.Printf("%s; load average after: %s\n", cpu, procstat.LoadAvg())
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func minOf(m map[string]int) int {
	first, out := true, 0
	for _, v := range m {
		if first || v < out {
			out, first = v, false
		}
	}
	return out
}

func maxOf(m map[string]int) int {
	out := 0
	for _, v := range m {
		out = max(out, v)
	}
	return out
}
