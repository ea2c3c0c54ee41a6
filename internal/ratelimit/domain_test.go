package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/ratelimit"
)

// One request a minute per domain, shared by two processes: the second
// request to a domain waits for the first one's minute whichever process
// makes it, while another domain goes at once.
func TestDomainPacerIsSharedAcrossProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const perMinute = 1.0 / 60
	one, err := ratelimit.NewDomainPacer(b.limiter, "enrich", perMinute)
	require.NoError(t, err)
	other, err := ratelimit.NewDomainPacer(ratelimit.New(b.newClient(t), b.prefix), "enrich", perMinute)
	require.NoError(t, err)

	wait := func(p *ratelimit.DomainPacer, domain string) error {
		// Far shorter than the minute a second request must wait, far
		// longer than a Redis round trip on a loaded machine.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return p.Wait(ctx, domain)
	}
	require.NoError(t, wait(one, "acme.example"))
	require.ErrorIs(t, wait(other, "acme.example"), context.DeadlineExceeded, "the other process waits for acme.example's minute")
	require.ErrorIs(t, wait(one, "acme.example"), context.DeadlineExceeded)
	require.NoError(t, wait(other, "globex.example"), "another domain has a bucket of its own")
	require.Len(t, b.keys(t), 2, "a bucket per domain")
}

// While Redis is away, each process keeps the rate on its own.
func TestDomainPacerKeepsTheRateWithoutRedis(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rdb := b.newClient(t)
	p, err := ratelimit.NewDomainPacer(ratelimit.New(rdb, b.prefix), "enrich", 1.0/60)
	require.NoError(t, err)
	require.NoError(t, rdb.Close()) // every call to Redis now fails at once

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(t, p.Wait(ctx, "acme.example"), "the first request goes")
	require.ErrorIs(t, p.Wait(ctx, "acme.example"), context.DeadlineExceeded, "the second waits for the local bucket's minute")
}

func TestDomainPacerRefusesABadRate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := ratelimit.NewDomainPacer(b.limiter, "enrich", 0)
	require.ErrorContains(t, err, "Rate")
}
