// Command consolecontacts measures the console's contact pages on
// 1,000,000 contacts: the search (a one-letter prefix, a name, a company,
// an address) a page and the next, and a contact's page for one with
// 20,000 events, 3,000 emails and 3,000 opens, through the store and
// through HTTP. Give it an empty database of its own:
//
//	createdb nurture_contacts_bench
//	go run ./bench/consolecontacts postgres://postgres@127.0.0.1:5432/nurture_contacts_bench seed
//
// ("seed" migrates and fills it, about 80 s; leave it out to measure again).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/postgres"
)

func main() {
	ctx := context.Background()
	url := os.Args[1]
	pool, err := postgres.Connect(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	if len(os.Args) > 2 && os.Args[2] == "seed" {
		seed(ctx, pool)
	}
	db := postgres.New(pool)
	measure := func(name string, f func() error) {
		var ds []time.Duration
		for range 30 {
			t := time.Now()
			if err := f(); err != nil {
				log.Fatal(name, err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%-40s median %v  p90 %v  max %v\n", name, ds[15], ds[27], ds[29])
	}
	for _, q := range []string{"a", "sam", "smith", "acme", "user5@", "user500000@example.com", "zzz", "user12345"} {
		cq, _ := nurture.ParseContactQuery(q)
		var n int
		measure("search "+q, func() error {
			ms, err := db.SearchContacts(ctx, cq, nurture.ContactCursor{}, 51)
			n = len(ms)
			return err
		})
		ms, _ := db.SearchContacts(ctx, cq, nurture.ContactCursor{}, 51)
		if len(ms) > 50 {
			measure("search "+q+" page 2", func() error {
				_, err := db.SearchContacts(ctx, cq, ms[49].Cursor(), 51)
				return err
			})
		}
		fmt.Println("  results", n)
	}
	httpMeasure(ctx, db, measure)
	var busy int64
	_ = pool.QueryRow(ctx, `SELECT contact_id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&busy)
	measure("timeline of the busiest", func() error {
		_, err := db.ContactTimeline(ctx, busy, nurture.TimelineCursor{}, 51)
		return err
	})
	measure("contact page reads", func() error {
		if _, err := db.Contact(ctx, busy); err != nil {
			return err
		}
		if _, err := db.ContactConsents(ctx, busy); err != nil {
			return err
		}
		if _, err := db.ContactEnrollments(ctx, busy); err != nil {
			return err
		}
		if _, err := db.ContactSuppression(ctx, "x@example.com"); err != nil {
			return err
		}
		_, err := db.Enrichment(ctx, busy)
		if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
			err = nil
		}
		return err
	})
}

func seed(ctx context.Context, pool *pgxpool.Pool) {
	if err := postgres.Migrate(ctx, pool, slog.Default()); err != nil {
		log.Fatal(err)
	}
	t := time.Now()
	for _, s := range []string{
		`ALTER TABLE contacts DISABLE TRIGGER USER`,
		`INSERT INTO contacts (email, first_name, last_name, company)
		 SELECT 'user' || i || '@example.com',
		   (ARRAY['Sam','Alex','Ada','Grace','Alan','Maria','John','Li','Zoë','Aisha'])[1 + i % 10] || (i % 997),
		   (ARRAY['Smith','Lovelace','Hopper','Turing','Garcia','Chen','Okafor','Müller','Rossi','Nguyen'])[1 + (i / 10) % 10] || (i % 991),
		   CASE WHEN i % 3 = 0 THEN '' ELSE (ARRAY['Acme','Globex','Initech','Umbrella','Hooli'])[1 + i % 5] || ' ' || (i % 5003) END
		 FROM generate_series(1, 1000000) i`,
		`ALTER TABLE contacts ENABLE TRIGGER USER`,
		`INSERT INTO events (contact_id, message_id, type, name, occurred_at)
		 SELECT 1 + (i % 100000), 'e' || i, 'track', 'Did ' || (i % 20), now() - (i || ' seconds')::interval FROM generate_series(1, 2000000) i`,
		`INSERT INTO events (contact_id, message_id, type, name, occurred_at)
		 SELECT 777, 'busy' || i, 'track', 'Busy ' || i, now() - (i || ' minutes')::interval FROM generate_series(1, 20000) i`,
		`INSERT INTO messages (dedupe_key, contact_id, template, status, send_at, sent_at)
		 SELECT 'm' || i, 777, 'newsletter', 'sent', now() - (i || ' hours')::interval, now() - (i || ' hours')::interval FROM generate_series(1, 3000) i`,
		`INSERT INTO email_events (message_id, contact_id, kind, class, at)
		 SELECT id, 777, 'open', 'human', sent_at + interval '5 minutes' FROM messages WHERE contact_id = 777`,
		`ANALYZE`,
	} {
		if _, err := pool.Exec(ctx, s); err != nil {
			log.Fatal(s, err)
		}
	}
	fmt.Println("seeded in", time.Since(t))
}

func httpMeasure(ctx context.Context, db *postgres.DB, measure func(string, func() error)) {
	key, stored, err := nurture.NewAPIKey("bench", []nurture.Scope{nurture.ScopeAdmin})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.CreateAPIKey(ctx, stored); err != nil {
		log.Fatal(err)
	}
	k, err := console.New(console.Config{Keys: db, Sessions: db, Audit: db, Contacts: &console.Contacts{Store: db}})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(k)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (string, error) {
		res, err := c.Get(srv.URL + path)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return "", fmt.Errorf("%s: %d", path, res.StatusCode)
		}
		return string(b), err
	}
	page, err := get("/admin/sign-in")
	if err != nil {
		log.Fatal(err)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if _, err := c.PostForm(srv.URL+"/admin/sign-in", url.Values{"key": {key}, "csrf": {csrf}}); err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"/admin/contacts?q=a", "/admin/contacts?q=smith", "/admin/contacts?q=user500000%40example.com", "/admin/contacts/777", "/admin/contacts/123456"} {
		measure("HTTP GET "+p, func() error { _, err := get(p); return err })
	}
}
