package main

import (
	"log/slog"
	"strings"

	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/postgres"
)

// newConsole builds the operators' console served under /admin. Its
// sign-in attempts count against the same per-address limit as failed
// API authentications.
func newConsole(cfg *config.Config, logger *slog.Logger, store *postgres.DB, signIns console.RateLimiter) (*console.Console, error) {
	return console.New(console.Config{
		Keys:           store,
		Sessions:       store,
		Audit:          store,
		SignInLimiter:  signIns,
		Overview:       &console.Overview{Activity: store},
		Product:        product(cfg),
		SecureCookies:  strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		TrustedProxies: cfg.TrustedProxies,
		Logger:         logger,
	})
}
