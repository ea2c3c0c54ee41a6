package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// countingRetention is the real store, counting the retention passes that
// reach it (each pass deletes events once).
type countingRetention struct {
	worker.RetentionStore
	passes atomic.Int64
}

func (c *countingRetention) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	c.passes.Add(1)
	return c.RetentionStore.DeleteEventsBefore(ctx, before, limit)
}

// leaseObserver records what a process's leases report.
type leaseObserver struct {
	mu     sync.Mutex
	held   map[string]bool
	passes map[string]int
}

func (o *leaseObserver) JobPass(job string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.passes[job]++
}

func (o *leaseObserver) JobLeaseHeld(job string, held bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.held[job] = held
}

func (o *leaseObserver) state(job string) (bool, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[job], o.passes[job]
}

// process is one worker process's retention job under its lease, on a
// store of its own (through proxy, when set, so the test can cut it off).
type process struct {
	store    *countingRetention
	observer *leaseObserver
	stop     context.CancelFunc
	done     chan struct{}
}

func startProcess(t *testing.T, store *postgres.DB, holder string, ttl time.Duration) *process {
	t.Helper()
	p := &process{store: &countingRetention{RetentionStore: store},
		observer: &leaseObserver{held: map[string]bool{}, passes: map[string]int{}}, done: make(chan struct{})}
	job := &worker.RetentionJob{Store: p.store, Events: 365 * 24 * time.Hour, Interval: 20 * time.Millisecond,
		Leases: &worker.Leases{Store: store, Holder: holder, TTL: ttl, Observer: p.observer}}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = func() { cancel(); <-p.done }
	go func() { defer close(p.done); _ = job.Run(ctx) }()
	t.Cleanup(p.stop)
	return p
}

func (p *process) passes() int64 { return p.store.passes.Load() }

// Two processes run the same periodic job against one database: only the
// holder of its lease runs passes. When it stops it releases the lease
// and the other takes over at once (well before the minute-long lease
// could lapse); the passes were counted and the lease reported by each
// process's observer.
func TestPeriodicJobRunsInOneProcessAndHandsOverOnStop(t *testing.T) {
	t.Parallel()
	store := postgres.New(testkit.DB(t))
	a := startProcess(t, store, "a", time.Minute)
	require.Eventually(t, func() bool { return a.passes() >= 3 }, 20*time.Second, 10*time.Millisecond)
	b := startProcess(t, store, "b", time.Minute)
	before := a.passes()
	require.Eventually(t, func() bool { return a.passes() >= before+10 }, 20*time.Second, 10*time.Millisecond)
	require.Zero(t, b.passes(), "only the lease's holder runs the job")
	held, passes := a.observer.state(worker.JobRetention)
	require.True(t, held)
	require.Positive(t, passes)
	held, _ = b.observer.state(worker.JobRetention)
	require.False(t, held)

	a.stop()
	stopped := a.passes()
	require.Eventually(t, func() bool { return b.passes() >= 3 }, 20*time.Second, 10*time.Millisecond,
		"the stopped holder released its lease: the other takes over long before it lapses")
	require.Equal(t, stopped, a.passes())
	held, _ = a.observer.state(worker.JobRetention)
	require.False(t, held, "the stopped process reports it holds the lease no more")
	held, _ = b.observer.state(worker.JobRetention)
	require.True(t, held)
	runs := leaseRuns(t, store, worker.JobRetention)
	require.GreaterOrEqual(t, runs, stopped+b.passes()-1, "the lease table counts every pass")
}

// A holder cut off from the database (as if it died) cannot renew: its
// lease lapses, the other process takes the job over, and the first one,
// back on the network, finds the lease taken and runs no more passes.
func TestPeriodicJobTakenOverWhenItsHolderDies(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t)
	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	a := startProcess(t, postgres.New(testkit.DBVia(t, pool, proxy.Addr)), "a", time.Second)
	require.Eventually(t, func() bool { return a.passes() >= 3 }, 20*time.Second, 10*time.Millisecond)
	b := startProcess(t, postgres.New(pool), "b", time.Second)

	proxy.Cut()
	require.Eventually(t, func() bool { return b.passes() >= 3 }, 20*time.Second, 10*time.Millisecond,
		"the lapsed lease is taken over")
	cut := a.passes()
	proxy.Restore()
	later := b.passes()
	require.Eventually(t, func() bool { return b.passes() >= later+20 }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, cut, a.passes(), "the former holder, back, runs no pass while the other holds the lease")
}

func leaseRuns(t *testing.T, store *postgres.DB, job string) int64 {
	t.Helper()
	leases, err := store.JobLeases(context.Background())
	require.NoError(t, err)
	for _, l := range leases {
		if l.Job == job {
			return l.Runs
		}
	}
	t.Fatalf("no lease of %s", job)
	return 0
}
