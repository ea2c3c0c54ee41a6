package api

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
)

// HitStore stores opens and clicks, many at a time.
type HitStore interface {
	RecordHits(ctx context.Context, hits []nurture.Hit) error
}

// hitRecorder writes opens and clicks by group commit: requests add their
// hit to the batch that is filling and wait until that batch is committed,
// so a burst of thousands of hits costs a few statements. There is one
// writer, and it takes the next batch as soon as the previous commit
// returns: while a commit is in flight the next batch fills, so the batch
// size follows the load and no request waits for a timer.
//
// Waiting costs a request no channel or timer of its own: the hits of a
// batch share one channel, closed once the batch is committed.
//
// When the database is unreachable (a commit fails, or takes longer than
// the wait), the writer keeps retrying its batch while new hits wait in a
// bounded queue, and requests stop waiting: they answer at once (a pixel
// must never break an email) until a commit succeeds again. Once the queue
// is full further hits are dropped and counted.
type hitRecorder struct {
	store    HitStore
	log      *slog.Logger
	capacity int           // hits that may wait for the writer
	maxBatch int           // hits in one statement
	wait     time.Duration // how long a request waits for its commit

	mu      sync.Mutex
	pending []*hitBatch // waiting for the writer, oldest first; new hits join the last
	queued  int         // hits in pending
	current *hitBatch   // the batch the writer is committing
	idle    bool        // the writer waits for wake
	away    bool        // the database is unreachable: requests do not wait
	closed  bool
	spare   [][]nurture.Hit // hit slices of committed batches, for reuse
	wake    chan struct{}

	stop    chan struct{}
	stopped sync.WaitGroup

	recorded atomic.Int64 // hits committed
	dropped  atomic.Int64 // hits refused because the queue was full, or given up at shutdown
}

// hitBatch is the hits of one statement and one commit.
type hitBatch struct {
	hits  []nurture.Hit
	done  chan struct{} // closed when state leaves batchWaiting
	state atomic.Int32
}

const (
	batchWaiting   int32 = iota
	batchCommitted       // the hits are in the database
	batchReleased        // the waiters were let go before any commit
)

// finish moves the batch to state, and lets its waiters go, unless it was
// finished before.
func (b *hitBatch) finish(state int32) {
	if b.state.CompareAndSwap(batchWaiting, state) {
		close(b.done)
	}
}

func newHitRecorder(store HitStore, log *slog.Logger, capacity int, wait time.Duration) *hitRecorder {
	r := &hitRecorder{store: store, log: log, capacity: capacity, maxBatch: 1000, wait: wait,
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
	r.stopped.Add(1)
	go r.write()
	return r
}

// record queues h and waits, at most about r.wait, for it to be committed.
// It reports whether it was.
func (r *hitRecorder) record(h nurture.Hit) bool {
	r.mu.Lock()
	if r.queued >= r.capacity || r.closed {
		r.mu.Unlock()
		r.dropped.Add(1)
		return false
	}
	var b *hitBatch
	if n := len(r.pending); n > 0 && len(r.pending[n-1].hits) < r.maxBatch {
		b = r.pending[n-1]
	} else {
		b = r.newBatch()
		r.pending = append(r.pending, b)
	}
	b.hits = append(b.hits, h)
	r.queued++
	away, wake := r.away, r.idle
	r.idle = false
	r.mu.Unlock()
	if wake {
		r.wake <- struct{}{} // never blocks: only the request that saw the writer idle sends
	}
	if away {
		return false
	}
	<-b.done
	return b.state.Load() == batchCommitted
}

// newBatch starts a batch, reusing a committed batch's slice. r.mu is held.
func (r *hitRecorder) newBatch() *hitBatch {
	b := &hitBatch{done: make(chan struct{})}
	if n := len(r.spare); n > 0 {
		b.hits, r.spare = r.spare[n-1], r.spare[:n-1]
	} else {
		b.hits = make([]nurture.Hit, 0, 64)
	}
	return b
}

// queuedHits is how many hits wait for the writer.
func (r *hitRecorder) queuedHits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queued
}

func (r *hitRecorder) write() {
	defer r.stopped.Done()
	for {
		b := r.next()
		if b == nil {
			return
		}
		// Requests never wait longer than r.wait for a commit that hangs.
		slow := time.AfterFunc(r.wait, r.stopWaiting)
		ok := r.commit(b.hits)
		slow.Stop()
		n := len(b.hits)
		if ok {
			r.recorded.Add(int64(n))
			b.finish(batchCommitted)
		} else {
			b.finish(batchReleased)
		}
		r.mu.Lock()
		if ok {
			r.away = false
		}
		r.current = nil
		if cap(b.hits) <= 4*r.maxBatch && len(r.spare) < 4 {
			clear(b.hits) // let go of the strings
			r.spare = append(r.spare, b.hits[:0])
		}
		b.hits = nil
		r.mu.Unlock()
	}
}

// next waits for the oldest pending batch and takes it; it returns nil
// once the recorder is closed and nothing is left.
func (r *hitRecorder) next() *hitBatch {
	for {
		r.mu.Lock()
		if len(r.pending) > 0 {
			b := r.pending[0]
			r.pending = slices.Delete(r.pending, 0, 1)
			r.queued -= len(b.hits)
			r.current = b
			r.mu.Unlock()
			return b
		}
		r.idle = true
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-r.stop:
			r.mu.Lock()
			r.idle = false
			empty := len(r.pending) == 0
			r.mu.Unlock()
			if empty {
				return nil
			}
		}
	}
}

// stopWaiting lets every waiting request go, and makes new ones answer at
// once until a commit succeeds: the database is away.
func (r *hitRecorder) stopWaiting() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.away = true
	for _, b := range r.pending {
		b.finish(batchReleased)
	}
	if r.current != nil {
		r.current.finish(batchReleased)
	}
}

// commit writes hits, retrying with back-off while the database is away;
// at shutdown it gives up after a few tries. It reports whether the hits
// were written.
func (r *hitRecorder) commit(hits []nurture.Hit) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.store.RecordHits(ctx, hits)
		cancel()
		if err == nil {
			return true
		}
		if attempt == 1 {
			r.stopWaiting()
		}
		r.log.Warn("recording opens and clicks; will retry", "hits", len(hits), "attempt", attempt, "err", err)
		select {
		case <-r.stop:
			if attempt >= 3 {
				r.dropped.Add(int64(len(hits)))
				r.log.Error("gave up recording opens and clicks at shutdown", "hits", len(hits))
				return false
			}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// close stops taking hits and writes the queued ones.
func (r *hitRecorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
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
	// The distinct other links, without a map per click: a message's links
	// are few (they come from signed tokens), so a list is quicker.
	others := make([]int, 0, 16)
	kept := r.clicks[msg][:0]
	for _, c := range r.clicks[msg] {
		if at.Sub(c.at) <= time.Second {
			kept = append(kept, c)
			if c.link != link && !slices.Contains(others, c.link) {
				others = append(others, c.link)
			}
		}
	}
	r.clicks[msg] = append(kept, clickAt{link: link, at: at})
	return len(others)
}
