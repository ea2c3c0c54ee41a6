package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// The periodic jobs' names in the lease table.
const (
	JobReconciler = "reconciler"
	JobSequences  = "sequences"
	JobEnrichment = "enrichment"
	JobCampaigns  = "campaigns"
	JobRetention  = "retention"
	JobOverview   = "overview"
)

// LeaseStore keeps the periodic jobs' leases (package postgres). Each
// method is one statement by the database's clock.
type LeaseStore interface {
	// TakeJobLease takes or renews holder's lease of job for ttl and says
	// whether a pass is due (the last began period ago or more), counting
	// it when it is.
	TakeJobLease(ctx context.Context, job, holder string, ttl, period time.Duration) (nurture.JobLease, error)
	// RenewJobLease extends a lease holder has; false when it lost it.
	RenewJobLease(ctx context.Context, job, holder string, ttl time.Duration) (bool, error)
	// ReleaseJobLease gives a lease up.
	ReleaseJobLease(ctx context.Context, job, holder string) error
}

// LeaseObserver hears what this process's periodic jobs do
// (internal/metrics implements it). Its methods must be quick.
type LeaseObserver interface {
	// JobPass counts a pass of job run by this process.
	JobPass(job string)
	// JobLeaseHeld says whether this process holds job's lease.
	JobLeaseHeld(job string, held bool)
}

// Leases makes each periodic job of this package (the reconciler, the
// pollers, retention, the overview counts) run in one process at a time
// among all those that share the database: a job's loop asks for its
// lease every tick, and only the holder runs the pass, once a period by
// the database's clock whoever ran the last one. The holder renews its
// lease while a pass runs and stops the pass (cancels its context) before
// the lease could lapse, so two holders' passes never overlap by more
// than the time a pass takes to notice its context ended. A holder that
// stops releases the lease; one that dies loses it once it lapses (TTL),
// and another process takes it over at its next tick.
//
// A job whose Leases is nil runs in every process, every period.
type Leases struct {
	Store LeaseStore
	// Holder names this process in the lease table; default
	// host:pid:random. Two processes must never share one.
	Holder string
	// TTL is how long a lease lasts unless renewed, and so how long a
	// dead holder's job waits; default 3 periods, at least 10 s and at
	// most a minute.
	TTL      time.Duration
	Observer LeaseObserver // nil hears nothing
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()

	once sync.Once // the defaults, set once for every job sharing these leases
}

// NewHolder returns a name for this process in the lease table: its host,
// its pid and a random part, so that a restarted process is a new holder.
func NewHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (l *Leases) defaults() { l.once.Do(l.setDefaults) }

func (l *Leases) setDefaults() {
	if l.Holder == "" {
		l.Holder = NewHolder()
	}
	if l.Clock == nil {
		l.Clock = nurture.SystemClock{}
	}
	if l.Logger == nil {
		l.Logger = slog.Default()
	}
}

// ttl is how long a job of this period holds its lease unrenewed.
func (l *Leases) ttl(period time.Duration) time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return min(max(3*period, 10*time.Second), time.Minute)
}

// slack lets a tick that comes a little early by the database's clock
// still find its pass due: without it a pass could wait a second period.
func slack(period time.Duration) time.Duration {
	return min(period/10, 100*time.Millisecond)
}

// run is poll under the job's lease: every tick (the period, or a third
// of the lease when that is shorter, so the holder renews in time) it
// takes or renews the lease, and runs pass when the holder's pass is due.
// It releases the lease when ctx ends.
func (l *Leases) run(ctx context.Context, job string, period time.Duration, what string, pass func(context.Context) error) {
	l.defaults()
	ttl := l.ttl(period)
	t := time.NewTicker(min(period, ttl/3))
	defer t.Stop()
	held := false
	defer func() {
		if held {
			l.release(ctx, job)
		}
	}()
	for {
		sent := l.Clock.Now()
		lease, err := l.Store.TakeJobLease(ctx, job, l.Holder, ttl, period-slack(period))
		switch {
		case err != nil:
			if ctx.Err() == nil {
				l.Logger.Warn("job lease", "job", job, "err", err)
			}
		default:
			l.changed(job, held, lease)
			held = lease.Held
			if lease.PassDue {
				l.pass(ctx, job, ttl, sent.Add(ttl), what, pass)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// changed logs and reports a lease taken or lost.
func (l *Leases) changed(job string, held bool, lease nurture.JobLease) {
	switch {
	case lease.TookOver:
		l.Logger.Info("took over the job's lease: this process runs it now", "job", job, "holder", l.Holder)
	case held && !lease.Held:
		l.Logger.Info("lost the job's lease: another process runs it now", "job", job, "holder", l.Holder)
	}
	if l.Observer != nil && (held != lease.Held || lease.TookOver) {
		l.Observer.JobLeaseHeld(job, lease.Held)
	}
}

// pass runs one pass while renewing the lease every third of ttl; it
// cancels the pass when a renewal says the lease is lost, or shortly
// before the lease would lapse (until, by the local clock, from when the
// last renewal was sent) if renewals fail.
func (l *Leases) pass(ctx context.Context, job string, ttl time.Duration, until time.Time, what string, pass func(context.Context) error) {
	if l.Observer != nil {
		l.Observer.JobPass(job)
	}
	passCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	margin := ttl / 10
	lapse := time.AfterFunc(until.Sub(l.Clock.Now())-margin, cancel)
	defer lapse.Stop()
	done := make(chan struct{})
	defer close(done)
	go l.keep(passCtx, job, ttl, margin, lapse, cancel, done)
	err := pass(passCtx)
	switch {
	case ctx.Err() != nil:
	case passCtx.Err() != nil:
		l.Logger.Warn(what+" stopped: the job's lease could not be kept", "job", job, "err", err)
	case err != nil:
		l.Logger.Warn(what, "err", err)
	}
}

// keep renews the lease every third of ttl until done, moving the lapse
// timer on after each renewal and cancelling the pass when it is lost.
func (l *Leases) keep(ctx context.Context, job string, ttl, margin time.Duration, lapse *time.Timer, cancel context.CancelFunc, done <-chan struct{}) {
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := l.Clock.Now()
		ok, err := l.Store.RenewJobLease(ctx, job, l.Holder, ttl)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				l.Logger.Warn("renew job lease", "job", job, "err", err)
			}
		case !ok:
			l.Logger.Warn("lost the job's lease during a pass: stopping it", "job", job, "holder", l.Holder)
			cancel()
			return
		default:
			lapse.Reset(sent.Add(ttl).Sub(l.Clock.Now()) - margin)
		}
	}
}

// release gives the lease up when the job stops, so that another process
// takes it over at its next tick rather than after the lease lapses.
func (l *Leases) release(ctx context.Context, job string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := l.Store.ReleaseJobLease(ctx, job, l.Holder); err != nil {
		l.Logger.Warn("release job lease", "job", job, "err", err)
		return
	}
	if l.Observer != nil {
		l.Observer.JobLeaseHeld(job, false)
	}
}
