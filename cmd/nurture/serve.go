package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/campaign"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/metrics"
	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/mailer"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
	"github.com/nurture-email/nurture/worker"
)

// service is a part of the engine a command runs.
type service int

const (
	serviceMigrate service = 1 << iota
	serviceAPI
	serviceWorker
)

// runServices connects to what the services need, runs them until ctx ends,
// and shuts them down gracefully.
func runServices(ctx context.Context, cfg *config.Config, logger *slog.Logger, which service) error {
	// The templates first: a start that cannot send what the domain
	// triggers stops here, before it touches the database.
	var (
		tmpl *templates.Set
		seqs *serviceSequences
	)
	if which&(serviceAPI|serviceWorker) != 0 {
		var err error
		if tmpl, err = loadTemplates(cfg.TemplatesDir); err != nil {
			return err
		}
		if seqs, err = loadServiceSequences(cfg, tmpl); err != nil {
			return err
		}
	}
	connectCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pool, err := postgres.Connect(connectCtx, cfg.DatabaseURL, postgres.Pooler(cfg.DatabasePooler))
	if err != nil {
		return fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
	}
	defer pool.Close()
	if which&serviceMigrate != 0 {
		if err := postgres.Migrate(ctx, pool, postgres.Pooler(cfg.DatabasePooler), logger); err != nil {
			return err
		}
		logger.Info("database is up to date")
	}
	if which&(serviceAPI|serviceWorker) == 0 {
		return nil
	}

	// One Redis, or a primary found through Sentinel: every client below
	// (asynq's, the markers', the limits') is made from the same options.
	redisConn, err := redisconn.Parse(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("NURTURE_REDIS_URL: %w", err)
	}
	redisOpt := redisConn.ConnOpt()
	rdb := redisConn.NewClient()
	defer rdb.Close()
	if err := rdb.Ping(connectCtx).Err(); err != nil {
		return fmt.Errorf("NURTURE_REDIS_URL: reach redis: %w", err)
	}
	queue := asynq.NewClientFromRedisClient(rdb)
	enqueuer := jobs.NewEnqueuer(queue)
	store := postgres.New(pool)
	store.ErasureKey = []byte(cfg.ErasureKey) // empty for the worker, which neither erases nor writes addresses
	store.Regions = cfg.RegionSet()
	engine, err := newEngine(cfg, logger, seqs, tmpl, store, enqueuer)
	if err != nil {
		return err
	}
	events, traits := engine.Triggers()
	store.WatchSequences(postgres.SequenceTriggers{Events: events, Traits: traits})

	// One registry for the process: what its parts observe, the store's
	// figures and the queues, served by the API's /metrics (admin key)
	// and, with NURTURE_METRICS_LISTEN, on a private address.
	reg := metrics.New()
	reg.WatchFigures(metrics.FiguresConfig{Read: store.Figures, Logger: logger})
	reg.WatchQueues(asynq.NewInspectorFromRedisClient(rdb))

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
			stop() // one part ending ends the others
		}()
	}
	if which&serviceAPI != 0 {
		hitsPool, err := postgres.ConnectForHits(ctx, cfg.DatabaseURL, postgres.Pooler(cfg.DatabasePooler))
		if err != nil {
			return fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
		}
		defer hitsPool.Close()
		limitRDB := ratelimit.NewClient(redisConn.Universal())
		defer limitRDB.Close()
		queues := newQueueUI(redisOpt)
		defer queues.Close()
		reports, closeReports, err := newReports(cfg, logger, store, reg)
		if err != nil {
			return err
		}
		defer closeReports()
		handler, err := newAPI(cfg, logger, tmpl, seqs, engine, store, reports, postgres.New(hitsPool), enqueuer, pool, rdb, limitRDB, reg, queues)
		if err != nil {
			return err
		}
		reg.WatchHits(handler)
		start("api", func(ctx context.Context) error {
			defer handler.Close() // write the opens and clicks still queued
			return serveHTTP(ctx, cfg, logger, handler)
		})
	}
	if which&serviceWorker != 0 {
		ids, err := store.MessageIDs(connectCtx)
		if err != nil {
			return fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
		}
		if err := engine.Register(connectCtx); err != nil {
			return fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
		}
		servers, closeMailer, err := newWorker(cfg, logger, tmpl, store, ids, redisOpt, rdb, engine, reg, enqueuer)
		if err != nil {
			return err
		}
		defer closeMailer()
		for _, w := range servers {
			start("worker", w.Run)
		}
		if len(cfg.Regions) > 0 {
			start("regions", func(ctx context.Context) error { return rehome(ctx, store, logger) })
		}
		// Each periodic job runs in one worker process at a time, the
		// holder of its lease in PostgreSQL.
		leases := &worker.Leases{Store: store, Observer: reg, Logger: logger}
		rec := &worker.Reconciler{Store: store, Enqueuer: enqueuer, Marker: jobs.NewQueueMarker(rdb), Logger: logger, Leases: leases}
		start("reconciler", rec.Run)
		poller := &worker.SequencePoller{Store: store, Enqueuer: enqueuer, Signals: engine,
			Marker: jobs.NewSequenceMarker(rdb), Logger: logger, Leases: leases}
		start("sequence poller", poller.Run)
		enricher, err := newEnricher(cfg, logger, store, rdb)
		if err != nil {
			return err
		}
		// Research waits on other people's sites: its tasks run on a
		// server of their own, so they never hold a slot an email needs.
		research := worker.New(worker.Config{
			Redis:           redisOpt,
			Concurrency:     cfg.EnrichConcurrency,
			Queues:          map[string]int{jobs.QueueEnrich: 1},
			ShutdownTimeout: cfg.ShutdownTimeout,
			Logger:          logger,
			Handlers:        map[string]asynq.Handler{jobs.TypeLeadEnrich: jobs.NewEnrichHandler(enricher)},
		})
		start("enrichment worker", research.Run)
		enrichPoller := &worker.EnrichPoller{Store: store, Enqueuer: enqueuer, Marker: jobs.NewEnrichMarker(rdb), Logger: logger, Leases: leases}
		start("enrichment poller", enrichPoller.Run)
		retention := &worker.RetentionJob{Store: store, Events: cfg.EventRetention, Hits: cfg.HitRetention, Logger: logger, Leases: leases}
		start("retention", retention.Run)
		// The console's overview reads hours counted ahead of time.
		overview := &worker.OverviewJob{Store: store, Logger: logger, Leases: leases}
		start("overview counts", overview.Run)
		campaigns := &worker.CampaignPoller{Store: store, Logger: logger, Leases: leases,
			Dispatcher: campaign.NewDispatcher(campaign.DispatcherConfig{Store: store, Audience: store, Enqueuer: enqueuer, Logger: logger,
				Lanes: cfg.CampaignLanes})}
		start("campaign poller", campaigns.Run)
	}
	if cfg.MetricsListen != "" {
		start("metrics", func(ctx context.Context) error { return reg.Serve(ctx, cfg.MetricsListen, logger) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// authFailureLimit is how many failed authentications a client address may
// make: 20 a minute, in a burst or spread out.
var authFailureLimit = ratelimit.Limit{Rate: 20.0 / 60, Burst: 20}

// newAPI builds the API. Its rate limits use limitRDB, a client that keeps
// to each check's budget of a few milliseconds (ratelimit.NewClient), so
// that a Redis outage does not slow ingestion down.
func newAPI(cfg *config.Config, logger *slog.Logger, tmpl *templates.Set, seqs *serviceSequences, engine *sequence.Engine, store *postgres.DB, reports *postgres.Reports, hits *postgres.DB, enq *jobs.Enqueuer, pool *pgxpool.Pool, rdb, limitRDB redis.UniversalClient, reg *metrics.Registry, queues http.Handler) (*api.API, error) {
	signer, err := nurture.NewSigner(cfg.Secret, nonEmpty(cfg.SecretPrevious)...)
	if err != nil {
		return nil, namedSetting(err, signerSettings)
	}
	limiter := ratelimit.New(limitRDB, "nurture:ratelimit:")
	perKey := ratelimit.Limit{Rate: cfg.IngestRate, Burst: cfg.IngestBurst}
	if err := perKey.Validate(); err != nil {
		// A limit Redis would refuse on every call would be skipped on every call.
		return nil, fmt.Errorf("NURTURE_INGEST_RATE: %w", err)
	}
	zone, window, err := engineSettings(cfg)
	if err != nil {
		return nil, err
	}
	// The simulations plan as the engine does, with its settings.
	sim := &api.Simulator{Store: store, DefaultZone: zone, Window: window, Cap: cfg.FrequencyCap}
	admin, err := newConsole(cfg, logger, consoleDeps{store: store, reports: reports, tmpl: tmpl, sequences: seqs.set,
		simulator: api.ConsoleSimulator{Simulator: sim}, signIns: keyLimiter{limiter: limiter, limit: authFailureLimit}, queues: queues})
	if err != nil {
		return nil, err
	}
	return api.New(api.Config{
		Ingestion: &api.Ingestion{Store: store},
		Admin: &api.Admin{Contacts: store, Messages: store, Templates: tmpl, Companies: store, Enrichments: store, DataRights: store,
			Corrections: store, Consents: store, Confirmations: store},
		Recipients: &api.Recipients{
			Store:        store,
			Signer:       signer,
			Hits:         hits,
			Templates:    tmpl,
			PublicURL:    cfg.PublicURL,
			Eraser:       store,
			RequireOptIn: requireOptIn(cfg),
			// "Email me a copy of my data": the email is a message row,
			// sent by the worker's delivery with the export attached.
			Exporter:    store,
			ExportQueue: enq,
		},
		Webhooks: &api.Webhooks{
			Bounces:         store,
			SoftBounceLimit: cfg.SoftBounceLimit,
			SNSTopics:       cfg.SESTopics,
		},
		// Reports (previews, statistics) may read the replica; what
		// writes, and what reads what a call just wrote, the primary.
		Segments: &api.Segments{Store: store, Audience: reports},
		Campaigns: &api.Campaigns{Store: store, Figures: reports, Segments: store, Templates: tmpl,
			Tester: &campaign.Tester{Store: store, Enqueuer: enq}},
		Sequences: &api.Sequences{Set: seqs.set, Simulator: sim, Stats: reports,
			Enrollments: &api.EngineEnrollments{Engine: engine, Store: store}},
		Console:            admin,
		Keys:               store,
		Metrics:            reg.Handler(),
		Observer:           reg,
		RateLimiter:        keyLimiter{limiter: limiter, limit: perKey},
		AuthFailureLimiter: keyLimiter{limiter: limiter, limit: authFailureLimit},
		Product:            product(cfg),
		Ready: map[string]api.Pinger{
			"postgres": pool.Ping,
			"redis":    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		},
		Logger:         logger,
		TrustedProxies: cfg.TrustedProxies,
	})
}

// newReports is where read-only reports read: the replica of
// NURTURE_DATABASE_REPLICA_URL while it is fresh, else the primary (store).
// The replica need not answer at start: reports read the primary until it
// does.
func newReports(cfg *config.Config, logger *slog.Logger, store *postgres.DB, reg *metrics.Registry) (*postgres.Reports, func(), error) {
	rc := postgres.ReportsConfig{MaxLag: cfg.DatabaseReplicaMaxLag, Logger: logger, Observer: reg}
	if cfg.DatabaseReplicaURL == "" {
		return postgres.NewReports(store, nil, rc), func() {}, nil
	}
	replica, err := postgres.ConnectReplica(cfg.DatabaseReplicaURL, postgres.Pooler(cfg.DatabasePooler))
	if err != nil {
		return nil, nil, fmt.Errorf("NURTURE_DATABASE_REPLICA_URL: %w", err)
	}
	logger.Info("reports read the database replica while it lags at most the bound", "max_lag", cfg.DatabaseReplicaMaxLag)
	return postgres.NewReports(store, replica, rc), replica.Close, nil
}

// requireOptIn lists the topics sent only to contacts who opted in:
// marketing, with NURTURE_REQUIRE_MARKETING_CONSENT.
func requireOptIn(cfg *config.Config) []nurture.Topic {
	if cfg.RequireMarketingConsent {
		return []nurture.Topic{nurture.TopicMarketing}
	}
	return nil
}

// newEngine builds the sequence engine.
func newEngine(cfg *config.Config, logger *slog.Logger, seqs *serviceSequences, tmpl *templates.Set, store *postgres.DB, enq *jobs.Enqueuer) (*sequence.Engine, error) {
	zone, window, err := engineSettings(cfg)
	if err != nil {
		return nil, err
	}
	ec := sequence.EngineConfig{Store: store, Enqueuer: enq, Templates: tmpl, DefaultZone: zone, Window: window,
		Cap: cfg.FrequencyCap, Logger: logger}
	if seqs != nil {
		ec.Sequences, ec.Sources = seqs.set, seqs.sources
	}
	return sequence.NewEngine(ec), nil
}

func newWorker(cfg *config.Config, logger *slog.Logger, tmpl *templates.Set, store *postgres.DB, ids nurture.MessageIDs, redisOpt asynq.RedisConnOpt, rdb redis.UniversalClient, engine *sequence.Engine, reg *metrics.Registry, enq *jobs.Enqueuer) ([]*worker.Server, func(), error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, nil, fmt.Errorf("NURTURE_FROM: %w", err)
	}
	signer, err := nurture.NewSigner(cfg.Secret, nonEmpty(cfg.SecretPrevious)...)
	if err != nil {
		return nil, nil, namedSetting(err, signerSettings)
	}
	dcfg := delivery.Config{
		Store:             store,
		Renderer:          tmpl,
		Links:             delivery.Linker{Signer: signer, BaseURL: cfg.PublicURL},
		From:              *from,
		MessageIDs:        ids,
		Product:           product(cfg),
		Exports:           store,
		LocalRate:         cfg.SMTPRate,
		FrequencyCap:      cfg.FrequencyCap,
		RequireOptIn:      requireOptIn(cfg),
		UnsubscribeMailto: cfg.UnsubMailto,
		Parallelism:       2 * cfg.SMTPPool,
		Logger:            logger,
	}
	// One relay and one deliverer per region served (one without regions):
	// a region's email leaves only through its own relay.
	relays := []config.RegionRelay{{SMTPURL: cfg.SMTPURL, DKIMDomain: cfg.DKIMDomain, DKIMSelector: cfg.DKIMSelector, DKIMKeyFile: cfg.DKIMKeyFile}}
	names := []string{""}
	if len(cfg.Regions) > 0 {
		relays, names = nil, cfg.WorkerRegions
		for _, r := range names {
			relays = append(relays, cfg.RegionRelays[r])
		}
	}
	byRegion := map[string]jobs.Deliverer{}
	var built []*regionDeliverer
	closeBuilt := func() {
		// The worker has stopped: write the outcomes still waiting, then
		// close the relay connections.
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		for _, b := range built {
			if err := b.deliverer.Close(ctx); err != nil {
				logger.Error("write the last outcomes", "region", b.region, "err", err)
			}
			_ = b.sender.Close()
		}
	}
	for i, region := range names {
		rc := dcfg
		rc.Region, rc.DefaultRegion, rc.Requeue = region, cfg.DefaultRegion, enq
		b, err := newRegionDeliverer(cfg, logger, rdb, reg, rc, from.Address, relays[i])
		if err != nil {
			closeBuilt()
			return nil, nil, err
		}
		built = append(built, b)
		byRegion[region] = b.deliverer
	}
	send := jobs.NewSendHandler(byRegion[""])
	advance := jobs.NewAdvanceHandler(engine)
	newServer := func(queues map[string]int, send asynq.Handler) *worker.Server {
		return worker.New(worker.Config{
			Redis:           redisOpt,
			Concurrency:     cfg.Concurrency,
			Queues:          queues,
			ShutdownTimeout: cfg.ShutdownTimeout,
			Logger:          logger,
			Handlers: map[string]asynq.Handler{jobs.TypeEmailSend: send, jobs.TypeEmailSendBatch: send,
				jobs.TypeSequenceAdvance: advance, jobs.TypeSequenceAdvanceBatch: advance},
		})
	}
	if len(cfg.Regions) == 0 {
		return []*worker.Server{newServer(jobs.QueuePriorities, send)}, closeBuilt, nil
	}
	fallback := cfg.DefaultRegion
	if byRegion[fallback] == nil {
		fallback = names[0]
	}
	send = jobs.NewRegionalSendHandler(byRegion, fallback)
	logger.Info("regions: this worker sends the email of its regions only", "regions", names, "declared", cfg.Regions, "default", cfg.DefaultRegion)
	// Each region's queues run on a task server of their own, with
	// NURTURE_CONCURRENCY slots, and so do the plain queues (the sequences,
	// and email queued before the regions were declared): a region whose
	// relay hangs holds its own slots only, never another region's or the
	// sequences'.
	servers := []*worker.Server{newServer(jobs.QueuePriorities, send)}
	for _, r := range names {
		servers = append(servers, newServer(jobs.RegionQueues(r), send))
	}
	return servers, closeBuilt, nil
}

// regionDeliverer is one region's relay and the deliverer that sends
// through it.
type regionDeliverer struct {
	region    string
	sender    *mailer.Mailer
	deliverer *delivery.Deliverer
}

// newRegionDeliverer builds the relay of dcfg.Region ("" without regions)
// from rr, its shared rate, and its deliverer.
func newRegionDeliverer(cfg *config.Config, logger *slog.Logger, rdb redis.UniversalClient, reg *metrics.Registry, dcfg delivery.Config, fromAddress string, rr config.RegionRelay) (*regionDeliverer, error) {
	obs := reg.InRegion(dcfg.Region)
	settings := mailerSettings
	if dcfg.Region != "" {
		settings = regionMailerSettings(dcfg.Region, rr, cfg)
	}
	mcfg := mailer.Config{
		URL:      rr.SMTPURL,
		PoolSize: cfg.SMTPPool,
		HELO:     heloName(cfg.SMTPHELO, os.Hostname, fromAddress),
		Logger:   logger.With("region", dcfg.Region),
		Observer: obs,
	}
	if rr.DKIMDomain != "" { // config has checked that the key file is set too
		key, err := mailer.LoadDKIMKey(rr.DKIMKeyFile)
		if err != nil {
			return nil, fmt.Errorf("invalid %s: %w", settings[mailer.FieldDKIMKey], err)
		}
		mcfg.DKIM = &mailer.DKIM{Domain: rr.DKIMDomain, Selector: rr.DKIMSelector, Key: key}
	}
	sender, err := mailer.New(mcfg)
	if err != nil {
		return nil, namedSetting(err, settings)
	}
	relay, _ := mailer.ParseURL(rr.SMTPURL)
	throttle, err := ratelimit.NewRelayThrottle(ratelimit.New(rdb, "nurture:ratelimit:"), relay.Host,
		ratelimit.Limit{Rate: cfg.SMTPRate, Burst: max(1, int(cfg.SMTPRate))})
	if err != nil {
		_ = sender.Close()
		return nil, fmt.Errorf("NURTURE_SMTP_RATE: %w", err)
	}
	dcfg.Sender, dcfg.Throttle, dcfg.Observer = sender, throttle, obs
	if dcfg.Region != "" {
		dcfg.Logger = logger.With("region", dcfg.Region)
	}
	return &regionDeliverer{region: dcfg.Region, sender: sender, deliverer: delivery.New(dcfg)}, nil
}

// newEnricher builds lead enrichment: research from the settings' sources
// when NURTURE_ENRICH is on (paced per domain through Redis, shared by
// every worker), linking and titles only when it is off.
func newEnricher(cfg *config.Config, logger *slog.Logger, store *postgres.DB, rdb redis.UniversalClient) (*enrich.Enricher, error) {
	ec := enrich.EnricherConfig{Store: store, TTL: cfg.EnrichTTL, Logger: logger}
	if !cfg.Enrich {
		logger.Info("lead enrichment: research is off (NURTURE_ENRICH): sign-ups are linked to their email domain's company and their titles read; nothing is fetched")
		return enrich.NewEnricher(ec), nil
	}
	pacer, err := ratelimit.NewDomainPacer(ratelimit.New(rdb, "nurture:ratelimit:"), "enrich", 1)
	if err != nil {
		return nil, err
	}
	if ec.Sources, err = researchSources(cfg, enrich.FetchConfig{Limiter: pacer}, nil, logger); err != nil {
		return nil, err
	}
	names := make([]string, len(ec.Sources))
	for i, src := range ec.Sources {
		names[i] = src.Name()
	}
	logger.Info("lead enrichment: research is on", "sources", names, "ttl", cfg.EnrichTTL, "concurrency", cfg.EnrichConcurrency, "dev_loopback_only", cfg.Dev)
	return enrich.NewEnricher(ec), nil
}

// loadTemplates reads the templates of dir, or the built-in ones.
func loadTemplates(dir string) (*templates.Set, error) {
	if dir == "" {
		return templates.Default()
	}
	set, err := templates.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("NURTURE_TEMPLATES_DIR: %w", err)
	}
	return set, nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// keyLimiter applies one limit to every API key.
type keyLimiter struct {
	limiter *ratelimit.Limiter
	limit   ratelimit.Limit
}

func (k keyLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	r, err := k.limiter.Allow(ctx, key, k.limit)
	if err != nil {
		return false, 0, err
	}
	return r.Allowed, r.RetryAfter, nil
}

// serveHTTP serves until ctx ends, then stops accepting connections and
// gives requests in flight the shutdown timeout to finish.
func serveHTTP(ctx context.Context, cfg *config.Config, logger *slog.Logger, h http.Handler) error {
	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("NURTURE_LISTEN: %w", err)
	}
	logger.Info("api listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("api stopped")
	return nil
}

// rehome resolves every contact's region again when a worker starts with
// regions declared that no worker caught up with yet, moving pending
// messages whose contact's region changed (contacts written before the
// regions were declared, or before the declaration changed). Every write
// of a contact's traits does the same for that contact; this is the
// catch-up, run once per declaration.
func rehome(ctx context.Context, store *postgres.DB, logger *slog.Logger) error {
	r, err := store.RehomeContacts(ctx, 2000)
	switch {
	case err != nil && ctx.Err() == nil:
		logger.Error("resolve contacts' regions", "err", err)
	case err == nil && r.Already:
		logger.Debug("contacts' regions: this declaration was caught up with before")
	case err == nil:
		logger.Info("contacts' regions resolved", "contacts", r.Contacts, "messages_moved", r.Moved)
	}
	// The process runs while its parts do: this one waits for the end.
	<-ctx.Done()
	return nil
}
