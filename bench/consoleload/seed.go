package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
)

// anchor is the moment the data is drawn around: messages and events
// fall in the 90 days before it, contacts and suppressions in the two
// years before. A fixed moment makes every seed the same.
var anchor = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const (
	span = 90 * 24 * time.Hour
	// seededMark names the last campaign the seed writes: its presence
	// says the database is seeded to the end.
	seededMark = "consoleload: seeded"
)

var (
	firsts = strings.Fields(`Ada Grace Alan Linus Margaret Ken Barbara Dennis Frances John Radia Tim Olivia Liam Emma Noah
		Amelia Oliver Sophia Elijah Isabella Lucas Mia Mason Charlotte Ethan Harper Logan Evelyn James Abigail Aiden Emily Jacob
		Ella Michael Elizabeth Daniel Camila Henry Luna Jackson Sofia Sebastian Avery Mateo Mila Jack Aria Owen Scarlett Samuel
		Penelope Matthew Layla Joseph Chloe Levi Victoria David Madison Wyatt Eleanor Carter Grace Julian Nora Luke Riley Anthony
		Zoey Isaac Hannah Dylan Hazel Gabriel Lily Thomas Ellie Leo Violet Lincoln Lillian Jaxon Zoe Asher Stella Christopher
		Aurora Josiah Natalie Andrew Emilia Theodore Everly Caleb Leah Ezra Aubrey Hiroshi Yuki Priya Arjun Fatima Omar Chen Wei
		Ingrid Lars Sven Anouk Pieter Giulia Marco Lucia Diego Camille Louis Chiara Matteo Ines Joao Aylin Emre Katarzyna Piotr`)
	lasts = strings.Fields(`Lovelace Hopper Turing Torvalds Hamilton Thompson Liskov Ritchie Allen Backus Perlman Berners-Lee
		Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas
		Taylor Moore Jackson Martin Lee Perez White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young King Wright Scott
		Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner
		Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson
		Bailey Reed Kelly Howard Kim Cox Ward Richardson Watson Brooks Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez
		Castillo Sanders Patel Myers Long Ross Foster Jimenez Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois
		Lefebvre Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Tanaka Suzuki Takahashi Watanabe Sato Kowalski Nowak Jansen
		de Vries Bakker Visser Larsen Nielsen Johansson Andersson Silva Santos Oliveira Pereira Singh Kumar Sharma Gupta Khan Ali`)
	companyHeads = strings.Fields(`North Blue Bright Silver Iron Cedar Maple Summit Harbor River Stone Golden Swift Clear Green
		Red Pine Oak Falcon Eagle Atlas Nova Polar Lunar Solar Vector Quantum Pixel Cloud Signal Beacon Crest Ridge Meadow Prairie
		Coastal Urban Vertex Apex Orbit Fusion Prism Echo Zenith Horizon Aurora Evergreen Sterling Copper Granite`)
	companyTails = strings.Fields(`wind bird field works labs point gate path stack line forge bridge wave port shore peak`)
	companyKinds = strings.Fields(`Analytics Logistics Software Health Capital Media Foods Robotics Energy Security Systems
		Studio Partners Networks Learning Payments Labs Consulting Retail Biotech`)
	industries = strings.Fields(`Software Fintech E-commerce Healthcare Education Media Manufacturing Consulting Logistics Gaming`)
	titles     = []string{"Software Engineer", "Head of Growth", "Product Manager", "Marketing Manager", "CTO", "CEO", "Designer",
		"Data Analyst", "Sales Director", "Customer Success Manager", "VP Engineering", "Founder", "Operations Lead"}
	countries     = strings.Fields(`US US US GB DE FR CA IN BR NL ES AU JP SE PL IT MX SG IE CH`)
	zones         = map[string]string{"US": "America/New_York", "GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris", "CA": "America/Toronto", "IN": "Asia/Kolkata", "BR": "America/Sao_Paulo", "NL": "Europe/Amsterdam", "ES": "Europe/Madrid", "AU": "Australia/Sydney", "JP": "Asia/Tokyo", "SE": "Europe/Stockholm", "PL": "Europe/Warsaw", "IT": "Europe/Rome", "MX": "America/Mexico_City", "SG": "Asia/Singapore", "IE": "Europe/Dublin", "CH": "Europe/Zurich"}
	topics        = []string{"onboarding", "education", "product", "marketing"}
	templateNames = []string{"welcome", "activation-tips", "weekly-digest", "feature-launch", "trial-ending", "webinar-invite"}
	eventNames    = []string{"Logged In", "Viewed Dashboard", "Created Project", "Updated Project", "Searched", "Viewed Pricing",
		"Exported Report", "Invited Teammate", "Commented", "Uploaded File", "Connected Integration", "Upgraded Plan"}
	campaigns = []string{"December product update", "Black Friday webinar", "Year in review", "New integrations", seededMark}
)

// company is the i-th company of the seed (1-based, as its id).
func company(i int) (name, domain string) {
	h := companyHeads[i%len(companyHeads)]
	t := companyTails[(i/len(companyHeads))%len(companyTails)]
	k := companyKinds[(i/(len(companyHeads)*len(companyTails)))%len(companyKinds)]
	name = h + t + " " + k
	domain = strings.ToLower(h+t+"-"+k) + ".example"
	if n := i / (len(companyHeads) * len(companyTails) * len(companyKinds)); n > 0 {
		name += " " + strconv.Itoa(n+1)
		domain = strings.ToLower(h+t+"-"+k) + strconv.Itoa(n+1) + ".example"
	}
	return name, domain
}

// person is the i-th contact of the seed (0-based; its id is i+1).
type person struct {
	first, last, email, country string
	company                     int // 1-based
}

func personOf(i, companies int) person {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	p := person{first: firsts[r.IntN(len(firsts))], last: lasts[r.IntN(len(lasts))], company: 1 + r.IntN(companies),
		country: countries[r.IntN(len(countries))]}
	_, domain := company(p.company)
	local := strings.ToLower(strings.ReplaceAll(p.first+"."+p.last, " ", ""))
	p.email = local + strconv.Itoa(i+1) + "@" + domain
	return p
}

// mailed says whether the i-th contact is one of the 10% who were sent
// emails (about ten each), enrolled in a sequence and active.
func mailed(i int) bool { return i%10 == 3 }

// suppressed says whether the i-th contact's address is suppressed (2%).
func suppressed(i int) bool { return i%50 == 7 }

// seeded says whether the database holds a whole seed.
func seeded(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE name = $1)`, seededMark).Scan(&ok)
	return ok, err
}

// seed empties the tables the console reads and fills them by COPY.
func seed(ctx context.Context, pool *pgxpool.Pool, contacts int) error {
	start := time.Now()
	if _, err := pool.Exec(ctx, `TRUNCATE contacts, companies, events, messages, message_status_history, email_events,
		enrollments, enrollment_history, suppressions, bounces, soft_bounces, campaigns, topic_optouts, admin_audit RESTART IDENTITY CASCADE`); err != nil {
		return fmt.Errorf("empty: %w", err)
	}
	companies := max(1, contacts/50)
	steps := []struct {
		name string
		fn   func() (int, error)
	}{
		{"companies", func() (int, error) { return copyCompanies(ctx, pool, companies) }},
		{"contacts", func() (int, error) { return copyContacts(ctx, pool, contacts, companies) }},
		{"campaigns", func() (int, error) { return len(campaigns) - 1, copyCampaigns(ctx, pool, false) }},
		{"events", func() (int, error) { return copyEvents(ctx, pool, contacts) }},
		{"messages and hits", func() (int, error) { return copyMessages(ctx, pool, contacts) }},
		{"enrollments", func() (int, error) { return copyEnrollments(ctx, pool, contacts) }},
		{"suppressions and bounces", func() (int, error) { return copySuppressions(ctx, pool, contacts, companies) }},
	}
	for _, s := range steps {
		t := time.Now()
		n, err := s.fn()
		if err != nil {
			return fmt.Errorf("seed %s: %w", s.name, err)
		}
		fmt.Printf("seed: %d %s in %s\n", n, s.name, time.Since(t).Round(time.Millisecond))
	}
	t := time.Now()
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	fmt.Printf("seed: vacuum and analyze in %s\n", time.Since(t).Round(time.Millisecond))
	if err := copyCampaigns(ctx, pool, true); err != nil {
		return err
	}
	fmt.Printf("seed: done in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// copyInto COPYs n rows into table without triggers (the enrichment
// triggers and foreign keys): the rows are consistent by construction.
func copyInto(ctx context.Context, pool *pgxpool.Pool, table string, cols []string, n int, row func(i int) []any) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return err
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
	return err
}

// copyRows COPYs rows that next yields until it says done.
func copyRows(ctx context.Context, pool *pgxpool.Pool, table string, cols []string, next func() ([]any, bool)) (int, error) {
	n := 0
	err := copyInto(ctx, pool, table, cols, int(^uint(0)>>1), func(int) []any {
		row, ok := next()
		if !ok {
			return nil
		}
		n++
		return row
	})
	return n, err
}

func copyCompanies(ctx context.Context, pool *pgxpool.Pool, n int) (int, error) {
	r := rand.New(rand.NewPCG(1, 1))
	return n, copyInto(ctx, pool, "companies", []string{"name", "domain", "industry", "team_size", "country"}, n, func(i int) []any {
		name, domain := company(i + 1)
		return []any{name, domain, industries[r.IntN(len(industries))], []string{"1-10", "11-50", "51-200", "201-1000", "1000+"}[r.IntN(5)],
			countries[r.IntN(len(countries))]}
	})
}

func copyContacts(ctx context.Context, pool *pgxpool.Pool, n, companies int) (int, error) {
	r := rand.New(rand.NewPCG(2, 2))
	return n, copyInto(ctx, pool, "contacts", []string{"external_id", "email", "first_name", "last_name", "company", "company_id",
		"industry", "title", "country", "time_zone", "attributes", "created_at", "updated_at"}, n, func(i int) []any {
		p := personOf(i, companies)
		name, _ := company(p.company)
		created := anchor.Add(-time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour))))
		attrs := fmt.Sprintf(`{"plan": %q, "seats": %d}`, []string{"free", "trial", "starter", "pro", "enterprise"}[r.IntN(5)], 1+r.IntN(200))
		return []any{"u" + strconv.Itoa(i+1), p.email, p.first, p.last, name, int64(p.company), industries[r.IntN(len(industries))],
			titles[r.IntN(len(titles))], p.country, zones[p.country], attrs, created, created}
	})
}

// copyCampaigns writes the campaigns (sent, their messages among the
// seed's), or, when last, the mark that the seed is whole.
func copyCampaigns(ctx context.Context, pool *pgxpool.Pool, last bool) error {
	for i, name := range campaigns {
		if (name == seededMark) != last {
			continue
		}
		status, at := "sent", anchor.Add(-time.Duration(10+i*15)*24*time.Hour)
		if name == seededMark {
			status = "draft"
		}
		_, err := pool.Exec(ctx, `INSERT INTO campaigns (name, template, topic, subject, filter, status, send_at, started_at, finished_at)
			VALUES ($1, $2, 'marketing', $1, '{}', $3, $4::timestamptz, $4::timestamptz, $4::timestamptz + interval '2 hours')`, name, templateNames[i%len(templateNames)], status, at)
		if err != nil {
			return fmt.Errorf("campaign: %w", err)
		}
	}
	return nil
}

// copyEvents: about twenty for each mailed contact, one for the others.
func copyEvents(ctx context.Context, pool *pgxpool.Pool, contacts int) (int, error) {
	r := rand.New(rand.NewPCG(3, 3))
	c, left, seq := 0, 0, 0
	return copyRows(ctx, pool, "events", []string{"contact_id", "message_id", "type", "name", "properties", "occurred_at", "received_at"},
		func() ([]any, bool) {
			for left == 0 {
				if c >= contacts {
					return nil, false
				}
				c++
				left = 1
				if mailed(c - 1) {
					left = 10 + r.IntN(20)
				}
			}
			left--
			seq++
			at := anchor.Add(-time.Duration(r.Int64N(int64(span))))
			props := fmt.Sprintf(`{"source": %q, "value": %d}`, []string{"web", "ios", "android", "api"}[r.IntN(4)], r.IntN(100))
			return []any{int64(c), "e" + strconv.Itoa(seq), "track", eventNames[r.IntN(len(eventNames))], props, at, at.Add(time.Second)}, true
		})
}

// copyMessages sends each mailed contact about ten emails over 90 days
// (a third from the campaigns), and writes their opens and clicks: 40%
// opened by a person, 15% clicked, some opened by machines.
func copyMessages(ctx context.Context, pool *pgxpool.Pool, contacts int) (int, error) {
	type msg struct {
		contact int64
		at      time.Time
		status  string
	}
	r := rand.New(rand.NewPCG(4, 4))
	var msgs []msg
	for c := range contacts {
		if !mailed(c) {
			continue
		}
		for range 6 + r.IntN(9) {
			status := "sent"
			switch x := r.IntN(100); {
			case x < 2:
				status = "bounced"
			case x < 3:
				status = "skipped"
			}
			msgs = append(msgs, msg{int64(c + 1), anchor.Add(-time.Duration(r.Int64N(int64(span)))), status})
		}
	}
	err := copyInto(ctx, pool, "messages", []string{"dedupe_key", "contact_id", "template", "topic", "subject", "status", "send_at",
		"sent_at", "created_at", "updated_at", "campaign_id"}, len(msgs), func(i int) []any {
		m := msgs[i]
		var campaign *int64
		tmpl, topic := templateNames[i%len(templateNames)], topics[i%len(topics)]
		if i%3 == 0 {
			id := int64(1 + i%(len(campaigns)-1))
			campaign, topic = &id, "marketing"
		}
		var sent *time.Time
		if m.status != "skipped" {
			sent = &m.at
		}
		return []any{"cl:" + strconv.Itoa(i+1), m.contact, tmpl, topic, "Your " + strings.ReplaceAll(tmpl, "-", " "), m.status, m.at, sent, m.at, m.at, campaign}
	})
	if err != nil {
		return 0, err
	}
	// A campaign that sent has its audience frozen, as the dispatcher
	// leaves it: one lane holding as many people as it has emails.
	if _, err := pool.Exec(ctx, `INSERT INTO campaign_lanes (campaign_id, lane, frozen_through, frozen, audience)
		SELECT campaign_id, 0, max(contact_id), true, count(*) FROM messages WHERE campaign_id IS NOT NULL GROUP BY campaign_id
		ON CONFLICT DO NOTHING`); err != nil {
		return 0, err
	}
	type hit struct {
		msg, contact int64
		kind, class  string
		link         *int32
		url          *string
		at           time.Time
	}
	var hits []hit
	for i, m := range msgs {
		if m.status != "sent" {
			continue
		}
		if r.IntN(20) == 0 {
			hits = append(hits, hit{int64(i + 1), m.contact, "open", "machine", nil, nil, m.at.Add(time.Second)})
		}
		if r.IntN(10) < 4 {
			at := m.at.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
			hits = append(hits, hit{int64(i + 1), m.contact, "open", "human", nil, nil, at})
			if r.IntN(8) < 3 {
				link := int32(r.IntN(4))
				u := "https://www.example.com/" + []string{"pricing", "docs", "blog/launch", "webinar"}[link]
				hits = append(hits, hit{int64(i + 1), m.contact, "click", "human", &link, &u, at.Add(time.Minute)})
			}
		}
	}
	err = copyInto(ctx, pool, "email_events", []string{"message_id", "contact_id", "kind", "class", "link_index", "url", "at"},
		len(hits), func(i int) []any {
			h := hits[i]
			return []any{h.msg, h.contact, h.kind, h.class, h.link, h.url, h.at}
		})
	return len(msgs) + len(hits), err
}

// copyEnrollments enrolls each mailed contact in a sequence, with a line
// of history for entering and for each of three steps sent.
func copyEnrollments(ctx context.Context, pool *pgxpool.Pool, contacts int) (int, error) {
	r := rand.New(rand.NewPCG(5, 5))
	var ids []int64
	var started []time.Time
	c := 0
	n, err := copyRows(ctx, pool, "enrollments", []string{"contact_id", "sequence_id", "version", "topic", "status", "step", "state",
		"next_run", "started_at", "ended_at"}, func() ([]any, bool) {
		for c < contacts && !mailed(c) {
			c++
		}
		if c >= contacts {
			return nil, false
		}
		c++
		at := anchor.Add(-time.Duration(r.Int64N(int64(span))))
		ids, started = append(ids, int64(len(ids)+1)), append(started, at)
		seq := []string{"onboarding", "trial-nurture"}[r.IntN(2)]
		if r.IntN(3) == 0 {
			next := anchor.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
			return []any{int64(c), seq, "v1", "onboarding", "active", "tips", "{}", next, at, nil}, true
		}
		end := at.Add(10 * 24 * time.Hour)
		return []any{int64(c), seq, "v1", "onboarding", "completed", "", "{}", nil, at, end}, true
	})
	if err != nil {
		return 0, err
	}
	steps := []string{"welcome", "tips", "case-study"}
	hist := 0
	_, err = copyRows(ctx, pool, "enrollment_history", []string{"enrollment_id", "step", "kind", "at"}, func() ([]any, bool) {
		e, k := hist/4, hist%4
		if e >= len(ids) {
			return nil, false
		}
		hist++
		if k == 0 {
			return []any{ids[e], steps[0], "entered", started[e]}, true
		}
		return []any{ids[e], steps[k-1], "sent", started[e].Add(time.Duration(k) * 72 * time.Hour)}, true
	})
	return n + hist, err
}

// copySuppressions suppresses 2% of the addresses over two years (hard
// bounces, complaints, unsubscribes, some by hand) with the bounces
// behind them.
func copySuppressions(ctx context.Context, pool *pgxpool.Pool, contacts, companies int) (int, error) {
	r := rand.New(rand.NewPCG(6, 6))
	type sup struct {
		hash           []byte
		email, reason  string
		detail, bounce string
		at             time.Time
	}
	var sups []sup
	for i := range contacts {
		if !suppressed(i) {
			continue
		}
		p := personOf(i, companies)
		s := sup{hash: nurture.EmailHash(p.email), email: p.email, at: anchor.Add(-time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour))))}
		switch x := r.IntN(20); {
		case x < 12:
			s.reason, s.bounce, s.detail = "hard_bounce", "hard", "hard bounce from ses: smtp; 550 5.1.1 Recipient address rejected: User unknown"
		case x < 14:
			s.reason, s.bounce, s.detail = "complaint", "complaint", "complaint from ses: abuse"
		case x < 19:
			s.reason = "unsubscribe"
		default:
			s.reason, s.detail = "manual", "asked by phone not to be mailed"
		}
		sups = append(sups, s)
	}
	err := copyInto(ctx, pool, "suppressions", []string{"email_hash", "email", "reason", "detail", "created_at"}, len(sups), func(i int) []any {
		s := sups[i]
		return []any{s.hash, s.email, s.reason, s.detail, s.at}
	})
	if err != nil {
		return 0, err
	}
	var bounced []sup
	for _, s := range sups {
		if s.bounce != "" {
			bounced = append(bounced, s)
		}
	}
	err = copyInto(ctx, pool, "bounces", []string{"email_hash", "type", "reason", "provider", "event_key", "at"}, len(bounced), func(i int) []any {
		s := bounced[i]
		return []any{s.hash, s.bounce, "smtp; 550 5.1.1 user unknown", "ses", "id:b" + strconv.Itoa(i), s.at}
	})
	return len(sups) + len(bounced), err
}
