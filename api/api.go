// Package api is Nurture's HTTP interface, on Gin: ingestion of profiles
// and events in Segment's format, the admin REST API, the recipient
// endpoints and pages, the mail providers' webhooks, and health checks.
//
// Handlers translate HTTP to calls on small interfaces declared here,
// grouped by concern in Config, and implemented elsewhere (the store, the
// task enqueuer); they hold no business state. The providers' webhook
// formats are read by package providers. Errors leave as
// {"error":{"code","message","field"}} with the status chosen in exactly
// one table, statusOf.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

// Config is what New needs: the dependencies of each concern the API
// serves, and settings whose zero values are sensible defaults.
//
// The dependencies come grouped by concern (Ingestion, Admin, Recipients,
// Webhooks, Sequences), each a small struct of the interfaces its handlers call,
// declared next to those handlers. A concern left nil is not served: its
// routes answer 404, so that a process (or a test) is given exactly what
// it serves, and nothing is found at run time by a type assertion. The
// settings of one concern live in its struct; those every concern shares
// stay here.
type Config struct {
	// Ingestion serves Segment's endpoints: /v1/identify, /v1/track,
	// /v1/page, /v1/screen, /v1/alias, /v1/batch and /v1/import.
	Ingestion *Ingestion
	// Admin serves /v1/contacts, /v1/messages/{id} and
	// /v1/templates/{name}/preview.
	Admin *Admin
	// Recipients serves the links in emails: /o, /c, /u and /v.
	Recipients *Recipients
	// Webhooks serves /v1/webhooks/...: bounces and complaints.
	Webhooks *Webhooks
	// Sequences serves /v1/sequences/... (sequence.go).
	Sequences *Sequences
	// Segments serves /v1/segments/... (segments.go).
	Segments *Segments
	// Campaigns serves /v1/campaigns/... (campaigns.go).
	Campaigns *Campaigns
	// Console serves /admin and every path under it: the operators' web
	// console (package api/console), which has its own sign-in.
	Console Console

	// Keys finds the API keys that every /v1 endpoint and /metrics ask
	// for. Required with Ingestion, Admin, Webhooks, Sequences or Segments.
	Keys KeyStore
	// Metrics serves GET /metrics (package internal/metrics' handler),
	// behind an admin key; nil (or no Keys): not served.
	Metrics http.Handler
	// Observer is told of ingestion requests and calls and of bounce
	// reports, for monitoring; nil: nobody is.
	Observer Observer
	// RateLimiter limits requests per API key; nil means no limit.
	RateLimiter RateLimiter
	// AuthFailureLimiter limits failed authentications per client address
	// (keyed "auth:<address>"); nil means no limit.
	AuthFailureLimiter RateLimiter
	// RateLimitBudget is how long a rate-limit check may take before the
	// request goes through unchecked; default 25ms. RateLimitCooldown is
	// how long checks are then skipped without asking; default 1s.
	RateLimitBudget, RateLimitCooldown time.Duration

	// Ready lists the dependencies /readyz checks, by name ("postgres", "redis").
	Ready map[string]Pinger
	// Product is the sender the emails speak for: previews render with
	// it, and the preference page shows its name.
	Product nurture.Product

	Logger         *slog.Logger
	Clock          nurture.Clock
	TrustedProxies []string // addresses or CIDRs whose X-Forwarded-For is believed; none by default
	MaxBodyBytes   int64    // largest request body of any endpoint (those with their own limit are stricter); default 1 MiB
}

// Ingestion is what Segment's endpoints need (ingest.go, segment.go).
type Ingestion struct {
	Store IngestStore // required
}

// IngestStore stores what the ingestion endpoints receive.
type IngestStore interface {
	// Ingest stores the calls, applying nurture.PlanIngest, with the
	// signals they leave the sequence engine (which creates and queues
	// its own emails). readTraits reads the traits of stored identify
	// calls (ContactFromTraits).
	Ingest(ctx context.Context, calls []nurture.Call, readTraits nurture.TraitsReader, now time.Time) (*nurture.IngestResult, error)
}

// Console is the operators' web console (package api/console): it serves
// /admin, and Close stops the work it runs in the background.
type Console interface {
	http.Handler
	Close()
}

// Pinger is a dependency /readyz checks.
type Pinger func(ctx context.Context) error

// API serves HTTP.
type API struct {
	cfg      Config // with its defaults applied
	engine   *gin.Engine
	keys     *keyCache
	failures *failedAuth
	limits   *limitGuard
	hooks    *webhookHandler // nil without Webhooks
	hits     *hitRecorder    // nil without Recipients.Hits
	clicks   recentClicks
	// leanHits: opens and clicks are answered before Gin (serveHit),
	// with Recipients and no trusted proxy.
	leanHits bool
	// publicHost is the host of Recipients.PublicURL, "" without one.
	publicHost string
}

// New builds the API and the routes of the concerns cfg gives. It refuses
// a concern without its required dependencies.
func New(cfg Config) (*API, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RateLimitBudget == 0 {
		cfg.RateLimitBudget = defaultRateLimitBudget
	}
	if cfg.RateLimitCooldown == 0 {
		cfg.RateLimitCooldown = defaultRateLimitCooldown
	}
	if cfg.Recipients != nil {
		r := cfg.Recipients.withDefaults()
		cfg.Recipients = &r
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Gin trusts every proxy unless told otherwise, which would let any
	// client forge its address through X-Forwarded-For.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	e.Use(recovery(cfg.Logger), requestLog(cfg.Logger, cfg.Clock), limitBody(cfg.MaxBodyBytes))
	e.NoRoute(func(c *gin.Context) { fail(c, nurture.Errorf(nurture.CodeNotFound, "no such endpoint")) })
	e.NoMethod(func(c *gin.Context) {
		fail(c, &nurture.Error{Code: "method_not_allowed", Message: "method not allowed on this endpoint"})
	})

	a := &API{cfg: cfg, engine: e, keys: newKeyCache(), failures: newFailedAuth(),
		limits: &limitGuard{budget: cfg.RateLimitBudget, cooldown: cfg.RateLimitCooldown, clock: cfg.Clock, log: cfg.Logger}}
	e.GET("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)
	if cfg.Keys != nil && cfg.Metrics != nil {
		e.GET("/metrics", a.requireScope(nurture.ScopeAdmin), gin.WrapH(cfg.Metrics))
	}
	if cfg.Ingestion != nil {
		ingest := e.Group("/v1", a.observeIngest, a.requireIngestKey())
		ingest.POST("/identify", a.single("identify"))
		ingest.POST("/track", a.single("track"))
		ingest.POST("/page", a.single("page"))
		ingest.POST("/screen", a.single("page"))
		ingest.POST("/alias", a.single("alias"))
		ingest.POST("/group", a.single("group"))
		ingest.POST("/batch", a.batch)
		ingest.POST("/import", a.batch) // Segment's older name for batch
	}
	if adm := cfg.Admin; adm != nil {
		admin := e.Group("/v1", a.requireScope(nurture.ScopeAdmin))
		admin.GET("/contacts", a.findContact)
		admin.GET("/contacts/:id", a.getContact)
		if adm.DataRights != nil {
			admin.GET("/contacts/export", a.exportContactByQuery)
			admin.GET("/contacts/:id/export", a.exportContact)
			admin.DELETE("/contacts", a.eraseContactByQuery)
			admin.DELETE("/contacts/:id", a.eraseContact)
		}
		if cfg.Admin.Companies != nil {
			admin.GET("/companies/:id", a.getCompany)
		}
		if adm.Corrections != nil {
			admin.PATCH("/contacts/:id", a.correctContact)
		}
		if adm.Consents != nil {
			admin.POST("/contacts/:id/consents", a.recordConsent)
			admin.GET("/contacts/:id/consents", a.getConsents)
		}
		if adm.Enrichments != nil {
			admin.POST("/contacts/:id/enrich", a.requestEnrichment)
		}
		if adm.Messages != nil {
			admin.GET("/messages/:id", a.getMessage)
		}
		if adm.Templates != nil {
			admin.GET("/templates/:name/preview", a.previewTemplate)
		}
	}
	if sg := cfg.Segments; sg != nil {
		segs := e.Group("/v1/segments", a.requireScope(nurture.ScopeAdmin))
		segs.POST("", a.createSegment)
		segs.GET("", a.listSegments)
		segs.GET("/:id", a.getSegment)
		segs.PATCH("/:id", a.updateSegment)
		segs.DELETE("/:id", a.deleteSegment)
		if sg.Audience != nil {
			segs.POST("/preview", a.previewSegment)
		}
	}
	if cfg.Campaigns != nil {
		camps := e.Group("/v1/campaigns", a.requireScope(nurture.ScopeAdmin))
		camps.POST("", a.createCampaign)
		camps.GET("", a.listCampaigns)
		camps.GET("/:id", a.getCampaign)
		camps.PATCH("/:id", a.updateCampaign)
		camps.POST("/:id/schedule", a.campaignAction(campaign.ActionSchedule))
		camps.POST("/:id/pause", a.campaignAction(campaign.ActionPause))
		camps.POST("/:id/resume", a.campaignAction(campaign.ActionResume))
		camps.POST("/:id/cancel", a.campaignAction(campaign.ActionCancel))
		if cfg.Campaigns.Tester != nil {
			camps.POST("/:id/test", a.testCampaign)
		}
	}
	if cfg.Sequences != nil {
		seqs := e.Group("/v1/sequences", a.requireScope(nurture.ScopeAdmin))
		seqs.GET("", a.listSequences)
		seqs.GET("/:id", a.getSequence)
		if cfg.Sequences.Simulator != nil {
			seqs.POST("/:id/simulate", a.simulate)
		}
		if cfg.Sequences.Stats != nil {
			seqs.GET("/:id/stats", a.sequenceStats)
		}
		if cfg.Sequences.Enrollments != nil {
			seqs.POST("/:id/enrollments", a.enroll)
			seqs.DELETE("/:id/enrollments/:enrollment", a.exitEnrollment)
			e.GET("/v1/contacts/:id/enrollments", a.requireScope(nurture.ScopeAdmin), a.contactEnrollments)
		}
	}
	if cfg.Console != nil {
		h := gin.WrapH(cfg.Console)
		e.Any("/admin", h)
		e.Any("/admin/*path", h)
	}
	if r := cfg.Recipients; r != nil {
		if u, err := url.Parse(r.PublicURL); err == nil {
			a.publicHost = u.Host
		}
		if r.Hits != nil {
			a.hits = newHitRecorder(r.Hits, cfg.Logger, r.HitQueue, r.HitWait)
		}
		a.leanHits = len(cfg.TrustedProxies) == 0
		// Gin has the routes as well: for trusted proxies, and for the
		// answers to other methods on these paths.
		e.GET("/o/:token", a.open)
		e.GET("/c/:token", a.click)
		e.HEAD("/c/:token", a.click)
		e.GET("/u/:token", a.unsubscribePage)
		e.GET("/k/:token", a.confirmPage)
		e.POST("/k/:token", a.confirm)
		e.POST("/u/:token", a.unsubscribe)
		if r.Eraser != nil {
			e.GET("/u/:token/erase", a.deletionPage)
			e.POST("/u/:token/erase", a.erasePage)
		}
		if r.Exporter != nil {
			e.GET("/u/:token/export", a.exportPageGet)
			e.POST("/u/:token/export", a.exportPagePost)
		}
		if r.Templates != nil {
			e.GET("/v/:token", a.view)
		}
	}
	if cfg.Webhooks != nil {
		// Bounces and complaints from the mail providers (webhook.go).
		a.hooks = newWebhookHandler(cfg.Webhooks, cfg.Clock, cfg.Logger)
		a.hooks.recorded = a.observeBounces
		webhooks := e.Group("/v1/webhooks", a.requireScope(nurture.ScopeWebhooks))
		webhooks.POST("/bounces", a.hooks.generic)
		webhooks.POST("/ses", a.hooks.ses)
		webhooks.POST("/sendgrid", a.hooks.sendgrid)
		webhooks.POST("/postmark", a.hooks.postmark)
	}
	return a, nil
}

// check reports the first required dependency cfg lacks.
func (cfg *Config) check() error {
	var missing string
	switch {
	case cfg.Ingestion != nil && cfg.Ingestion.Store == nil:
		missing = "Ingestion.Store"
	case cfg.Admin != nil && cfg.Admin.Contacts == nil:
		missing = "Admin.Contacts"
	case cfg.Recipients != nil && cfg.Recipients.Store == nil:
		missing = "Recipients.Store"
	case cfg.Recipients != nil && cfg.Recipients.Signer == nil:
		missing = "Recipients.Signer"
	case cfg.Recipients != nil && cfg.Recipients.Exporter != nil && cfg.Recipients.ExportQueue == nil:
		missing = "Recipients.ExportQueue"
	case cfg.Webhooks != nil && cfg.Webhooks.Bounces == nil:
		missing = "Webhooks.Bounces"
	case cfg.Sequences != nil && cfg.Sequences.Set == nil:
		missing = "Sequences.Set"
	case cfg.Sequences != nil && cfg.Sequences.Simulator != nil && cfg.Sequences.Simulator.Store == nil:
		missing = "Sequences.Simulator.Store"
	case cfg.Segments != nil && cfg.Segments.Store == nil:
		missing = "Segments.Store"
	case cfg.Campaigns != nil && (cfg.Campaigns.Store == nil || cfg.Campaigns.Figures == nil || cfg.Campaigns.Segments == nil || cfg.Campaigns.Templates == nil):
		missing = "Campaigns.Store, Figures, Segments and Templates"
	case cfg.Keys == nil && (cfg.Ingestion != nil || cfg.Admin != nil || cfg.Webhooks != nil || cfg.Sequences != nil || cfg.Segments != nil || cfg.Campaigns != nil):
		missing = "Keys" // every /v1 endpoint asks for a key
	default:
		return nil
	}
	return fmt.Errorf("api: Config.%s is required", missing)
}

// Close writes the opens and clicks still queued and stops the console's
// background work. Call it after the HTTP server has stopped taking
// requests.
func (a *API) Close() {
	if a.hits != nil {
		a.hits.close()
	}
	if a.cfg.Console != nil {
		a.cfg.Console.Close()
	}
}

// DroppedHits counts opens and clicks dropped because the queue was full
// while the database was away.
func (a *API) DroppedHits() int64 {
	if a.hits == nil {
		return 0
	}
	return a.hits.dropped.Load()
}

// ServeHTTP implements http.Handler. Opens and clicks are answered
// without Gin when no proxy is trusted (serveHit); everything else goes
// through Gin.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.leanHits && a.serveHit(w, r) {
		return
	}
	a.engine.ServeHTTP(w, r)
}

// statusOf is the one table from error codes to HTTP statuses.
func statusOf(code nurture.ErrorCode) int {
	switch code {
	case nurture.CodeInvalid:
		return http.StatusBadRequest
	case nurture.CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case nurture.CodeUnauthorized:
		return http.StatusUnauthorized
	case nurture.CodeForbidden:
		return http.StatusForbidden
	case nurture.CodeNotFound:
		return http.StatusNotFound
	case "method_not_allowed":
		return http.StatusMethodNotAllowed
	case nurture.CodeConflict:
		return http.StatusConflict
	case nurture.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case nurture.CodeRateLimited:
		return http.StatusTooManyRequests
	case nurture.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    nurture.ErrorCode `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
}

// fail answers with err. Errors that are not domain errors are logged and
// reported without their details, which may reveal internals.
func fail(c *gin.Context, err error) {
	var de *nurture.Error
	if !errors.As(err, &de) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			de = nurture.Errorf(nurture.CodeTooLarge, "request body is larger than %d bytes", tooBig.Limit)
		} else {
			_ = c.Error(err)
			de = &nurture.Error{Code: nurture.CodeInternal, Message: "internal error"}
		}
	}
	c.AbortWithStatusJSON(statusOf(de.Code), errorBody{Error: errorDetail{Code: de.Code, Message: de.Message, Field: de.Field}})
}

func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				log.Error("panic in handler", "panic", r, "path", c.Request.URL.Path)
				fail(c, &nurture.Error{Code: nurture.CodeInternal, Message: "internal error"})
			}
		}()
		c.Next()
	}
}

func requestLog(log *slog.Logger, clock nurture.Clock) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := clock.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 || len(c.Errors) > 0 {
			level = slog.LevelError
		}
		if !log.Enabled(c.Request.Context(), level) {
			return // the pixel's hot path: build no attributes nobody reads
		}
		log.Log(c.Request.Context(), level, "request",
			"method", c.Request.Method, "path", c.FullPath(), "status", c.Writer.Status(),
			"took", clock.Now().Sub(start), "client", c.ClientIP(), "errors", c.Errors.String())
	}
}

// limitBody caps every request body: a client cannot make us read more.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			fail(c, nurture.Errorf(nurture.CodeTooLarge, "request body is larger than %d bytes", n))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}
