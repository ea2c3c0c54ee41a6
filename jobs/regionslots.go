package jobs

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nurture-email/nurture/delivery"
)

// regionSlots keeps one region's relay trouble from taking a worker's
// every task slot. A worker of several regions runs their send tasks, and
// the plain queues' tasks, from one pool of slots (NURTURE_CONCURRENCY); a
// relay that hangs holds each of its region's tasks for as long as its
// timeouts (up to ten minutes waiting for the reply to the data), and
// without a bound its tasks would soon fill every slot and stop the other
// regions' email, and the sequences, until it answered.
//
// So a region's send tasks hold at most the ceiling: all the slots but a
// quarter (at least one), which stay for the others. And once one of its
// tasks has run longer than stuckAfter, the region is confined to its
// share: the slots divided among the regions served and the plain queues,
// rounded up. A task beyond its region's bound is handed back at once, to
// be tried again in a second or, for a confined region, a few seconds (not
// an attempt, not a failure), and its slot goes to the others. The
// confinement ends when no task of the region has run that long.
type regionSlots struct {
	ceiling    int
	share      int
	stuckAfter time.Duration
	now        func() time.Time
	logf       func(msg string, args ...any)
	bounded    func(region, bound string) // told of each task handed back; may be nil

	mu       sync.Mutex
	running  map[string]map[*slot]struct{}
	confined map[string]bool
}

// slot is one running send task of a region.
type slot struct{ start time.Time }

// regionStuckAfter is how long a send task must run before its region is
// confined: longer than a healthy batch takes, and than the relay's
// per-step timeout (mailer's default 30 s) after which a healthy relay has
// either answered or failed.
const regionStuckAfter = 45 * time.Second

// regionFullRetry and regionStuckRetry are how soon a task handed back by
// a region at its ceiling, or by a confined region, is tried again, before
// a jitter of as much again.
const (
	regionFullRetry  = time.Second
	regionStuckRetry = 5 * time.Second
)

func newRegionSlots(slots, regions int, logf func(string, ...any)) *regionSlots {
	ceiling := max(1, slots-max(1, slots/4))
	return &regionSlots{
		ceiling:    ceiling,
		share:      min(ceiling, max(1, (slots+regions)/(regions+1))), // ceil(slots / (regions + the plain queues))
		stuckAfter: regionStuckAfter,
		now:        time.Now, //nolint:forbidigo // how long a task has run: a monotonic measure, not a date
		logf:       logf,
		running:    map[string]map[*slot]struct{}{},
		confined:   map[string]bool{},
	}
}

// take gives a task of region a slot and returns its release, or returns
// an error (a *delivery.ThrottledError, so no failure) when the region
// holds its bound already.
func (r *regionSlots) take(region string) (release func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	tasks := r.running[region]
	var oldest time.Duration
	for s := range tasks {
		oldest = max(oldest, now.Sub(s.start))
	}
	stuck := oldest >= r.stuckAfter
	if stuck != r.confined[region] {
		r.confined[region] = stuck
		if stuck {
			r.logf("region's sends are slow: its tasks are kept to their share of the slots", "region", region,
				"running", len(tasks), "oldest", oldest.Round(time.Second), "share", r.share)
		} else {
			r.logf("region's sends go well again: its tasks may take up to the ceiling", "region", region)
		}
	}
	limit, retry, bound, why := r.ceiling, regionFullRetry, "ceiling", "its ceiling"
	if stuck {
		limit, retry, bound, why = r.share, regionStuckRetry, "share", "its share while its sends are slow"
	}
	if len(tasks) >= limit {
		if r.bounded != nil {
			r.bounded(region, bound)
		}
		delay := retry + rand.N(retry)
		return nil, fmt.Errorf("region %s: %d send tasks running (%s), the oldest for %s: %w", region, len(tasks), why,
			oldest.Round(time.Second), &delivery.ThrottledError{Delay: delay})
	}
	if tasks == nil {
		tasks = map[*slot]struct{}{}
		r.running[region] = tasks
	}
	s := &slot{start: now}
	tasks[s] = struct{}{}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(tasks, s)
	}, nil
}
