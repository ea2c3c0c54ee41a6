package enrich

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// Limiter paces requests to one domain. Wait blocks until a request may go,
// or returns an error when ctx ends first (or would end before).
type Limiter interface {
	Wait(ctx context.Context, domain string) error
}

// LocalLimiter is an in-process token bucket per domain. It holds one
// process to the rate; processes sharing a rate need a Limiter backed by
// Redis (internal/ratelimit's DomainPacer), wired by cmd.
type LocalLimiter struct {
	perSecond rate.Limit
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
}

// NewLocalLimiter allows perSecond requests per second per domain, with a
// burst of one.
func NewLocalLimiter(perSecond float64) *LocalLimiter {
	return &LocalLimiter{perSecond: rate.Limit(perSecond), buckets: map[string]*rate.Limiter{}}
}

// Wait waits for the domain's next token.
func (l *LocalLimiter) Wait(ctx context.Context, domain string) error {
	l.mu.Lock()
	b, ok := l.buckets[domain]
	if !ok {
		if len(l.buckets) >= 10000 {
			// A full bucket is the same as no bucket, and a bucket
			// refills within a second: dropping them all costs at most
			// one early request per domain.
			clear(l.buckets)
		}
		b = rate.NewLimiter(l.perSecond, 1)
		l.buckets[domain] = b
	}
	l.mu.Unlock()
	return b.Wait(ctx)
}

// Unlimited is a Limiter that never waits: for tests against local
// servers, and for callers that limit elsewhere.
type Unlimited struct{}

// Wait returns ctx's error, if any, at once.
func (Unlimited) Wait(ctx context.Context, _ string) error { return ctx.Err() }
