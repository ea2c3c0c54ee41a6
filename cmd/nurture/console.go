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

// consoleDeps is what the console's pages are built on, beside the store.
type consoleDeps struct {
	store     *postgres.DB
	reports   *postgres.Reports // counts and previews, which may read a replica
	tmpl      *templates.Set
	sequences *sequence.Set
	simulator console.Simulator
	signIns   console.RateLimiter // sign-in attempts per client address
	queues    http.Handler        // the queue UI (newQueueUI)
}

// newConsole builds the operators' console served under /admin. Its
// sign-in attempts count against the same per-address limit as failed
// API authentications.
func newConsole(cfg *config.Config, logger *slog.Logger, d consoleDeps) (*console.Console, error) {
	store := d.store
	// The overview and the counts are reports (d.reports); lists an
	// operator changes from the page (contacts, suppressions) read the
	// primary, so a change shows at once.
	return console.New(console.Config{
		Keys:           store,
		Sessions:       store,
		Audit:          store,
		SignInLimiter:  d.signIns,
		Overview:       &console.Overview{Activity: d.reports},
		Contacts:       &console.Contacts{Store: store},
		Sequences:      &console.Sequences{Set: d.sequences, Stats: d.reports, Simulator: d.simulator},
		Campaigns:      &console.Campaigns{Store: store, Counts: d.reports, Segments: store, Audience: d.reports, Templates: d.tmpl},
		Templates:      &console.Templates{Set: d.tmpl, Contacts: store},
		Suppressions:   &console.Suppressions{Store: store},
		Queues:         d.queues,
		Product:        product(cfg),
		SecureCookies:  strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		TrustedProxies: cfg.TrustedProxies,
		Logger:         logger,
	})
}

// newQueueUI is asynq's queue UI (asynqmon), which the console serves at
// /admin/queues behind its sign-in. It can pause queues and run, archive
// or delete tasks: the console lets only its own pages ask for that, and
// audits each change.
func newQueueUI(redisOpt asynq.RedisConnOpt) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: redisOpt})
}
