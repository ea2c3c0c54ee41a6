package main

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// newConsole builds the operators' console served under /admin. Its
// sign-in attempts count against the same per-address limit as failed
// API authentications.
func newConsole(cfg *config.Config, logger *slog.Logger, store *postgres.DB, signIns console.RateLimiter, tmpl *templates.Set, seqs *sequence.Set, sim console.Simulator) (*console.Console, error) {
func newConsole(cfg *config.Config, logger *slog.Logger, store *postgres.DB, tmpl *templates.Set, signIns console.RateLimiter) (*console.Console, error) {
// API authentications. queues is the queue UI (newQueueUI).
func newConsole(cfg *config.Config, logger *slog.Logger, store *postgres.DB, signIns console.RateLimiter, queues http.Handler) (*console.Console, error) {
	return console.New(console.Config{
		Keys:           store,
		Sessions:       store,
		Audit:          store,
		Suppressions:   &console.Suppressions{Store: store},
		Queues:         queues,
		SignInLimiter:  signIns,
		Contacts:       &console.Contacts{Store: store},
		Sequences:      &console.Sequences{Set: seqs, Stats: store, Simulator: sim},
		Templates:      &console.Templates{Set: tmpl, Contacts: store},
		Overview:       &console.Overview{Activity: store},
		Product:        product(cfg),
		SecureCookies:  strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		TrustedProxies: cfg.TrustedProxies,
		Logger:         logger,
		Campaigns:      &console.Campaigns{Store: store, Segments: store, Audience: store, Templates: tmpl},
	})
}

// newQueueUI is asynq's queue UI (asynqmon), which the console serves at
// /admin/queues behind its sign-in. It can pause queues and run, archive
// or delete tasks: the console lets only its own pages ask for that, and
// audits each change.
func newQueueUI(redisOpt asynq.RedisConnOpt) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: redisOpt})
}
