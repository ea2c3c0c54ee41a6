package delivery

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/nurture-email/nurture"
)

// errLeaseLapsing says a row was handed back because the claim could not be
// renewed in time (the database was unreachable).
var errLeaseLapsing = errors.New("claim could not be renewed in time")

// sendOne sends w's email unless something says it must not go now, and
// settles w with what happened. It leaves w unsettled only when the row is
// no longer this claim's: then there is nothing this attempt may record.
func (b *batch) sendOne(ctx context.Context, w *item) {
	d := b.d
	if ctx.Err() != nil {
		w.release("interrupted before sending", ErrInterrupted)
		return
	}
	if err := d.writer.admit(ctx); err != nil {
		w.release("interrupted before sending", ErrInterrupted)
		return
	}
	if delay, err := d.take(ctx); err != nil {
		w.release("interrupted before sending", errors.Join(ErrInterrupted, err))
		return
	} else if delay > 0 {
		w.release("relay rate reached", &ThrottledError{Delay: max(delay, time.Second)})
		return
	}
	// The last look, right before the relay: nothing that can wait
	// (the rate, the writer) comes after it.
	switch b.lease.state(w.msg.ID, d.cfg.Clock.Now()) {
	case leaseLost:
		return
	case leaseCancelled:
		w.skip("cancelled while in flight: unsubscribed or erased")
		return
	case leaseLapsing:
		w.release("claim could not be renewed in time", errLeaseLapsing)
		return
	}

	err := d.cfg.Sender.Send(ctx, w.email)
	switch kind := classify(err); {
	case kind == sent:
		w.settle(nurture.StatusSent, "", nil)
	case kind == throttled && d.cfg.Throttle != nil:
		if serr := d.cfg.Throttle.SlowDown(context.WithoutCancel(ctx)); serr != nil {
			d.cfg.Logger.Warn("lower the relay rate", "err", serr)
		}
		w.release("relay asked to slow down: "+err.Error(), &ThrottledError{Delay: 30 * time.Second})
	case kind == refusedRecipient:
		w.settle(nurture.StatusBounced, err.Error(), err)
		if serr := d.cfg.Store.Suppress(context.WithoutCancel(ctx), w.email.To.Address, nurture.SuppressHardBounce, err.Error()); serr != nil {
			d.cfg.Logger.Error("suppress after hard bounce", append(w.msg.LogAttrs(), "err", serr)...)
		}
	case kind == broken:
		w.settle(nurture.StatusFailed, err.Error(), err)
	case ctx.Err() != nil && kind != unknown:
		// Stopped while talking to the relay, before the end of the data
		// (the Sender waits for the reply once the data is complete): the
		// relay does not have the message, so a later attempt sends it
		// once.
		w.release("interrupted while sending", errors.Join(ErrInterrupted, err))
	case b.lastAttempt:
		w.settle(nurture.StatusFailed, "gave up: "+err.Error(), err)
	default:
		w.settle(nurture.StatusDeferred, err.Error(), err)
	}
}

// sendKind is what a Sender's answer means for the message.
type sendKind int

const (
	sent             sendKind = iota
	temporary                 // try again later
	throttled                 // the relay asks us to slow down
	refusedRecipient          // the relay refused the recipient for good: bounce and suppress
	broken                    // the message cannot be built as it is; the recipient is not at fault
	unknown                   // the relay may have the message: its reply to the end of the data was lost
)

// classify reads a Sender's error through the mailer's kinds: no reply code
// reaches this package. A refusal of our own sender or message
// (nurture.DeliveryRejected) is retried like a temporary failure, in case
// it gets fixed, and never suppresses the address.
func classify(err error) sendKind {
	switch {
	case err == nil:
		return sent
	case nurture.ErrorCodeOf(err) == nurture.CodeInvalid:
		return broken
	}
	switch nurture.DeliveryKindOf(err) {
	case nurture.DeliveryThrottled:
		return throttled
	case nurture.DeliveryPermanent:
		return refusedRecipient
	case nurture.DeliveryUnknown:
		return unknown
	}
	return temporary
}

// take waits for the relay's rate: a wait of up to a second is spent here,
// a longer one is returned so that the task makes room for others. While
// the shared rate cannot be reached, the process keeps to LocalRate on its
// own.
func (d *Deliverer) take(ctx context.Context) (time.Duration, error) {
	// sharedDownUntil is a real second between attempts at an unreachable
	// Redis, whatever the engine's clock says.
	if d.cfg.Throttle == nil {
		return 0, d.limiter.wait(ctx)
	}
	if time.Now().UnixNano() < d.sharedDownUntil.Load() { //nolint:forbidigo // see above
		d.observeThrottle(ThrottleUnavailable)
		return 0, d.limiter.wait(ctx)
	}
	waited := false
	for {
		ok, wait, err := d.cfg.Throttle.Take(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			// Log once per outage, not once per email.
			if d.sharedDownUntil.Swap(time.Now().Add(time.Second).UnixNano()) == 0 { //nolint:forbidigo // a real second, as above
				d.cfg.Logger.Warn("relay rate limiter unavailable; keeping to the local rate", "err", err)
			}
			d.observeThrottle(ThrottleUnavailable)
			return 0, d.limiter.wait(ctx)
		}
		if d.sharedDownUntil.Load() != 0 {
			d.sharedDownUntil.Store(0)
			d.cfg.Logger.Info("relay rate limiter is back")
		}
		if ok {
			if waited {
				d.observeThrottle(ThrottleWaited)
			} else {
				d.observeThrottle(ThrottlePassed)
			}
			return 0, nil
		}
		if wait > time.Second {
			d.observeThrottle(ThrottleDeferred)
			return wait, nil
		}
		waited = true
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// localLimiter is this process's own sending rate, for when the shared one
// is away.
type localLimiter struct{ lim *rate.Limiter }

func newLocalLimiter(perSecond float64) *localLimiter {
	return &localLimiter{lim: rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))}
}

// wait blocks until one more send fits the rate. A nil limiter never waits.
func (l *localLimiter) wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.lim.Wait(ctx)
}

// observeThrottle tells the Observer, if any, how an ask of the relay's
// rate went.
func (d *Deliverer) observeThrottle(outcome string) {
	if d.cfg.Observer != nil {
		d.cfg.Observer.RelayThrottle(outcome)
	}
}
