package console

import (
	"context"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// Counting a sequence's funnel reads every enrollment of the sequence and
// its history (SequenceStats): a few seconds for a sequence of 200,000
// enrollments. A page must answer at once, so the counts are kept for a
// while, and a page that finds none recent enough waits a little for a new
// count and otherwise answers with the last one (or none), while the count
// goes on in the background for the next visit. One count per sequence
// runs at a time.

// Defaults of Sequences.StatsWait and StatsMaxAge.
const (
	defaultStatsWait   = 80 * time.Millisecond
	defaultStatsMaxAge = time.Minute
	// statsTimeout bounds a count in the background.
	statsTimeout = 5 * time.Minute
)

// funnelCache keeps the last counts of each sequence.
type funnelCache struct {
	mu   sync.Mutex
	byID map[string]*funnelEntry
}

// funnelEntry is what is known of one sequence's counts.
type funnelEntry struct {
	stats    *nurture.SequenceStats // the last counts, nil before the first
	at       time.Time              // when they were counted
	counting chan struct{}          // closed when the count under way ends; nil when none is
	err      error                  // the last count's error
}

// funnelCounts is what a page shows of a sequence's counts.
type funnelCounts struct {
	Stats    *nurture.SequenceStats // nil: not counted yet
	At       time.Time              // when counted
	Counting bool                   // a new count is under way
}

// get returns the counts of the sequence id: recent ones at once; else it
// starts a count (unless one is under way) and waits for it at most wait.
// An error is returned only when the count it waited for failed and there
// are no earlier counts to show.
func (f *funnelCache) get(ctx context.Context, k *Console, id string, s *Sequences) (funnelCounts, error) {
	clock, logger := k.cfg.Clock, k.cfg.Logger
	wait, maxAge := s.StatsWait, s.StatsMaxAge
	if wait <= 0 {
		wait = defaultStatsWait
	}
	if maxAge <= 0 {
		maxAge = defaultStatsMaxAge
	}
	f.mu.Lock()
	if f.byID == nil {
		f.byID = map[string]*funnelEntry{}
	}
	e := f.byID[id]
	if e == nil {
		e = &funnelEntry{}
		f.byID[id] = e
	}
	if e.stats != nil && clock.Now().Sub(e.at) < maxAge {
		out := funnelCounts{Stats: e.stats, At: e.at, Counting: e.counting != nil}
		f.mu.Unlock()
		return out, nil
	}
	if e.counting == nil {
		done := make(chan struct{})
		e.counting = done
		// The count outlives the request that started it, not the console.
		bg, cancel := context.WithTimeout(k.life, statsTimeout)
		k.background.Add(1)
		go func() {
			defer k.background.Done()
			defer cancel()
			st, err := s.Stats.SequenceStats(bg, id)
			if err != nil && k.life.Err() == nil {
				logger.Error("console: count the funnel", "sequence", id, "err", err)
			}
			f.mu.Lock()
			if err == nil {
				e.stats, e.at = st, clock.Now()
			}
			e.err, e.counting = err, nil
			f.mu.Unlock()
			close(done)
		}()
	}
	done := e.counting
	f.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := funnelCounts{Stats: e.stats, At: e.at, Counting: e.counting != nil}
	if e.stats == nil && e.counting == nil && e.err != nil {
		return out, e.err
	}
	return out, nil
}
