package console_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
)

// slowStats is a funnel count that takes until it is called off.
type slowStats struct {
	started chan struct{}
	ended   chan error
}

func (s *slowStats) SequenceStats(ctx context.Context, _ string) (*nurture.SequenceStats, error) {
	close(s.started)
	<-ctx.Done()
	s.ended <- ctx.Err()
	return nil, ctx.Err()
}

// A count a page started in the background outlives the page's request
// but not the console: Close calls it off and returns once it has ended.
func TestCloseEndsTheCountsInTheBackground(t *testing.T) {
	t.Parallel()
	stats := &slowStats{started: make(chan struct{}), ended: make(chan error, 1)}
	h := newHarness(t, func(cfg *console.Config) {
		cfg.Sequences.Stats, cfg.Sequences.StatsWait = stats, time.Millisecond
	})
	page, res := h.get(t, h.signedIn(t), "/admin/sequences/onboarding")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "being counted")
	<-stats.started

	h.console.Close()
	select {
	case err := <-stats.ended:
		require.ErrorIs(t, err, context.Canceled, "the count was called off")
	default:
		t.Fatal("Close returned while the count was still running")
	}
}
