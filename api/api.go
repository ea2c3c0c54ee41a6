// Package api is Nurture's HTTP interface, on Gin: ingestion of profiles
// and events, health checks, and (as they land) the admin REST API and the
// recipient endpoints.
//
// Handlers translate HTTP to calls on small interfaces declared here and
// implemented elsewhere (the store, the task enqueuer); they hold no
// business state. Errors leave as {"error":{"code","message","field"}} with
// the status chosen in exactly one table, statusOf.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// Store is what the API needs of the store.
type Store interface {
	Ingest(ctx context.Context, calls []nurture.Call, now time.Time) (*nurture.IngestResult, error)
	ContactStore
}

// Enqueuer hands messages to the task queue.
type Enqueuer interface {
	EnqueueSend(ctx context.Context, m *nurture.Message) error
}

// Pinger is a dependency /readyz checks.
type Pinger func(ctx context.Context) error

// Config holds what the API needs. Zero values of the optional fields are
// sensible defaults.
type Config struct {
	Store    Store
	Keys     KeyStore
	Enqueuer Enqueuer
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

	// Signer verifies recipient links; Recipients and Hits serve them.
	// PublicURL is the base of those links, when the API is reached under
	// another host (through a proxy): the preference form accepts posts
	// whose Origin is its host or the request's.
	PublicURL  string
	Signer     *nurture.Signer
	Recipients RecipientStore
	Hits       HitStore
	Messages   MessageStore      // the message timeline (admin)
	HitRules   []nurture.HitRule // default nurture.DefaultHitRules
	// HitQueue is how many opens and clicks may wait while the database is
	// away; past it they are dropped and counted. Default 100,000.
	HitQueue int
	// HitWait is how long an open or click waits for its write to commit
	// before it answers anyway. Default 2s.
	HitWait time.Duration
	// TemplateTopic and TemplateNames tell which templates are of a topic,
	// so that an opt-out cancels their queued messages.
	TemplateTopic func(name string) (nurture.Topic, bool)
	TemplateNames []string
	// Templates renders previews; Product is the sender the emails speak
	// for (its name is on the preference page too).
	Templates Previewer
	Product   templates.Product

	Logger         *slog.Logger
	Clock          nurture.Clock
	TrustedProxies []string // addresses or CIDRs whose X-Forwarded-For is believed; none by default
	MaxBodyBytes   int64    // largest request body of any endpoint (those with their own limit are stricter); default 1 MiB

	// Bounces records what /v1/webhooks/... receive; nil means Store, when
	// it has RecordBounces.
	Bounces BounceStore
	// SoftBounceLimit is how many soft bounces suppress an address; default 3.
	SoftBounceLimit int
	// SNSClient makes the requests to Amazon SNS: signing certificates and
	// subscription confirmations. Default: an http.Client with a 10 s
	// timeout that follows no redirect.
	SNSClient HTTPDoer
	// SNSTopics are the SNS topic ARNs whose messages /v1/webhooks/ses
	// accepts; with none it refuses every message (403).
	SNSTopics []string
}

// API serves HTTP.
type API struct {
	cfg      Config
	engine   *gin.Engine
	keys     *keyCache
	failures *failedAuth
	limits   *limitGuard
	hits     *hitRecorder // nil without a HitStore
	clicks   recentClicks
	// publicHost is the host of Config.PublicURL, "" without one.
	publicHost string
}

// New builds the API and its routes.
func New(cfg Config) (*API, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.HitRules == nil {
		cfg.HitRules = nurture.DefaultHitRules
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Gin trusts every proxy unless told otherwise, which would let any
	// client forge its address through X-Forwarded-For.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	e.Use(recovery(cfg.Logger), requestLog(cfg.Logger), limitBody(cfg.MaxBodyBytes))
	e.NoRoute(func(c *gin.Context) { fail(c, nurture.Errorf(nurture.CodeNotFound, "no such endpoint")) })
	e.NoMethod(func(c *gin.Context) {
		fail(c, &nurture.Error{Code: "method_not_allowed", Message: "method not allowed on this endpoint"})
	})

	if cfg.HitWait == 0 {
		cfg.HitWait = 2 * time.Second
	}
	if cfg.HitQueue == 0 {
		cfg.HitQueue = 100_000
	}
	if cfg.RateLimitBudget == 0 {
		cfg.RateLimitBudget = defaultRateLimitBudget
	}
	if cfg.RateLimitCooldown == 0 {
		cfg.RateLimitCooldown = defaultRateLimitCooldown
	}
	a := &API{cfg: cfg, engine: e, keys: newKeyCache(), failures: newFailedAuth(),
		limits: &limitGuard{budget: cfg.RateLimitBudget, cooldown: cfg.RateLimitCooldown, clock: cfg.Clock, log: cfg.Logger}}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		a.publicHost = u.Host
	}
	if cfg.Hits != nil {
		a.hits = newHitRecorder(cfg.Hits, cfg.Logger, cfg.HitQueue, cfg.HitWait)
	}
	e.GET("/healthz", a.healthz)
	e.GET("/o/:token", a.open)
	e.GET("/c/:token", a.click)
	e.HEAD("/c/:token", a.click)
	if cfg.Recipients != nil {
		e.GET("/u/:token", a.unsubscribePage)
		e.POST("/u/:token", a.unsubscribe)
		e.GET("/v/:token", a.view)
	}
	e.GET("/readyz", a.readyz)
	ingest := e.Group("/v1", a.requireIngestKey())
	ingest.POST("/identify", a.single("identify"))
	ingest.POST("/track", a.single("track"))
	ingest.POST("/page", a.single("page"))
	ingest.POST("/screen", a.single("page"))
	ingest.POST("/alias", a.single("alias"))
	ingest.POST("/batch", a.batch)
	ingest.POST("/import", a.batch) // Segment's older name for batch

	admin := e.Group("/v1", a.requireScope(nurture.ScopeAdmin))
	admin.GET("/contacts", a.findContact)
	admin.GET("/contacts/:id", a.getContact)
	e.GET("/metrics", a.requireScope(nurture.ScopeAdmin), a.metrics)
	if cfg.Messages != nil {
		admin.GET("/messages/:id", a.getMessage)
	}
	if cfg.Templates != nil {
		admin.GET("/templates/:name/preview", a.previewTemplate)
	}

	// Bounces and complaints from the mail providers (webhook.go).
	hooks := a.newWebhookHandler()
	webhooks := e.Group("/v1/webhooks", a.requireScope(nurture.ScopeWebhooks))
	webhooks.POST("/bounces", hooks.generic)
	webhooks.POST("/ses", hooks.ses)
	webhooks.POST("/sendgrid", hooks.sendgrid)
	webhooks.POST("/postmark", hooks.postmark)
	return a, nil
}

// Close writes the opens and clicks still queued. Call it after the HTTP
// server has stopped taking requests.
func (a *API) Close() {
	if a.hits != nil {
		a.hits.close()
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

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.engine.ServeHTTP(w, r) }

// statusOf is the one table from error codes to HTTP statuses.
func statusOf(code nurture.ErrorCode) int {
	switch code {
	case nurture.CodeInvalid:
		return http.StatusBadRequest
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
				if r == http.ErrAbortHandler {
					panic(r)
				}
				log.Error("panic in handler", "panic", r, "path", c.Request.URL.Path)
				fail(c, &nurture.Error{Code: nurture.CodeInternal, Message: "internal error"})
			}
		}()
		c.Next()
	}
}

func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
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
			"took", time.Since(start), "client", c.ClientIP(), "errors", c.Errors.String())
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
