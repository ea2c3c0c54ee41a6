package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// weighted picks among values by weight.
type weighted struct {
	values []string
	cum    []float64
}

func weights(pairs ...any) weighted {
	var w weighted
	total := 0.0
	for i := 0; i < len(pairs); i += 2 {
		total += float64(pairs[i+1].(int))
		w.values = append(w.values, pairs[i].(string))
		w.cum = append(w.cum, total)
	}
	for i := range w.cum {
		w.cum[i] /= total
	}
	return w
}

func (w weighted) pick(r *rand.Rand) string {
	x := r.Float64()
	for i, c := range w.cum {
		if x < c {
			return w.values[i]
		}
	}
	return w.values[len(w.values)-1]
}

var (
	plans     = weights("free", 40, "trial", 20, "starter", 15, "pro", 18, "enterprise", 7)
	countries = weights("US", 35, "GB", 9, "DE", 8, "FR", 6, "CA", 5, "IN", 8, "BR", 5, "NL", 3, "ES", 3, "AU", 3, "JP", 3, "SE", 2, "PL", 2, "IT", 3, "MX", 2, "SG", 1, "IE", 1, "CH", 1)
	roles     = weights("Engineer", 30, "Product Manager", 10, "Designer", 8, "CTO", 4, "CEO", 4, "Marketing", 12, "Sales", 12, "Support", 6, "Data Analyst", 8, "Founder", 6)
	industry  = weights("Software", 30, "Fintech", 10, "E-commerce", 12, "Healthcare", 8, "Education", 7, "Media", 6, "Manufacturing", 6, "Consulting", 8, "Logistics", 5, "Non-profit", 3, "Gaming", 5)
	sizes     = weights("1-10", 30, "11-50", 30, "51-200", 20, "201-1000", 12, "1000+", 8)
	sources   = weights("organic", 40, "ads", 25, "referral", 20, "partner", 10, "event", 5)
	firsts    = []string{"Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John", "Radia", "Tim"}
	lasts     = []string{"Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Backus", "Perlman", "Berners-Lee"}
	topics    = []string{"product", "marketing", "onboarding", "education"}
)

// eventNames are what products track, in the spellings they send
// (nurture.EventKey folds them together), by how often they happen.
var eventNames = weights(
	"Logged In", 200, "Viewed Dashboard", 150, "Viewed Page", 80, "Created Project", 60, "Updated Project", 50,
	"Searched", 40, "Viewed Pricing", 25, "viewed_pricing", 5, "Exported Report", 20, "Invited Teammate", 6,
	"invited-teammate", 2, "Commented", 30, "Uploaded File", 25, "Shared Link", 15, "Connected Integration", 8,
	"Created API Key", 4, "Viewed Docs", 30, "Opened Support Ticket", 5, "Upgraded Plan", 2, "Downgraded Plan", 1,
	"Started Trial", 3, "Trial Ended", 2, "Completed Onboarding", 5, "Skipped Onboarding", 2, "Enabled SSO", 1,
	"Added Payment Method", 2, "Viewed Invoice", 4, "Changed Settings", 10, "Archived Project", 5, "Signed Up", 3,
	"Deleted Account", 1,
)

const span = 90 * 24 * time.Hour

// load empties the tables a preview reads and fills them.
func load(ctx context.Context, pool *pgxpool.Pool, o options) error {
	start := time.Now()
	if _, err := pool.Exec(ctx, `TRUNCATE contacts, events, messages, email_events, message_reasons, companies,
		contact_enrichment, suppressions, topic_optouts RESTART IDENTITY CASCADE`); err != nil {
		return fmt.Errorf("empty: %w", err)
	}
	if err := copyContacts(ctx, pool, o.contacts); err != nil {
		return err
	}
	fmt.Printf("load: %d contacts in %s\n", o.contacts, time.Since(start).Round(time.Millisecond))
	t := time.Now()
	if err := copyEvents(ctx, pool, o.contacts, o.events); err != nil {
		return err
	}
	fmt.Printf("load: %d events in %s\n", o.events, time.Since(t).Round(time.Millisecond))
	t = time.Now()
	nm, nh, err := copyEmails(ctx, pool, o.contacts, o.emails)
	if err != nil {
		return err
	}
	fmt.Printf("load: %d emails, %d opens and clicks in %s\n", nm, nh, time.Since(t).Round(time.Millisecond))
	t = time.Now()
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) contacts, events, messages, email_events`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	fmt.Printf("load: vacuum and analyze in %s (all %s)\n", time.Since(t).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// copyInto runs a COPY without triggers (the enrichment triggers and
// foreign keys): the rows are consistent by construction.
func copyInto(ctx context.Context, pool *pgxpool.Pool, table string, cols []string, n int, row func(i int) []any) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), `RESET session_replication_role`) }()
	i := 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

func copyContacts(ctx context.Context, pool *pgxpool.Pool, n int) error {
	r := rand.New(rand.NewPCG(1, 1))
	var attrs strings.Builder
	return copyInto(ctx, pool, "contacts",
		[]string{"external_id", "email", "first_name", "last_name", "company", "industry", "role", "team_size", "country", "attributes", "created_at", "updated_at"},
		n, func(i int) []any {
			attrs.Reset()
			plan := plans.pick(r)
			seats := 1 + int(r.ExpFloat64()*15)
			fmt.Fprintf(&attrs, `{"plan": %q, "seats": %d, "signup_source": %q, "beta": %t, "mrr": %.2f, "lang": %q`,
				plan, seats, sources.pick(r), r.IntN(5) == 0, float64(seats)*r.Float64()*30, []string{"en", "de", "fr", "es", "pt"}[r.IntN(5)])
			if plan == "trial" {
				fmt.Fprintf(&attrs, `, "trial_ends": %q`, anchor.Add(time.Duration(r.IntN(30)-5)*24*time.Hour).Format("2006-01-02"))
			}
			if r.IntN(3) == 0 {
				fmt.Fprintf(&attrs, `, "tags": ["%s", "%s"]`, []string{"vip", "churn-risk", "champion", "beta"}[r.IntN(4)], []string{"emea", "amer", "apac"}[r.IntN(3)])
			}
			attrs.WriteString("}")
			created := anchor.Add(-time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour))))
			return []any{
				"u" + strconv.Itoa(i+1), "user" + strconv.Itoa(i+1) + "@example" + strconv.Itoa(i%5000) + ".com",
				firsts[r.IntN(len(firsts))], lasts[r.IntN(len(lasts))], "Company " + strconv.Itoa(i%20000),
				industry.pick(r), roles.pick(r), sizes.pick(r), countries.pick(r), attrs.String(), created, created,
			}
		})
}

// copyEvents writes events in the order they happened (as ingestion
// does), each for a contact drawn at random, in two streams.
func copyEvents(ctx context.Context, pool *pgxpool.Pool, contacts, n int) error {
	const streams = 2
	var wg sync.WaitGroup
	errs := make([]error, streams)
	for s := range streams {
		wg.Go(func() {
			errs[s] = func() error {
				r := rand.New(rand.NewPCG(2, uint64(s)))
				from, to := n*s/streams, n*(s+1)/streams
				step := float64(span) / float64(n)
				var props strings.Builder
				return copyInto(ctx, pool, "events",
					[]string{"contact_id", "message_id", "type", "name", "properties", "occurred_at", "received_at"},
					to-from, func(i int) []any {
						i += from
						at := anchor.Add(-span + time.Duration(float64(i)*step) + time.Duration(r.IntN(1000))*time.Millisecond)
						typ, name := "track", eventNames.pick(r)
						props.Reset()
						if r.IntN(10) == 0 {
							typ, name = "page", []string{"Pricing", "Home", "Docs", "Blog"}[r.IntN(4)]
							fmt.Fprintf(&props, `{"path": "/%s", "referrer": "https://www.google.com/"}`, strings.ToLower(name))
						} else {
							fmt.Fprintf(&props, `{"plan": %q, "source": %q, "value": %d}`, plans.pick(r), []string{"web", "ios", "android", "api"}[r.IntN(4)], r.IntN(100))
						}
						return []any{int64(1 + r.IntN(contacts)), fmt.Sprintf("e%010d", i), typ, name, props.String(), at, at.Add(time.Second)}
					})
			}()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// copyEmails sends share of the contacts one to four emails over the 90
// days; about 40% are opened by a person, 15% clicked, a few opened by
// machines.
func copyEmails(ctx context.Context, pool *pgxpool.Pool, contacts int, share float64) (int, int, error) {
	r := rand.New(rand.NewPCG(3, 3))
	type msg struct {
		contact int64
		at      time.Time
	}
	var msgs []msg
	var msgTopics []string
	for c := 1; c <= contacts; c++ {
		if r.Float64() >= share {
			continue
		}
		for range 1 + r.IntN(4) {
			msgs = append(msgs, msg{int64(c), anchor.Add(-time.Duration(r.Int64N(int64(span))))})
			msgTopics = append(msgTopics, topics[r.IntN(len(topics))])
		}
	}
	err := copyInto(ctx, pool, "messages",
		[]string{"dedupe_key", "contact_id", "template", "topic", "status", "send_at", "sent_at", "created_at", "updated_at"},
		len(msgs), func(i int) []any {
			m := msgs[i]
			return []any{"bench:" + strconv.Itoa(i+1), m.contact, msgTopics[i] + "-digest", msgTopics[i], "sent", m.at, m.at, m.at, m.at}
		})
	if err != nil {
		return 0, 0, err
	}
	type hit struct {
		msg     int64
		contact int64
		kind    string
		class   string
		at      time.Time
	}
	var hits []hit
	for i, m := range msgs {
		if r.IntN(20) == 0 {
			hits = append(hits, hit{int64(i + 1), m.contact, "open", "machine", m.at.Add(time.Second)})
		}
		if r.IntN(10) < 4 {
			at := m.at.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
			hits = append(hits, hit{int64(i + 1), m.contact, "open", "human", at})
			if r.IntN(8) < 3 {
				hits = append(hits, hit{int64(i + 1), m.contact, "click", "human", at.Add(time.Minute)})
			}
		}
	}
	err = copyInto(ctx, pool, "email_events", []string{"message_id", "contact_id", "kind", "class", "at"},
		len(hits), func(i int) []any {
			h := hits[i]
			return []any{h.msg, h.contact, h.kind, h.class, h.at}
		})
	if err != nil {
		return 0, 0, err
	}
	return len(msgs), len(hits), nil
}
