// Package console is the operators' web console under /admin: pages that
// a marketer uses without reading the API's documentation, and that the
// person on call reads. It is server-rendered (html/template, one embedded
// stylesheet, every page usable without JavaScript) and adds no logic of
// its own: each page calls the same stores and use cases as the admin API,
// through small interfaces declared next to the page that needs them.
//
// Signing in exchanges an admin API key for a session cookie (HttpOnly,
// SameSite=Strict, Secure when the public URL is https, with an expiry);
// every form carries a CSRF token derived from the session; every action
// goes to the audit log under the key's name.
//
// The pages come grouped by concern in Config (Overview, Contacts,
// Sequences, Campaigns, Templates, Suppressions, Queues); a concern left
// nil is neither served nor in the menu.
package console

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// Config is what New needs.
type Config struct {
	// Keys finds the admin API key a sign-in presents. Required.
	Keys KeyStore
	// Sessions keeps the sign-ins. Required.
	Sessions SessionStore
	// Audit is where every action is written. Required.
	Audit AuditLog
	// SignInLimiter limits sign-in attempts per client address; nil: no limit.
	SignInLimiter RateLimiter

	// The pages, each served when given.
	Overview     *Overview
	Contacts     *Contacts
	Sequences    *Sequences
	Campaigns    *Campaigns
	Templates    *Templates
	Suppressions *Suppressions
	// Queues is the asynq queue UI (asynqmon), mounted at /admin/queues
	// behind the sign-in; nil: not served.
	Queues http.Handler

	// Product names the sender in page titles.
	Product nurture.Product
	// SecureCookies marks the session cookie Secure: set it when the
	// public URL is https.
	SecureCookies bool
	// SessionTTL is how long a sign-in lasts; default 12 hours.
	SessionTTL time.Duration
	// TrustedProxies are the addresses or CIDRs whose X-Forwarded-For is
	// believed (the sign-in limit counts by client address); none by default.
	TrustedProxies []string

	Logger *slog.Logger
	Clock  nurture.Clock
}

// KeyStore finds API keys by the SHA-256 of the key (nurture.HashAPIKey).
type KeyStore interface {
	APIKeyByHash(ctx context.Context, hash []byte) (*nurture.APIKey, error)
}

// SessionStore keeps console sessions by the SHA-256 of their token.
type SessionStore interface {
	CreateConsoleSession(ctx context.Context, tokenHash []byte, keyID int64, expires time.Time) error
	// ConsoleSession returns the live session (not expired at now, its
	// key neither revoked nor without the admin scope), or an error with
	// nurture.CodeNotFound.
	ConsoleSession(ctx context.Context, tokenHash []byte, now time.Time) (*nurture.ConsoleSession, error)
	// DeleteConsoleSession ends one session, and every expired one.
	DeleteConsoleSession(ctx context.Context, tokenHash []byte, now time.Time) error
}

// AuditLog records what operators do, and lists it.
type AuditLog interface {
	RecordAudit(ctx context.Context, e nurture.AuditEntry) error
	AuditLog(ctx context.Context, before time.Time, limit int) ([]nurture.AuditEntry, error)
}

// RateLimiter says whether the caller identified by key may make one more
// request now.
type RateLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Console serves /admin.
type Console struct {
	cfg    Config
	engine *gin.Engine
	pages  map[string]*template.Template // by file name, each with the layout
	menu   []menuItem
	// life ends with Close: the counts pages start in the background
	// (funnels, big campaigns' figures) run under it, and background
	// waits for them.
	life       context.Context
	end        context.CancelFunc
	background sync.WaitGroup
}

// menuItem is an entry of the navigation.
type menuItem struct {
	Section, Label, Path string
}

// New builds the console and its routes.
func New(cfg Config) (*Console, error) {
	if cfg.Keys == nil || cfg.Sessions == nil || cfg.Audit == nil {
		return nil, errors.New("console: Config.Keys, Sessions and Audit are required")
	}
	if c := cfg.Campaigns; c != nil && (c.Store == nil || c.Counts == nil || c.Segments == nil || c.Audience == nil || c.Templates == nil) {
		return nil, errors.New("console: Campaigns.Store, Counts, Segments, Audience and Templates are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, v any) {
		cfg.Logger.Error("panic in console handler", "panic", v, "path", c.Request.URL.Path)
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	k := &Console{cfg: cfg, engine: e, pages: pages}
	k.life, k.end = context.WithCancel(context.Background())
	k.menu = k.buildMenu()

	e.GET("/admin/static/*file", k.static)
	e.GET("/admin/sign-in", k.pageHeaders, k.signInPage)
	e.POST("/admin/sign-in", k.pageHeaders, k.signIn)
	g := e.Group("/admin", k.requireSession)
	g.POST("/sign-out", k.pageHeaders, k.requireCSRF, k.signOut)
	g.GET("", k.pageHeaders, k.home)
	g.GET("/", k.pageHeaders, k.home)
	g.GET("/audit", k.pageHeaders, k.auditPage)
	pg := g.Group("", k.pageHeaders, k.requireCSRF) // requireCSRF passes GET and HEAD
	if cfg.Overview != nil {
		k.overviewRoutes(pg)
	}
	if cfg.Contacts != nil {
		k.contactRoutes(pg)
	}
	if cfg.Sequences != nil {
		k.sequenceRoutes(pg)
	}
	if cfg.Campaigns != nil {
		k.campaignRoutes(pg)
	}
	if cfg.Templates != nil {
		k.templateRoutes(pg)
	}
	if cfg.Suppressions != nil {
		k.suppressionRoutes(pg)
	}
	if cfg.Queues != nil {
		k.queueRoutes(g)
	}
	e.NoRoute(k.pageHeaders, func(c *gin.Context) {
		k.errorPage(c, http.StatusNotFound, "There is no such page.")
	})
	return k, nil
}

// buildMenu lists the pages cfg serves, in the navigation's order.
func (k *Console) buildMenu() []menuItem {
	var m []menuItem
	add := func(on bool, section, label string) {
		if on {
			m = append(m, menuItem{Section: section, Label: label, Path: "/admin/" + section})
		}
	}
	add(k.cfg.Overview != nil, "overview", "Overview")
	add(k.cfg.Contacts != nil, "contacts", "Contacts")
	add(k.cfg.Sequences != nil, "sequences", "Sequences")
	add(k.cfg.Campaigns != nil, "campaigns", "Campaigns")
	add(k.cfg.Templates != nil, "templates", "Templates")
	add(k.cfg.Suppressions != nil, "suppressions", "Suppressions")
	add(k.cfg.Queues != nil, "queues", "Queues")
	add(true, "audit", "Audit log")
	return m
}

// ServeHTTP implements http.Handler for every path under /admin.
func (k *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.engine.ServeHTTP(w, r)
}

// Close stops the counts under way in the background and waits for them.
// Call it after the HTTP server has stopped taking requests.
func (k *Console) Close() {
	k.end()
	k.background.Wait()
}

// home is /admin: the first page of the menu.
func (k *Console) home(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, k.menu[0].Path)
}

// audit records what the signed-in operator did. A failure to record is
// logged, not shown: the action itself has happened.
func (k *Console) audit(c *gin.Context, action, target, detail string) {
	s := sessionOf(c)
	e := nurture.AuditEntry{At: k.cfg.Clock.Now(), KeyID: s.KeyID, KeyName: s.KeyName, Action: action, Target: target, Detail: detail}
	if err := k.cfg.Audit.RecordAudit(c.Request.Context(), e); err != nil {
		k.cfg.Logger.Error("console: record audit", "action", action, "target", target, "err", err)
	}
	k.cfg.Logger.Info("console action", "action", action, "target", target, "key", s.KeyName)
}
