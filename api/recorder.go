package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
)

// HitStore stores opens and clicks, many at a time.
type HitStore interface {
	RecordHits(ctx context.Context, hits []nurture.Hit) error
}

// hitRecorder writes opens and clicks by group commit: requests hand their
// hit to a writer and wait until the batch that holds it is committed, so a
// burst of thousands of hits costs a few statements. When the database is
// unreachable the writer keeps retrying its batch while new hits wait in a
// bounded queue; requests stop waiting after a while and answer anyway
// (a pixel must never break an email), and once the queue is full further
// hits are dropped and counted.
type hitRecorder struct {
	store    HitStore
	log      *slog.Logger
	queue    chan *pendingHit
	maxBatch int
	stop     chan struct{}
	stopped  sync.WaitGroup

	recorded atomic.Int64 // hits committed
	dropped  atomic.Int64 // hits refused because the queue was full
}

type pendingHit struct {
	hit       nurture.Hit
	committed chan struct{}
}

func newHitRecorder(store HitStore, log *slog.Logger, capacity, writers int) *hitRecorder {
	r := &hitRecorder{store: store, log: log, queue: make(chan *pendingHit, capacity), maxBatch: 1000, stop: make(chan struct{})}
	for range writers {
		r.stopped.Add(1)
		go r.write()
	}
	return r
}

// record queues h and waits up to wait for it to be committed. It reports
// whether it was.
func (r *hitRecorder) record(ctx context.Context, h nurture.Hit, wait time.Duration) bool {
	p := &pendingHit{hit: h, committed: make(chan struct{})}
	select {
	case r.queue <- p:
	default:
		r.dropped.Add(1)
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.committed:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (r *hitRecorder) write() {
	defer r.stopped.Done()
	batch := make([]*pendingHit, 0, r.maxBatch)
	hits := make([]nurture.Hit, 0, r.maxBatch)
	for {
		var first *pendingHit
		select {
		case first = <-r.queue:
		case <-r.stop:
			// Drain what is left, once, then go.
			select {
			case first = <-r.queue:
			default:
				return
			}
		}
		batch, hits = append(batch[:0], first), append(hits[:0], first.hit)
	fill:
		for len(batch) < r.maxBatch {
			select {
			case p := <-r.queue:
				batch, hits = append(batch, p), append(hits, p.hit)
			default:
				break fill
			}
		}
		r.commit(hits)
		r.recorded.Add(int64(len(batch)))
		for _, p := range batch {
			close(p.committed)
		}
	}
}

// commit writes hits, retrying with back-off while the database is away;
// at shutdown it gives up after a few tries.
func (r *hitRecorder) commit(hits []nurture.Hit) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.store.RecordHits(ctx, hits)
		cancel()
		if err == nil {
			return
		}
		r.log.Warn("recording opens and clicks; will retry", "hits", len(hits), "attempt", attempt, "err", err)
		select {
		case <-r.stop:
			if attempt >= 3 {
				r.dropped.Add(int64(len(hits)))
				r.log.Error("gave up recording opens and clicks at shutdown", "hits", len(hits))
				return
			}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// close stops taking hits and writes the queued ones.
func (r *hitRecorder) close() {
	close(r.stop)
	r.stopped.Wait()
}

// recentClicks remembers, per message, which links were clicked in the
// last second, to tell a scanner that follows every link at once from a
// person. It is per process: a scanner's requests spread over several API
// processes are seen in part.
type recentClicks struct {
	mu     sync.Mutex
	clicks map[int64][]clickAt
	pruned time.Time
}

type clickAt struct {
	link int
	at   time.Time
}

// add records a click and returns how many other links of the message were
// clicked in the second before it.
func (r *recentClicks) add(msg int64, link int, at time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clicks == nil {
		r.clicks = map[int64][]clickAt{}
	}
	if at.Sub(r.pruned) > 5*time.Second {
		for id, cs := range r.clicks {
			if at.Sub(cs[len(cs)-1].at) > time.Second {
				delete(r.clicks, id)
			}
		}
		r.pruned = at
	}
	others := map[int]bool{}
	kept := r.clicks[msg][:0]
	for _, c := range r.clicks[msg] {
		if at.Sub(c.at) <= time.Second {
			kept = append(kept, c)
			if c.link != link {
				others[c.link] = true
			}
		}
	}
	r.clicks[msg] = append(kept, clickAt{link: link, at: at})
	return len(others)
}
