package delivery

import (
	"context"
	"sync"
	"time"
)

// lease is a batch's local view of its claim: until when this process may
// start a send, and which rows it has lost or seen cancelled.
//
// The database measures the lease from the moment it runs the claim or
// renewal; the local side measures it from the moment before the statement
// was sent, which is earlier, so the local lease always ends first and a
// row is never sent by this process after another could have taken it over.
type lease struct {
	length time.Duration

	mu         sync.Mutex
	validUntil time.Time
	lost       map[int64]bool
	cancelled  map[int64]bool
	done       map[int64]bool
}

func newLease(start time.Time, length time.Duration) *lease {
	return &lease{length: length, validUntil: start.Add(length),
		lost: map[int64]bool{}, cancelled: map[int64]bool{}, done: map[int64]bool{}}
}

// leaseState is what the lease says of one row, just before its send.
type leaseState int

const (
	leaseHeld      leaseState = iota
	leaseLost                 // another attempt has the row, or it is gone: do nothing more with it
	leaseCancelled            // an unsubscribe or erasure reached the row: skip it
	leaseLapsing              // the lease could not be renewed in time: hand the row back
)

// minLeft is how much of the lease must remain for a send to start: a send
// takes milliseconds, but one that hangs must still end (or be renewed for)
// before another worker could take the row over.
func (l *lease) minLeft() time.Duration { return l.length / 3 }

func (l *lease) state(id int64, now time.Time) leaseState {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.lost[id]:
		return leaseLost
	case l.cancelled[id]:
		return leaseCancelled
	case l.validUntil.Sub(now) < l.minLeft():
		return leaseLapsing
	}
	return leaseHeld
}

// renewedAt is when the claim or renewal the lease runs on was sent.
func (l *lease) renewedAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.validUntil.Add(-l.length)
}

// renewed records a renewal that started at start and found held among asked.
func (l *lease) renewed(start time.Time, asked, held []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.validUntil = start.Add(l.length)
	still := make(map[int64]bool, len(held))
	for _, id := range held {
		still[id] = true
	}
	for _, id := range asked {
		if !still[id] && !l.done[id] {
			l.lost[id] = true
		}
	}
}

// checked records what a check found.
func (l *lease) checked(lost, cancelled []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range lost {
		if !l.done[id] {
			l.lost[id] = true
		}
	}
	for _, id := range cancelled {
		l.cancelled[id] = true
	}
}

// finished marks a row whose send is over: it needs no more renewing.
func (l *lease) finished(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[id] = true
}

// open lists the rows of ids still being worked on.
func (l *lease) open(ids []int64) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !l.done[id] && !l.lost[id] {
			out = append(out, id)
		}
	}
	return out
}

// renewAfterPreparing renews the claim on ids before the first send when
// preparing the batch (loading, rendering) took longer than a renewal
// period. Without it, a batch that took most of its lease to prepare on a
// loaded machine would hand every row back: the watcher's first renewal
// comes a period after the sends begin, and by then each send has found too
// little of the lease left to start. A failed renewal changes nothing: the
// sends then judge the lease as it stands.
func (b *batch) renewAfterPreparing(ctx context.Context, ids []int64) {
	d := b.d
	now := d.cfg.Clock.Now()
	if ctx.Err() != nil || now.Sub(b.lease.renewedAt()) < d.cfg.Lease/6 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, d.cfg.Lease/3)
	defer cancel()
	held, err := d.cfg.Store.RenewClaims(qctx, b.claim, ids, d.cfg.Lease)
	if err != nil {
		d.cfg.Logger.Warn("renew claim after preparing", "claim", b.claim, "err", err)
		return
	}
	b.lease.renewed(now, ids, held)
}

// watch renews the lease every Lease/6 and, in between, looks every
// CheckEvery for rows that were cancelled or taken over, until the returned
// stop is called. It outlives ctx: while the batch's last sends wait for
// their replies after a shutdown began, the rows must stay held.
func (b *batch) watch(ctx context.Context, ids []int64) (stop func()) {
	d := b.d
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	renewEvery := d.cfg.Lease / 6
	go func() {
		defer close(done)
		tick := time.NewTicker(min(d.cfg.CheckEvery, renewEvery))
		defer tick.Stop()
		lastRenewal := b.lease.renewedAt()
		failing := false // log the first failure of an outage and the recovery, not each one
		report := func(what string, err error) {
			switch {
			case err != nil && !failing && wctx.Err() == nil:
				d.cfg.Logger.Warn(what, "claim", b.claim, "err", err)
			case err == nil && failing:
				d.cfg.Logger.Info(what+": reached the database again", "claim", b.claim)
			}
			failing = err != nil
		}
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
			open := b.lease.open(ids)
			if len(open) == 0 {
				continue
			}
			now := d.cfg.Clock.Now()
			qctx, qcancel := context.WithTimeout(wctx, d.cfg.Lease/3)
			if now.Sub(lastRenewal) >= renewEvery {
				held, err := d.cfg.Store.RenewClaims(qctx, b.claim, open, d.cfg.Lease)
				if err == nil {
					b.lease.renewed(now, open, held)
					lastRenewal = now
				}
				report("renew claim", err)
			} else {
				lost, cancelled, err := d.cfg.Store.CheckClaims(qctx, b.claim, open)
				if err == nil {
					b.lease.checked(lost, cancelled)
				}
				report("check claim", err)
			}
			qcancel()
		}
	}()
	return func() { cancel(); <-done }
}
