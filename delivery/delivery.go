package delivery

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// Store is what delivery needs of the store. Every method works on a whole
// batch, so that sending many messages costs a few statements, not a few
// per message.
type Store interface {
	ClaimMessages(ctx context.Context, ids []int64, claim int64, lease time.Duration) (claimed, rest []nurture.Message, err error)
	RenewClaims(ctx context.Context, claim int64, ids []int64, lease time.Duration) (held []int64, err error)
	CheckClaims(ctx context.Context, claim int64, ids []int64) (lost, cancelled []int64, err error)
	RecordOutcomes(ctx context.Context, outcomes []nurture.Outcome) (recorded int, err error)

	// ContactsWithCompanies returns the contacts that exist and are not
	// erased, by id, and the companies they belong to, by company id.
	ContactsWithCompanies(ctx context.Context, ids []int64) (map[int64]*nurture.Contact, map[int64]*nurture.Company, error)
	SuppressedAmong(ctx context.Context, emails []string) (map[string]nurture.SuppressionReason, error)
	OptOuts(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error)
	// OptIns is read only when Config.RequireOptIn names topics.
	OptIns(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error)
	SentSince(ctx context.Context, contactIDs []int64, since time.Time) (map[int64]int, error)
	EngagementOf(ctx context.Context, contactIDs []int64) (map[int64]*nurture.EngagementSummary, error)
	Suppress(ctx context.Context, email string, reason nurture.SuppressionReason, detail string) error
}

// Exporter reads a contact's export document (docs/export.md), which an
// export email (nurture.IsExportRequest) carries as its attachment:
// (*postgres.DB).ExportContact. An erased or unknown contact is not found.
type Exporter interface {
	ExportContact(ctx context.Context, id int64) ([]byte, error)
}

// Renderer turns a template and its data into subject and bodies.
type Renderer interface {
	Render(name string, d templates.Data) (*templates.Rendered, error)
}

// Sender hands a composed email to a relay. Failures are
// *nurture.DeliveryError. Once the end of the data has been written, a
// Sender waits for the relay's reply even when ctx is cancelled, so that an
// accepted email is never reported as unsent.
type Sender interface {
	Send(ctx context.Context, e *nurture.Email) error
}

// Throttle is the relay's sending rate, shared by every worker: Take asks
// for one send now; SlowDown lowers the rate for a while when the relay
// says it is overwhelmed.
type Throttle interface {
	Take(ctx context.Context) (ok bool, retryAfter time.Duration, err error)
	SlowDown(ctx context.Context) error
}

// Observer is told how sending goes, for monitoring: package
// internal/metrics implements it. Config.Observer nil tells nobody.
type Observer interface {
	// RelayThrottle: a send asked the relay's shared rate (Throttle), with
	// this outcome (ThrottlePassed, ...).
	RelayThrottle(outcome string)
	// MessageOutcome: the outcome of a claimed message was decided (and
	// handed to the outcome writer): its status (queued: handed back
	// unsent) and topic ("" when it was not rendered).
	MessageOutcome(status, topic string)
}

// The outcomes of asking the relay's shared rate, for Observer.
const (
	ThrottlePassed      = "passed"      // the rate had room at once
	ThrottleWaited      = "waited"      // the send waited here (up to a second) for room
	ThrottleDeferred    = "deferred"    // the wait was longer: the message goes back, its task retries later
	ThrottleUnavailable = "unavailable" // the shared rate could not be reached: the local rate applied
)

// Config holds what delivery needs. Zero values of the optional fields are
// the defaults given with each.
type Config struct {
	Store    Store
	Renderer Renderer
	Sender   Sender
	Links    Linker
	From     mail.Address
	Product  nurture.Product
	Throttle Throttle // nil: no shared rate
	// Exports reads the document an export email carries, when it is
	// sent (never kept); nil: export emails fail.
	Exports Exporter
	Clock   nurture.Clock // default: the system clock
	Logger  *slog.Logger  // default: slog.Default()
	// Observer is told how the relay's rate is used; nil: nobody is.
	Observer Observer
	// MessageIDs makes the Message-ID headers, with the installation's key
	// (postgres.DB.MessageIDs); without one they are untagged.
	MessageIDs nurture.MessageIDs

	// RequireOptIn lists the topics sent only to contacts who opted in to
	// them explicitly (the marketing topic, when the installation requires
	// consent to it); a message of such a topic to anyone else is skipped,
	// with the reason, when it is about to leave. Empty: every topic is
	// sent unless opted out of.
	RequireOptIn []nurture.Topic

	// FrequencyCap is how many emails other than transactional ones a
	// contact may get in 24 hours; 0 means no cap.
	FrequencyCap int
	// UnsubscribeMailto is the address of an inbox that processes
	// unsubscribe requests by email, for the mailto: part of
	// List-Unsubscribe; empty leaves it out.
	UnsubscribeMailto string
	// Parallelism is how many messages of a batch are sent at once;
	// default 8. Sending is network-bound: more than the SMTP pool is
	// useful, since rendering and signing overlap the waits.
	Parallelism int
	// LocalRate is the sending rate, in emails per second, this process
	// keeps to on its own while the shared Throttle cannot be reached (a
	// Redis outage must not flood the relay); 0 means no local limit.
	LocalRate float64

	// Lease is how long a claim holds its rows without being renewed, by
	// the database's clock; default 30 s. The watcher renews it every
	// Lease/6 while the batch works, so a batch may take as long as it
	// needs (its task's timeout is its only bound); after a crash the rows
	// are free Lease after the last renewal, and the reconciler hands them
	// to another worker on its next pass.
	Lease time.Duration
	// CheckEvery is how often the watcher looks for rows of the batch that
	// an unsubscribe or erasure cancelled, or that another attempt took
	// over; default 1 s. An unsubscribe racing a batch waits about that
	// long for the batch to settle the row.
	CheckEvery time.Duration

	// Outcomes tune the group commit of outcomes; see OutcomeConfig.
	Outcomes OutcomeConfig

	// Region is the region whose relay Sender is ("": an installation
	// without regions, where every message is sent). A Deliverer sends only
	// the messages of its region: one whose region is another (its contact
	// moved after its task was queued) is handed back unsent, its attempt
	// given back, and queued on its own region's queue through Requeue.
	Region string
	// DefaultRegion is the region of messages stamped with none (made
	// before the installation declared regions).
	DefaultRegion string
	// Requeue queues messages on their region's queue; nil: they wait
	// for the reconciler.
	Requeue Requeuer
}

// Requeuer queues messages ids as send batches on queue (jobs.Enqueuer).
type Requeuer interface {
	EnqueueSendBatch(ctx context.Context, key, queue string, ids []int64) (int, error)
}

// Deliverer delivers messages. It is safe for concurrent use; Close it to
// write the outcomes still waiting.
type Deliverer struct {
	cfg     Config
	writer  *outcomeWriter
	limiter *localLimiter // nil without LocalRate
	// sharedDownUntil (unix nanoseconds) is when to try the shared
	// Throttle again after it failed: meanwhile each send keeps to the local
	// rate without paying for a round trip that would fail.
	sharedDownUntil atomic.Int64
}

// New returns a Deliverer for cfg and starts its outcome writer.
func New(cfg Config) *Deliverer {
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = 8
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = time.Second
	}
	d := &Deliverer{cfg: cfg, writer: newOutcomeWriter(cfg.Store, cfg.Outcomes, cfg.Logger)}
	if cfg.LocalRate > 0 {
		d.limiter = newLocalLimiter(cfg.LocalRate)
	}
	return d
}

// Close writes the outcomes still waiting, retrying until ctx ends, and
// stops the writer. Call it after the last Deliver has returned.
func (d *Deliverer) Close(ctx context.Context) error { return d.writer.close(ctx) }

// Request is one call's work.
type Request struct {
	IDs []int64
	// LastAttempt says no retry will follow: a temporary failure is then
	// recorded as failed for good instead of deferred.
	LastAttempt bool
}

// Errors Deliver returns besides the store's.
var (
	// ErrInterrupted: the context ended (the worker is stopping). Messages
	// not yet sent were handed back as queued; retry the call at once,
	// without counting it as a failure.
	ErrInterrupted = errors.New("interrupted by worker shutdown")
	// ErrHeld: some messages are held by another attempt whose lease is
	// live; retry later.
	ErrHeld = errors.New("held by another attempt")
)

// ThrottledError says the relay's shared rate is used up or the relay asked
// to slow down: retry after Delay, without counting it as a failure.
type ThrottledError struct{ Delay time.Duration }

func (e *ThrottledError) Error() string { return fmt.Sprintf("relay throttled; retry in %s", e.Delay) }

// FinalError says that no message of the call is worth another attempt:
// each failed for good (bounced, failed to render) or does not exist.
type FinalError struct{ Err error }

func (e *FinalError) Error() string { return e.Err.Error() }
func (e *FinalError) Unwrap() error { return e.Err }

// Deliver delivers the messages of req. It is safe to call again for the
// same messages, concurrently or after a crash: a message is sent at most
// once, but for a relay's reply lost after it accepted the message (RFC
// 1047) or a crash within the outcome window (see OutcomeConfig). It
// returns nil when every message is settled; ErrInterrupted,
// *ThrottledError or ErrHeld (wrapped) when it should be called again; a
// temporary delivery error when some message was deferred; and a
// *FinalError when nothing at all succeeded or is worth a retry.
func (d *Deliverer) Deliver(ctx context.Context, req Request) error {
	if len(req.IDs) == 0 {
		return &FinalError{Err: nurture.FieldError("message_ids", "names no message")}
	}
	claim := newClaimID()
	claimedAt := d.cfg.Clock.Now() // the local side of the lease, on the clock that checks it
	claimed, rest, err := d.cfg.Store.ClaimMessages(ctx, req.IDs, claim, d.cfg.Lease)
	switch {
	case err != nil && ctx.Err() != nil:
		return errors.Join(ErrInterrupted, err)
	case err != nil:
		return err
	}
	var held error
	for _, m := range rest {
		if !m.Status.Final() {
			held = fmt.Errorf("message %d: %w", m.ID, ErrHeld)
		}
	}
	if len(claimed) == 0 {
		if held == nil && len(rest) == 0 {
			return &FinalError{Err: fmt.Errorf("no message with id %v: %w", req.IDs, nurture.ErrNotFound)}
		}
		return held // nil when all were settled by an earlier attempt
	}

	b := &batch{d: d, claim: claim, lastAttempt: req.LastAttempt, tracker: d.writer.newTracker()}
	b.lease = newLease(claimedAt, d.cfg.Lease)
	work, err := d.prepare(ctx, claimed)
	if err != nil {
		for _, m := range claimed {
			w := &item{msg: m}
			if ctx.Err() != nil {
				w.release("interrupted before sending", ErrInterrupted)
			} else {
				w.settle(nurture.StatusDeferred, err.Error(), err)
			}
			b.record(w)
		}
		return errors.Join(err, b.wait(ctx))
	}
	b.run(ctx, work)
	if err := b.wait(ctx); err != nil {
		return err
	}
	d.requeueElsewhere(ctx, claim, work)
	return result(work, held)
}

// regionOf is the region whose relay may send m.
func (d *Deliverer) regionOf(m *nurture.Message) string {
	if m.Region == "" {
		return d.cfg.DefaultRegion
	}
	return m.Region
}

// elsewhere reports whether m belongs to another region's relay than this
// Deliverer's.
func (d *Deliverer) elsewhere(m *nurture.Message) bool {
	return d.cfg.Region != "" && d.regionOf(m) != d.cfg.Region
}

// requeueElsewhere queues the messages of work handed back for belonging
// to another region on that region's queue, once their outcomes are
// written (the rows are queued again). Should this fail, the reconciler
// finds them after its grace.
func (d *Deliverer) requeueElsewhere(ctx context.Context, claim int64, work []*item) {
	if d.cfg.Requeue == nil {
		return
	}
	byQueue := map[string][]int64{}
	var queues []string
	for _, w := range work {
		if !w.elsewhere {
			continue
		}
		q := nurture.TaskQueue(d.regionOf(&w.msg), w.msg.Queue)
		if _, ok := byQueue[q]; !ok {
			queues = append(queues, q)
		}
		byQueue[q] = append(byQueue[q], w.msg.ID)
	}
	for _, q := range queues {
		key := "region:" + strconv.FormatInt(claim, 36)
		if _, err := d.cfg.Requeue.EnqueueSendBatch(context.WithoutCancel(ctx), key, q, byQueue[q]); err != nil {
			d.cfg.Logger.Warn("queue messages on their region's queue", "queue", q, "messages", len(byQueue[q]), "err", err)
		}
	}
}

// newClaimID returns a random positive claim id: unique enough that two
// attempts never share one.
func newClaimID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 1)
}

// item is one claimed message on its way.
type item struct {
	msg     nurture.Message
	email   *nurture.Email // nil when the message is settled without sending
	outcome nurture.Outcome
	err     error // the delivery error, if any
	settled bool
	// elsewhere: handed back for belonging to another region's relay.
	elsewhere bool
}

func (w *item) settle(status nurture.MessageStatus, detail string, err error) {
	w.outcome.Status, w.outcome.Detail, w.err, w.settled = status, detail, err, true
}

// release hands the message back unsent: queued again, its attempt given
// back, for a later attempt.
func (w *item) release(detail string, err error) {
	w.settle(nurture.StatusQueued, detail, err)
}

func (w *item) skip(reason string) { w.settle(nurture.StatusSkipped, reason, nil) }

// batch is one Deliver call's claimed work.
type batch struct {
	d           *Deliverer
	claim       int64
	lease       *lease
	lastAttempt bool
	tracker     *tracker
}

// record hands w's outcome to the writer.
func (b *batch) record(w *item) {
	w.outcome.MessageID, w.outcome.Claim = w.msg.ID, b.claim
	if w.outcome.At.IsZero() {
		w.outcome.At = b.d.cfg.Clock.Now()
	}
	b.d.writer.submit(b.tracker, w.outcome)
	if obs := b.d.cfg.Observer; obs != nil {
		topic := w.outcome.Topic
		if topic == "" {
			topic = w.msg.Topic
		}
		obs.MessageOutcome(string(w.outcome.Status), string(topic))
	}
	b.d.cfg.Logger.Debug("message "+string(w.outcome.Status), append(w.msg.LogAttrs(), "detail", w.outcome.Detail)...)
}

// wait returns once every outcome of the batch is in PostgreSQL. When ctx
// has ended it still waits, for at most outcomeGrace: the claims must be
// settled if at all possible.
func (b *batch) wait(ctx context.Context) error {
	wctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), outcomeGrace)
		defer cancel()
	}
	if err := b.tracker.wait(wctx); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	return nil
}

// outcomeGrace is how long a stopping batch waits for its outcomes to be
// written.
const outcomeGrace = 15 * time.Second

// run sends the composed emails, Parallelism at a time, with a watcher
// renewing the lease and looking for cancelled rows, and records every
// outcome.
func (b *batch) run(ctx context.Context, work []*item) {
	var toSend []*item
	for _, w := range work {
		if w.settled {
			b.record(w)
		} else {
			toSend = append(toSend, w)
		}
	}
	if len(toSend) == 0 {
		return
	}
	ids := make([]int64, len(toSend))
	for i, w := range toSend {
		ids[i] = w.msg.ID
	}
	b.renewAfterPreparing(ctx, ids)
	stopWatch := b.watch(ctx, ids)
	defer stopWatch()

	sem := make(chan struct{}, b.d.cfg.Parallelism)
	var wg sync.WaitGroup
	for _, w := range toSend {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			b.sendOne(ctx, w)
			b.lease.finished(w.msg.ID)
			if !w.settled {
				return // the row is no longer ours: nothing to record
			}
			b.record(w)
		}()
	}
	wg.Wait()
}

// result decides what the call reports: interruption and throttling first
// (not failures), then anything worth a retry, then, when nothing at all
// succeeded or is worth a retry, the permanent failure.
func result(work []*item, held error) error {
	var throttled *ThrottledError
	var retry, final error
	done := 0
	for _, w := range work {
		var te *ThrottledError
		switch {
		case !w.settled:
			// The row is no longer this claim's (taken over, or deleted
			// with its contact): whoever has it now settles it.
		case errors.Is(w.err, ErrInterrupted):
			return ErrInterrupted
		case errors.As(w.err, &te):
			if throttled == nil || te.Delay > throttled.Delay {
				throttled = te
			}
		case w.outcome.Status == nurture.StatusDeferred || w.outcome.Status == nurture.StatusQueued:
			retry = errors.Join(retry, w.err)
		case w.outcome.Status == nurture.StatusBounced || w.outcome.Status == nurture.StatusFailed:
			final = errors.Join(final, w.err)
		default:
			done++
		}
	}
	switch {
	case throttled != nil:
		return throttled
	case retry != nil:
		return retry
	case held != nil:
		return held
	case final != nil && done == 0:
		return &FinalError{Err: final}
	}
	return nil
}
