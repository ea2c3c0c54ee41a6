package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// OutcomeConfig tunes the group commit of outcomes. Every batch of the
// process hands its outcomes to one writer, which records them in groups.
// After a crash, the emails whose outcomes were not yet written may be sent
// again: at most MaxPending, plus the sends that were in flight (they were
// admitted before the limit was reached). MaxPending is therefore the
// figure that bounds the duplicates of a crash; MaxBatch and MaxDelay trade
// statements per second against how soon an outcome is durable.
type OutcomeConfig struct {
	// MaxDelay is the longest an outcome waits for its group; default 20 ms.
	MaxDelay time.Duration
	// MaxBatch writes a group at once when it has this many; default 50,
	// half of MaxPending, so that one group fills while the other commits.
	MaxBatch int
	// MaxPending stops new sends while this many outcomes are not yet in
	// PostgreSQL: waiting for their group, or in the group being
	// committed. Default 100. Sends also stop while writing fails (the
	// database is away) and resume when a write succeeds.
	MaxPending int
}

func (c *OutcomeConfig) defaults() {
	if c.MaxDelay == 0 {
		c.MaxDelay = 20 * time.Millisecond
	}
	if c.MaxPending == 0 {
		c.MaxPending = 100
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = max(1, c.MaxPending/2)
	}
}

// outcomeWriter is the process-wide group commit of outcomes.
type outcomeWriter struct {
	store Store
	cfg   OutcomeConfig
	log   *slog.Logger

	mu      sync.Mutex
	pending []pendingOutcome
	writing int           // outcomes in the group being written
	since   time.Time     // when the oldest pending outcome arrived
	failing bool          // the last write failed
	changed chan struct{} // closed and replaced when pending shrinks or failing changes
	closing bool

	wake    chan struct{} // a first outcome arrived, or a group is full
	stop    chan struct{}
	stopped chan struct{}
	// closeCtx bounds the retries of the last writes once close began.
	closeCtx context.Context
}

type pendingOutcome struct {
	o  nurture.Outcome
	tr *tracker
}

func newOutcomeWriter(store Store, cfg OutcomeConfig, log *slog.Logger) *outcomeWriter {
	cfg.defaults()
	w := &outcomeWriter{store: store, cfg: cfg, log: log, changed: make(chan struct{}),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// tracker follows the outcomes of one batch until they are written.
type tracker struct{ wg sync.WaitGroup }

func (w *outcomeWriter) newTracker() *tracker { return &tracker{} }

// wait returns when every outcome handed over with tr has been written (or
// abandoned by a writer that was closed), or with ctx's error.
func (tr *tracker) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { tr.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submit queues o for writing.
func (w *outcomeWriter) submit(tr *tracker, o nurture.Outcome) {
	tr.wg.Add(1)
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.since = time.Now() //nolint:forbidigo // the group commit's delay is a real timer's, on the monotonic clock
	}
	w.pending = append(w.pending, pendingOutcome{o: o, tr: tr})
	n := len(w.pending)
	w.mu.Unlock()
	if n == 1 || n >= w.cfg.MaxBatch {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// errWriterClosed is returned by admit once the writer is closing.
var errWriterClosed = errors.New("outcome writer closed")

// admit waits until one more send may start: fewer than MaxPending outcomes
// are unwritten (waiting or being written) and the last write succeeded.
func (w *outcomeWriter) admit(ctx context.Context) error {
	for {
		w.mu.Lock()
		ok := !w.failing && len(w.pending)+w.writing < w.cfg.MaxPending
		closing, changed := w.closing, w.changed
		w.mu.Unlock()
		switch {
		case closing:
			return errWriterClosed
		case ok:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// signal wakes the senders waiting in admit. Call it with mu held.
func (w *outcomeWriter) signal() {
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *outcomeWriter) loop() {
	defer close(w.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		w.mu.Lock()
		n, since := len(w.pending), w.since
		w.mu.Unlock()
		switch {
		case n == 0:
			select {
			case <-w.wake:
				continue
			case <-w.stop:
				return
			}
		case n < w.cfg.MaxBatch:
			if wait := w.cfg.MaxDelay - time.Since(since); wait > 0 { //nolint:forbidigo // as in submit: a real timer's delay
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-w.wake:
					timer.Stop()
					continue // maybe full now
				case <-w.stop:
					timer.Stop()
				}
			}
		}
		w.writeGroup()
	}
}

// writeGroup writes what is pending, retrying until it succeeds or the
// writer is closed and its close deadline has passed.
func (w *outcomeWriter) writeGroup() {
	w.mu.Lock()
	group := w.pending
	w.pending = nil
	w.writing = len(group)
	w.mu.Unlock()
	if len(group) == 0 {
		return
	}
	outcomes := make([]nurture.Outcome, len(group))
	for i, p := range group {
		outcomes[i] = p.o
	}
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		recorded, err := w.store.RecordOutcomes(ctx, outcomes)
		cancel()
		if err == nil {
			if recorded < len(outcomes) {
				w.log.Warn("outcomes of claims taken over were not recorded", "outcomes", len(outcomes), "recorded", recorded)
			}
			w.finish(group, false)
			return
		}
		w.mu.Lock()
		first := !w.failing
		if first {
			w.failing = true
			w.signal()
		}
		closeCtx := w.closeCtx
		w.mu.Unlock()
		if first {
			w.log.Error("record outcomes; sending paused until it succeeds", "outcomes", len(outcomes), "err", err)
		}
		var giveUp <-chan struct{}
		if closeCtx != nil {
			giveUp = closeCtx.Done()
		}
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, 2*time.Second)
		case <-giveUp:
			w.log.Error("outcomes abandoned at shutdown: these messages stay claimed until their lease lapses, and may be sent again",
				"outcomes", len(outcomes))
			w.finish(group, true)
			return
		}
	}
}

// finish settles the trackers of a written (or abandoned) group and lets
// waiting senders go on.
func (w *outcomeWriter) finish(group []pendingOutcome, abandoned bool) {
	for _, p := range group {
		p.tr.wg.Done()
	}
	w.mu.Lock()
	w.writing = 0
	if !abandoned && w.failing {
		w.failing = false
		w.log.Info("outcomes recorded again: sending resumes")
	}
	w.signal()
	w.mu.Unlock()
}

// close writes what is pending, retrying until ctx ends, and stops the
// writer. Sends waiting in admit are refused from now on.
func (w *outcomeWriter) close(ctx context.Context) error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.stopped
		return nil
	}
	w.closing, w.closeCtx = true, ctx
	w.signal()
	w.mu.Unlock()
	close(w.stop)
	<-w.stopped
	w.mu.Lock()
	left := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(left) > 0 { // arrived while the last group was written
		w.mu.Lock()
		w.pending = left
		w.mu.Unlock()
		w.writeGroup()
	}
	return ctx.Err()
}
