// Command consoleload measures the console's pages (issue 17: each must
// answer in under 100 ms with 1,000,000 contacts).
//
// It uses a database of its own (nurture_console_1m, created when missing
// and migrated with postgres.Migrate), seeds it once by COPY with
// -contacts contacts (names, companies and addresses of people), about ten
// emails each for 10% of them with their opens and clicks, events, sequence
// enrollments, a few campaigns, and 2% of the addresses suppressed; a later
// run finds the seed whole and keeps it (-reseed draws it again). It then
// starts the console in-process on the real store, signs in with an admin
// key, and GETs each page -n times (after two warm-up requests), printing
// the median and p95 of each as a markdown table. A page the console does
// not serve (404) is reported as "not served".
//
// Run it under the benchmarks' lock: bench/console.sh does.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

type options struct {
	dbURL, pages, redis string
	contacts, runs      int
	reseed              bool
}

// knownPages are the console's pages the command knows, in the order of
// the table; {placeholders} are filled from the seed (fillPath).
var knownPages = []struct{ name, path string }{
	{"overview-24h", "/admin/overview?period=24h"},
	{"overview-7d", "/admin/overview?period=7d"},
	{"overview-30d", "/admin/overview?period=30d"},
	{"contacts-search-email", "/admin/contacts?q={email}"},
	{"contacts-search-name", "/admin/contacts?q={name}"},
	{"contacts-search-company", "/admin/contacts?q={company}"},
	{"contacts-search-letter", "/admin/contacts?q=a"},
	{"contact", "/admin/contacts/{contact}"},
	{"campaigns", "/admin/campaigns"},
	{"campaign", "/admin/campaigns/{campaign}"},
	{"sequences", "/admin/sequences"},
	{"sequence", "/admin/sequences/onboarding"},
	{"templates", "/admin/templates"},
	{"template", "/admin/templates/welcome"},
	{"campaign-new", "/admin/campaigns/new"},
	{"suppressions", "/admin/suppressions"},
	{"suppressions-older", "/admin/suppressions?before={cursor}"},
	{"suppressions-search", "/admin/suppressions?email={suppressed}"},
	{"suppression", "/admin/suppressions/{suppressedHash}"},
	{"audit", "/admin/audit"},
	{"queues", "/admin/queues"},
}

func main() {
	var o options
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_console_1m?sslmode=disable", "the database to seed and read (created when missing)")
	flag.IntVar(&o.contacts, "contacts", 1000000, "contacts to seed")
	flag.IntVar(&o.runs, "n", 30, "timed requests of each page")
	flag.StringVar(&o.pages, "pages", "", "pages to measure, comma-separated: names of known pages, or name=/admin/path for others (default: every known page)")
	flag.StringVar(&o.redis, "redis", "", "a Redis URL for the queue UI (asynqmon, read only); without it /admin/queues is not served")
	flag.BoolVar(&o.reseed, "reseed", false, "seed again even when the database holds a whole seed")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "consoleload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	pages, err := choosePages(o.pages)
	if err != nil {
		return err
	}
	if err := createDatabase(ctx, o.dbURL); err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(o.dbURL)
	if err != nil {
		return err
	}
	postgres.Tune(cfg, postgres.NoPooler)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool); err != nil {
		return err
	}
	done, err := seeded(ctx, pool)
	if err != nil {
		return err
	}
	if !done || o.reseed {
		if err := seed(ctx, pool, o.contacts); err != nil {
			return err
		}
	}
	vals, err := placeholders(ctx, pool, o.contacts)
	if err != nil {
		return err
	}

	store := postgres.New(pool)
	key, stored, err := nurture.NewAPIKey("consoleload", []nurture.Scope{nurture.ScopeAdmin})
	if err != nil {
		return err
	}
	if err := store.CreateAPIKey(ctx, stored); err != nil {
		return err
	}
	ccfg, err := consoleConfig(store)
	if err != nil {
		return err
	}
	if o.redis != "" {
		conn, err := redisconn.Parse(o.redis)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		ui := asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: conn.ConnOpt(), ReadOnly: true})
		defer ui.Close()
		ccfg.Queues = ui
	}
	k, err := console.New(ccfg)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(k)
	defer srv.Close()
	client, err := signIn(srv.URL, key)
	if err != nil {
		return err
	}

	fmt.Printf("\n%s; each page %d times after 2 warm-up requests.\n\n", describe(ctx, pool), o.runs)
	fmt.Println("| Page | Path | Median | p95 |")
	fmt.Println("|---|---|---:|---:|")
	for _, p := range pages {
		path := fillPath(p.path, vals)
		median, p95, note, err := measure(client, srv.URL+path, o.runs)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		shown := path
		if len(shown) > 60 {
			shown = shown[:57] + "..."
		}
		if note != "" {
			fmt.Printf("| %s | `%s` | %s | |\n", p.name, shown, note)
			continue
		}
		fmt.Printf("| %s | `%s` | %s | %s |\n", p.name, shown, ms(median), ms(p95))
	}
	return nil
}

// consoleConfig is the console with every page it has, on the real store.
// A page built later gets its line here.
func consoleConfig(store *postgres.DB) (console.Config, error) {
	tmpl, err := templates.Default()
	if err != nil {
		return console.Config{}, err
	}
	seqs, err := sequence.Load(templates.Sequences(), tmpl)
	if err != nil {
		return console.Config{}, err
	}
	sim := api.ConsoleSimulator{Simulator: &api.Simulator{Store: store}}
	return console.Config{
		Keys: store, Sessions: store, Audit: store,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Overview:     &console.Overview{Activity: store},
		Contacts:     &console.Contacts{Store: store},
		Sequences:    &console.Sequences{Set: seqs, Stats: store, Simulator: sim},
		Campaigns:    &console.Campaigns{Store: store, Counts: store, Segments: store, Audience: store, Templates: tmpl},
		Templates:    &console.Templates{Set: tmpl, Contacts: store},
		Suppressions: &console.Suppressions{Store: store},
	}, nil
}

// choosePages reads -pages.
func choosePages(flagValue string) ([]struct{ name, path string }, error) {
	if flagValue == "" {
		return knownPages, nil
	}
	var out []struct{ name, path string }
	for _, f := range strings.Split(flagValue, ",") {
		f = strings.TrimSpace(f)
		if name, path, ok := strings.Cut(f, "="); ok {
			if !strings.HasPrefix(path, "/admin") {
				return nil, fmt.Errorf("-pages: %s: the path must start with /admin", name)
			}
			out = append(out, struct{ name, path string }{name, path})
			continue
		}
		i := slices.IndexFunc(knownPages, func(p struct{ name, path string }) bool { return p.name == f })
		if i < 0 {
			return nil, fmt.Errorf("-pages: no page is named %q (give name=/admin/path for another)", f)
		}
		out = append(out, knownPages[i])
	}
	return out, nil
}

// createDatabase creates the URL's database on its server when missing.
func createDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("-db: %w", err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return fmt.Errorf("-db: %s is not on this machine", h)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to create %s: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	fmt.Printf("created database %s\n", name)
	return nil
}

// migrate applies the migrations. A database seeded on one branch may
// lack migrations numbered below its newest once branches are merged:
// those are applied out of order rather than seeding again.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := postgres.Migrate(ctx, pool, postgres.NoPooler, nil)
	if err == nil || !strings.Contains(err.Error(), "missing migrations") {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations(), goose.WithAllowOutofOrder(true))
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	for _, r := range res {
		fmt.Printf("migrate: applied %s out of order\n", r.Source.Path)
	}
	return err
}

// placeholders are the values the pages' paths name: a mailed contact in
// the middle of the seed, a campaign, a suppressed address, and the
// place of a page deep in the suppression list (the 100th of 50 at
// 1,000,000 contacts).
func placeholders(ctx context.Context, pool *pgxpool.Pool, contacts int) (map[string]string, error) {
	i := contacts/2 - contacts/2%10 + 3 // mailed
	var id int64
	var email, first, last, company string
	err := pool.QueryRow(ctx, `SELECT id, email, first_name, last_name, company FROM contacts WHERE external_id = $1`,
		fmt.Sprintf("u%d", i+1)).Scan(&id, &email, &first, &last, &company)
	if err != nil {
		return nil, fmt.Errorf("the sample contact: %w", err)
	}
	var campaign int64
	if err := pool.QueryRow(ctx, `SELECT min(id) FROM campaigns`).Scan(&campaign); err != nil {
		return nil, err
	}
	var supEmail string
	var supHash []byte
	var at time.Time
	err = pool.QueryRow(ctx, `SELECT email, email_hash, created_at FROM suppressions ORDER BY created_at DESC, email_hash DESC
		OFFSET $1 LIMIT 1`, min(4999, contacts/100)).Scan(&supEmail, &supHash, &at)
	if err != nil {
		return nil, fmt.Errorf("a suppression: %w", err)
	}
	return map[string]string{
		"{email}": email, "{name}": first + " " + last, "{company}": company, "{contact}": fmt.Sprint(id),
		"{campaign}": fmt.Sprint(campaign), "{suppressed}": supEmail, "{suppressedHash}": hex.EncodeToString(supHash),
		"{cursor}": at.UTC().Format(time.RFC3339Nano) + "_" + hex.EncodeToString(supHash),
	}, nil
}

// fillPath puts the values in path, escaped for a query or a path.
func fillPath(path string, vals map[string]string) string {
	for k, v := range vals {
		path = strings.ReplaceAll(path, k, url.QueryEscape(v))
	}
	return path
}

// describe is a line on the data, from the planner's row estimates
// (exact counts of these tables take seconds).
func describe(ctx context.Context, pool *pgxpool.Pool) string {
	rows, err := pool.Query(ctx, `SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace
		AND relname IN ('contacts', 'messages', 'email_events', 'events', 'suppressions', 'enrollments') ORDER BY relname`)
	if err != nil {
		return "data: " + err.Error()
	}
	var parts []string
	var name string
	var n int64
	_, _ = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
		parts = append(parts, fmt.Sprintf("%s ~%d", name, n))
		return nil
	})
	return "Data: " + strings.Join(parts, ", ")
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs a client in with key through the sign-in form.
func signIn(base, key string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/admin/sign-in")
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("sign in: no CSRF token on the page")
	}
	res, err = c.PostForm(base+"/admin/sign-in", url.Values{"key": {key}, "csrf": {string(m[1])}, "next": {"/admin"}})
	if err != nil {
		return nil, err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: status %d", res.StatusCode)
	}
	return c, nil
}

// measure GETs u runs times (after two warm-up requests) and returns the
// median and the p95 of the whole request, body read; note says why there
// are none (not served, another status).
func measure(c *http.Client, u string, runs int) (median, p95 time.Duration, note string, err error) {
	var took []time.Duration
	for i := range runs + 2 {
		start := time.Now()
		res, err := c.Get(u)
		if err != nil {
			return 0, 0, "", err
		}
		_, err = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if err != nil {
			return 0, 0, "", err
		}
		d := time.Since(start)
		switch {
		case res.StatusCode == http.StatusNotFound:
			return 0, 0, "not served", nil
		case res.StatusCode != http.StatusOK:
			return 0, 0, fmt.Sprintf("status %d", res.StatusCode), nil
		}
		if i >= 2 {
			took = append(took, d)
		}
	}
	slices.Sort(took)
	return took[len(took)/2], took[(len(took)*95+99)/100-1], "", nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
