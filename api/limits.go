package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
)

// limitGuard keeps a Redis outage from costing every request time. Each
// rate-limit check gets a budget of a few milliseconds; a check that fails
// or overruns it lets its request through, and opens a circuit: for the
// cooldown that follows, checks are skipped without asking Redis at all.
// The first check after the cooldown asks again. Every skipped check is
// counted for /metrics.
//
// Letting requests through is a choice: while Redis is away the limits do
// not hold, but ingestion keeps working, and the product's data is not lost.
type limitGuard struct {
	budget, cooldown time.Duration
	clock            nurture.Clock
	log              *slog.Logger

	mu        sync.Mutex
	openUntil time.Time // checks are skipped until then

	skipped atomic.Int64
}

// Defaults of Config.RateLimitBudget and Config.RateLimitCooldown.
const (
	defaultRateLimitBudget   = 25 * time.Millisecond
	defaultRateLimitCooldown = time.Second
)

// allow asks l about key within the budget. checked is false when the
// answer could not be had: the request goes through, and ok means nothing.
func (g *limitGuard) allow(ctx context.Context, l RateLimiter, key string) (ok bool, retry time.Duration, checked bool) {
	g.mu.Lock()
	open := g.clock.Now().Before(g.openUntil)
	g.mu.Unlock()
	if open {
		g.skipped.Add(1)
		return false, 0, false
	}

	budgetCtx, cancel := context.WithTimeout(ctx, g.budget)
	defer cancel()
	ok, retry, err := l.Allow(budgetCtx, key)
	if err == nil {
		return ok, retry, true
	}
	if ctx.Err() != nil {
		// The client went away: no news about Redis, and a client must
		// not be able to open the circuit by hanging up.
		return false, 0, false
	}
	g.skipped.Add(1)
	g.mu.Lock()
	g.openUntil = g.clock.Now().Add(g.cooldown)
	g.mu.Unlock()
	// At most once a cooldown: the circuit is open in between.
	reason := "error"
	if budgetCtx.Err() != nil {
		reason = "no answer within the budget"
	}
	g.log.Warn("rate limits skipped: redis unavailable; requests let through", "reason", reason,
		"budget", g.budget, "skipping_for", g.cooldown, "err", err)
	return false, 0, false
}
