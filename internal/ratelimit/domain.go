package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DomainPacer holds every process of the engine to one request at a time
// per domain at a shared rate: what lead enrichment promises the sites it
// reads (at most one request per second per domain across all workers).
// Wait blocks until the domain's bucket in Redis has a token. While Redis
// cannot answer, each process keeps the rate on its own (a bucket per
// domain in memory), so an outage can multiply the rate by the number of
// processes, never remove it.
type DomainPacer struct {
	limiter *Limiter
	limit   Limit
	key     string

	mu    sync.Mutex
	local map[string]*rate.Limiter
}

// maxLocalDomains bounds the in-memory buckets of an outage; a full bucket
// is the same as no bucket, so dropping them costs at most one early
// request per domain.
const maxLocalDomains = 10000

// NewDomainPacer returns a pacer allowing perSecond requests per domain
// (fractions allowed: 0.5 is one every two seconds), with buckets named
// "<name>:<domain>" under l's prefix.
func NewDomainPacer(l *Limiter, name string, perSecond float64) (*DomainPacer, error) {
	lim := Limit{Rate: perSecond, Burst: 1}
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	return &DomainPacer{limiter: l, limit: lim, key: name + ":", local: map[string]*rate.Limiter{}}, nil
}

// Wait returns when a request to domain may go, or with ctx's error.
func (p *DomainPacer) Wait(ctx context.Context, domain string) error {
	for {
		res, err := p.limiter.Allow(ctx, p.key+domain, p.limit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := p.localBucket(domain).Wait(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// The bucket says at once when ctx's deadline comes
				// before its token: the same answer as waiting for it.
				return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
			}
			return nil
		}
		if res.Allowed {
			return nil
		}
		t := time.NewTimer(res.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *DomainPacer) localBucket(domain string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.local[domain]
	if !ok {
		if len(p.local) >= maxLocalDomains {
			clear(p.local)
		}
		b = rate.NewLimiter(rate.Limit(p.limit.Rate), 1)
		p.local[domain] = b
	}
	return b
}
