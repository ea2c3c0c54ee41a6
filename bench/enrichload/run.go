package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// config is one run.
type config struct {
	contacts, domains int
	concurrency       int // tasks of the enrich queue at once (NURTURE_ENRICH_CONCURRENCY)
	batch             int // identify calls per ingested batch
	perSecond         float64
	timeout           time.Duration
	pool              *pgxpool.Pool // a migrated schema whose contacts the run may own
	redisURL          string
	dbName            string // for PostgreSQL's CPU; "" skips it
	redisPID          int    // for Redis's CPU; 0 skips it
	logger            *slog.Logger
	seed              uint64
}

// results is what a run measured and what it found wrong.
type results struct {
	cfg                  config
	ingest               time.Duration // all sign-ups through Ingest
	wall                 time.Duration // first sign-up to last enrichment
	researchWall         time.Duration // first sign-up to last research saved
	enriched             int           // contacts whose enrichment was recorded
	statuses             map[string]int
	researches           int
	researchTimes        []time.Duration // claim to save, sorted
	latency              []time.Duration // sign-up to enrichment, sorted
	deferrals            int
	paceWaits            int64
	paceWaited           time.Duration
	sites                siteCounts
	dns                  dnsCounts
	refused              []string
	processCPU           time.Duration
	pgCPU, pgAllCPU      time.Duration
	redisCPU             time.Duration
	heapPeak, rssPeak    uint64
	industryOK, sizeOK   int
	countryOK, mailOK    int
	toolsOK              int
	department, senority int // contacts given a department, a seniority
	problems             []string
}

func (r *results) fail(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// titles are job titles as people type them in sign-up forms, in the four
// languages the title classifier reads.
var titles = []string{
	"CEO", "CTO", "Chief Financial Officer", "Co-founder & CEO", "VP of Sales", "VP Engineering", "Head of Growth",
	"Head of Marketing", "Marketing Manager", "Sales Manager", "Account Executive", "Senior Software Engineer",
	"Software Engineer", "Product Manager", "Senior Product Designer", "Customer Success Manager", "Support Specialist",
	"HR Business Partner", "Talent Acquisition Manager", "Financial Controller", "Legal Counsel", "Operations Manager",
	"IT Administrator", "Director of Engineering", "Directrice commerciale", "Responsable marketing", "Développeur web",
	"Directeur financier", "Leiter Vertrieb", "Geschäftsführer", "Softwareentwickler", "Personalreferentin",
	"Director de ventas", "Jefe de marketing", "Ingeniera de software", "Responsable de atención al cliente",
}

var firstNames = []string{"ada", "bruno", "chloe", "dmitri", "elena", "farid", "greta", "hugo", "ines", "jonas", "kenji", "lucia"}
var lastNames = []string{"moreau", "weber", "garcia", "smith", "rossi", "dubois", "novak", "jansen", "kowalski", "silva", "meyer", "laurent", "fischer"}

// signup is one person signing up: the i-th contact, at the company.
type signup struct {
	i int
	c *company
	k int // the k-th person of the company
}

// signups are the run's sign-ups, in a shuffled order (people of one
// company do not sign up one after the other).
func signups(cs []*company, n int, seed uint64) []signup {
	out := make([]signup, n)
	for i := range out {
		out[i] = signup{i: i, c: cs[i%len(cs)], k: i / len(cs)}
	}
	rand.New(rand.NewPCG(seed, seed^0x5eed)).Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

func (s signup) call(now time.Time) (nurture.Call, error) {
	first := firstNames[(s.c.index+s.k)%len(firstNames)]
	last := lastNames[(s.c.index*3+s.k*7)%len(lastNames)]
	local := first + "." + last
	if s.k >= len(firstNames) {
		local += strconv.Itoa(s.k)
	}
	traits := map[string]any{
		"email":      local + "@" + s.c.domain,
		"first_name": cap1(first),
		"last_name":  cap1(last),
		"title":      titles[(s.c.index*7+s.k)%len(titles)],
	}
	profile, err := api.ContactFromTraits(traits)
	if err != nil {
		return nurture.Call{}, fmt.Errorf("traits of sign-up %d: %w", s.i, err)
	}
	id := fmt.Sprintf("enrichload-%06d", s.i)
	user := fmt.Sprintf("user-%06d", s.i)
	return nurture.Call{Type: nurture.EventIdentify, MessageID: id, UserID: user, Profile: profile, Properties: traits,
		Raw: map[string]any{"type": "identify", "messageId": id, "userId": user, "traits": traits}, Timestamp: now}, nil
}

func cap1(s string) string { return string(s[0]-'a'+'A') + s[1:] }

// bench runs one load: the sites, the DNS, the engine's enrichment wired
// as cmd/nurture wires it, the sign-ups, and the checks.
func bench(ctx context.Context, cfg config) (*results, error) {
	if cfg.domains < 1 || cfg.domains > maxDomains || cfg.contacts < cfg.domains {
		return nil, fmt.Errorf("domains must be 1 to %d, and contacts at least as many", maxDomains)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	res := &results{cfg: cfg, statuses: map[string]int{}}
	companies := makeCompanies(cfg.domains)

	// The companies' sites and DNS, on loopback.
	site := newSites(companies)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	zone, err := startZone(companies)
	if err != nil {
		return nil, err
	}
	defer zone.close()

	// Redis and the queue.
	redisConn, err := redisconn.Parse(cfg.redisURL)
	if err != nil {
		return nil, err
	}
	redisOpt := redisConn.ConnOpt()
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	rdb := redisConn.NewClient()
	defer rdb.Close()

	// Enrichment as cmd/nurture wires it with NURTURE_ENRICH=true and
	// --dev: the site and DNS sources behind one fetcher, paced at one
	// request per second per domain through Redis, loopback only with a
	// guard under the fetcher's checks; DNS only to the local server.
	// What differs: sites are http://domain:PORT/ (the binary asks
	// https://domain/ on 443), and the store and the limiter are counted.
	var refusedMu sync.Mutex
	guard := enrich.LoopbackOnly(func(address string) {
		refusedMu.Lock()
		res.refused = append(res.refused, address)
		refusedMu.Unlock()
		fmt.Fprintf(os.Stderr, "enrichload: THE LOOPBACK GUARD REFUSED A CONNECTION TO %s\n", address)
	})
	pacer, err := ratelimit.NewDomainPacer(ratelimit.New(rdb, "nurture:ratelimit:"), "enrich", cfg.perSecond)
	if err != nil {
		return nil, err
	}
	limiter := &timedLimiter{next: pacer}
	resolver := enrich.NewResolver(zone.addr())
	fetcher := enrich.NewFetcher(enrich.FetchConfig{
		ContactURL:    "https://nurture.example/bot",
		Resolver:      resolver,
		Limiter:       limiter,
		AllowLoopback: netip.MustParsePrefix("127.0.0.0/8"),
		WrapDial:      guard,
	})
	siteSource := enrich.NewSite(fetcher)
	siteSource.URLFor = func(domain string) string { return "http://" + domain + ":" + port + "/" }
	store := newCountingStore(postgres.New(cfg.pool))
	enricher := enrich.NewEnricher(enrich.EnricherConfig{
		Store:   store,
		Sources: []enrich.Source{siteSource, enrich.NewDNS(resolver, nil)},
		Logger:  cfg.logger,
	})
	research := worker.New(worker.Config{
		Redis:       redisOpt,
		Concurrency: cfg.concurrency,
		Queues:      map[string]int{jobs.QueueEnrich: 1},
		Logger:      cfg.logger,
		Handlers:    map[string]asynq.Handler{jobs.TypeLeadEnrich: jobs.NewEnrichHandler(enricher)},
	})
	poller := &worker.EnrichPoller{Store: store, Enqueuer: jobs.NewEnqueuer(client), Marker: jobs.NewEnrichMarker(rdb), Logger: cfg.logger}

	engineCtx, stopEngine := context.WithCancel(ctx)
	var engine sync.WaitGroup
	var engineErr error
	var engineErrMu sync.Mutex
	for _, run := range []func(context.Context) error{research.Run, poller.Run} {
		engine.Go(func() {
			if err := run(engineCtx); err != nil {
				engineErrMu.Lock()
				engineErr = errors.Join(engineErr, err)
				engineErrMu.Unlock()
			}
		})
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopEngine()
			engine.Wait()
		}
	}
	defer stop()

	heap := sampleHeap(100 * time.Millisecond)
	cpuBefore := procstat.ProcessCPU(os.Getpid())
	pgBefore, pgAllBefore := procstat.PostgresCPU(cfg.dbName)
	redisBefore := procstat.ProcessCPU(cfg.redisPID)

	// The sign-ups, through ingestion as the API stores them.
	db := postgres.New(cfg.pool)
	people := signups(companies, cfg.contacts, cfg.seed)
	start := time.Now()
	for from := 0; from < len(people); from += cfg.batch {
		now := time.Now()
		calls := make([]nurture.Call, 0, cfg.batch)
		for _, s := range people[from:min(from+cfg.batch, len(people))] {
			call, err := s.call(now)
			if err != nil {
				return nil, err
			}
			calls = append(calls, call)
		}
		if _, err := db.Ingest(ctx, calls, api.ContactFromTraits, now); err != nil {
			return nil, err
		}
	}
	res.ingest = time.Since(start)

	// Until nobody awaits enrichment.
	deadline := start.Add(cfg.timeout)
	for {
		var rows, due int
		err := cfg.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE due_at IS NOT NULL) FROM contact_enrichment`).Scan(&rows, &due)
		if err != nil {
			return nil, err
		}
		if rows >= cfg.contacts && due == 0 {
			break
		}
		if time.Now().After(deadline) {
			res.fail("after %s, %d of %d contacts still await enrichment", cfg.timeout, due, rows)
			break
		}
		engineErrMu.Lock()
		failed := engineErr
		engineErrMu.Unlock()
		if failed != nil {
			return nil, fmt.Errorf("the engine stopped: %w", failed)
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	res.heapPeak = heap.close()
	res.rssPeak = vmHWM()
	res.processCPU = procstat.ProcessCPU(os.Getpid()) - cpuBefore
	if cfg.dbName != "" {
		mine, all := procstat.PostgresCPU(cfg.dbName)
		res.pgCPU, res.pgAllCPU = mine-pgBefore, all-pgAllBefore
	}
	if cfg.redisPID != 0 {
		res.redisCPU = procstat.ProcessCPU(cfg.redisPID) - redisBefore
	}
	if engineErr != nil {
		return nil, fmt.Errorf("the engine: %w", engineErr)
	}
	res.wall = store.lastRecord.Sub(start)
	res.researchWall = store.lastSave.Sub(start)
	res.deferrals = store.deferrals
	res.paceWaits, res.paceWaited = limiter.waits.Load(), time.Duration(limiter.waited.Load())
	res.researchTimes = sortedCopy(store.researched)
	res.sites, res.dns = site.counts(), zone.counts()
	if err := check(ctx, cfg, res, store, companies); err != nil {
		return nil, err
	}
	return res, nil
}

// check compares what the run did with what it should have: every contact
// enriched once and ok, every domain researched once, every page fetched
// once, DNS asked about nothing else, the guard never needed, and the
// companies' fields as their sites say.
func check(ctx context.Context, cfg config, res *results, store *countingStore, companies []*company) error {
	// Contacts: one recorded outcome each, status ok.
	rows, err := cfg.pool.Query(ctx, `SELECT e.contact_id, e.status, e.requested_at, c.department <> '', c.seniority <> ''
		FROM contact_enrichment e JOIN contacts c ON c.id = e.contact_id`)
	if err != nil {
		return err
	}
	var id int64
	var status string
	var requested time.Time
	var dept, level bool
	seen := 0
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &requested, &dept, &level}, func() error {
		seen++
		res.statuses[status]++
		switch n := store.records[id]; n {
		case 1:
			res.enriched++
			res.latency = append(res.latency, store.recordedAt[id].Sub(requested))
		case 0:
			res.fail("contact %d was never enriched (status %s)", id, status)
		default:
			res.fail("contact %d was enriched %d times", id, n)
		}
		if dept {
			res.department++
		}
		if level {
			res.senority++
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(res.latency)
	if seen != cfg.contacts {
		res.fail("%d contacts await or had enrichment, not %d", seen, cfg.contacts)
	}
	if res.statuses["ok"] != cfg.contacts {
		res.fail("statuses %v: every contact should be ok", res.statuses)
	}

	// Domains: one research each, every page fetched once.
	for _, c := range companies {
		res.researches += store.researches[c.domain]
		if n := store.researches[c.domain]; n != 1 {
			res.fail("%s was researched %d times", c.domain, n)
		}
		if n := store.claims[c.domain]; n != 1 {
			res.fail("%s was claimed %d times", c.domain, n)
		}
	}
	if len(store.researches) != len(companies) {
		res.fail("%d domains researched, %d companies", len(store.researches), len(companies))
	}
	site := res.sites
	for _, r := range site.repeated {
		res.fail("fetched more than once: %s", r)
	}
	for _, u := range site.unexpected {
		res.fail("fetched though research should not: %s", u)
	}
	if want := len(companies) * len(sitePaths); site.total != want {
		res.fail("the sites served %d requests, not %d (robots.txt, / and %s of each)", site.total, want, aboutPath)
	}
	if site.unknown > 0 {
		res.fail("%d requests for hosts that are no company's", site.unknown)
	}
	if len(res.dns.foreign) > 0 {
		res.fail("DNS was asked about names that are no company's: %v", res.dns.foreign)
	}
	if len(res.refused) > 0 {
		res.fail("the loopback guard refused %d connections: %v", len(res.refused), res.refused)
	}

	// Companies: what research made of their sites.
	byDomain := map[string]*company{}
	for _, c := range companies {
		byDomain[c.domain] = c
	}
	crows, err := cfg.pool.Query(ctx, `SELECT domain, industry, team_size, country, enriched FROM companies WHERE domain IS NOT NULL`)
	if err != nil {
		return err
	}
	var domain, industry, size, country string
	var fields []nurture.EnrichedField
	_, err = pgx.ForEachRow(crows, []any{&domain, &industry, &size, &country, &fields}, func() error {
		c := byDomain[domain]
		if c == nil {
			res.fail("a company of domain %s, which the bench did not make", domain)
			return nil
		}
		if industry == c.spec.industry {
			res.industryOK++
		}
		if size != "" && size == enrich.ParseTeamSize(employeesText(c.employees)) {
			res.sizeOK++
		}
		if country == c.place.country {
			res.countryOK++
		}
		var mail string
		var tools []string
		for _, f := range fields {
			switch f.Field {
			case "mail_provider":
				if mail == "" {
					mail = f.Value
				}
			case "saas":
				tools = append(tools, f.Value)
			}
		}
		if mail == c.mail.provider {
			res.mailOK++
		}
		if slices.Equal(tools, c.expectedTools()) {
			res.toolsOK++
		}
		return nil
	})
	return err
}

// employeesText is a numberOfEmployees value as ParseTeamSize reads it.
func employeesText(v any) string {
	switch e := v.(type) {
	case int:
		return strconv.Itoa(e)
	case map[string]any:
		if n, ok := e["value"]; ok {
			return fmt.Sprint(n)
		}
		return fmt.Sprintf("%v-%v", e["minValue"], e["maxValue"])
	}
	return ""
}
