package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// SendStore is what delivery needs of the store. Every method works on a
// whole batch, so that sending many messages costs a few statements, not a
// few per message.
type SendStore interface {
	ClaimMessages(ctx context.Context, ids []int64, now time.Time, lease time.Duration) (claimed, rest []nurture.Message, err error)
	FinishMessages(ctx context.Context, outcomes []nurture.Outcome, now time.Time) error
	Contacts(ctx context.Context, ids []int64) (map[int64]*nurture.Contact, error)
	SuppressedAmong(ctx context.Context, emails []string) (map[string]nurture.SuppressionReason, error)
	OptOuts(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error)
	SentSince(ctx context.Context, contactIDs []int64, since time.Time) (map[int64]int, error)
	EngagementOf(ctx context.Context, contactIDs []int64) (map[int64]*nurture.EngagementSummary, error)
	Suppress(ctx context.Context, email string, reason nurture.SuppressionReason, detail string) error
}

// Renderer turns a template and its data into subject and bodies.
type Renderer interface {
	Render(name string, d templates.Data) (*templates.Rendered, error)
}

// Sender hands a composed email to a relay. Failures are
// *nurture.DeliveryError.
type Sender interface {
	Send(ctx context.Context, e *nurture.Email) error
}

// Throttle is the relay's sending rate, shared by every worker: Take asks
// for one send now; SlowDown lowers the rate for a while when the relay
// says it is overwhelmed (421, 454).
type Throttle interface {
	Take(ctx context.Context) (ok bool, retryAfter time.Duration, err error)
	SlowDown(ctx context.Context) error
}

// SendConfig holds what delivery needs.
type SendConfig struct {
	Store    SendStore
	Renderer Renderer
	Sender   Sender
	Links    Linker
	From     mail.Address
	Product  templates.Product
	Throttle Throttle      // nil: no shared rate
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()

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
	// Lease is how long an attempt holds a message before another may take
	// it over. It must outlast the task's timeout. Default 5 minutes.
	Lease time.Duration
}

// SendHandler delivers messages: it claims the rows, checks at the last
// moment that each email may still go, renders, sends and records the
// outcomes, in batches.
type SendHandler struct {
	cfg SendConfig
}

// NewSendHandler returns the handler of email:send and email:send-batch.
func NewSendHandler(cfg SendConfig) *SendHandler {
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Lease == 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = 8
	}
	return &SendHandler{cfg: cfg}
}

// ProcessTask implements asynq.Handler for email:send and email:send-batch.
func (h *SendHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SendPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	ids := p.MessageIDs
	if p.MessageID != 0 {
		ids = append(ids, p.MessageID)
	}
	if len(ids) == 0 {
		return permanent(errors.New("payload names no message"))
	}
	return h.Send(ctx, ids...)
}

// ThrottledError says the relay's shared rate is used up: the task is
// retried after Delay without using up a retry.
type ThrottledError struct{ Delay time.Duration }

func (e *ThrottledError) Error() string { return fmt.Sprintf("relay throttled; retry in %s", e.Delay) }

// Send delivers the messages with the given ids. It is safe to call again
// for the same messages, concurrently or after a crash: a message that was
// sent is never sent again. It returns an error when some message should be
// tried again later; messages that failed for good are recorded, not
// returned, unless every message of the call did (so a single message's
// task is not retried in vain).
func (h *SendHandler) Send(ctx context.Context, ids ...int64) error {
	store := h.cfg.Store
	claimed, rest, err := store.ClaimMessages(ctx, ids, h.cfg.Clock.Now(), h.cfg.Lease)
	switch {
	case err != nil && ctx.Err() != nil:
		return errors.Join(ErrInterrupted, err)
	case err != nil:
		return err
	}
	var held error
	for _, m := range rest {
		if !m.Status.Final() {
			held = fmt.Errorf("message %d is held by another attempt", m.ID)
		}
	}
	if len(claimed) == 0 {
		if held == nil && len(rest) == 0 {
			return permanent(fmt.Errorf("%w: no message with id %v", nurture.ErrNotFound, ids))
		}
		return held // nil when all were done by an earlier attempt
	}

	// From here on the claims are ours and must be settled even if ctx is
	// cancelled (the worker is stopping): bookkeeping gets its own deadline.
	work, err := h.prepare(ctx, claimed)
	if err != nil {
		return errors.Join(err, h.finish(ctx, giveBack(claimed, err, ctx)))
	}
	h.deliver(ctx, work)
	outcomes := make([]nurture.Outcome, len(work))
	for i, w := range work {
		outcomes[i] = w.outcome
	}
	if err := h.finish(ctx, outcomes); err != nil {
		return err
	}
	return h.result(ctx, work, held)
}

// delivery is one claimed message on its way.
type delivery struct {
	msg     nurture.Message
	email   *nurture.Email // nil when the message is settled without sending
	outcome nurture.Outcome
	err     error // the delivery error, if any
}

// prepare loads what the checks need for the whole batch, then checks,
// renders and composes each message. An error here is the store's: every
// claim is given back.
func (h *SendHandler) prepare(ctx context.Context, claimed []nurture.Message) ([]*delivery, error) {
	store := h.cfg.Store
	contactIDs := make([]int64, len(claimed))
	for i, m := range claimed {
		contactIDs[i] = m.ContactID
	}
	contacts, err := store.Contacts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	var emails []string
	for _, c := range contacts {
		if c.Email != "" {
			emails = append(emails, c.Email)
		}
	}
	suppressed, err := store.SuppressedAmong(ctx, emails)
	if err != nil {
		return nil, err
	}
	optOuts, err := store.OptOuts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	engagement, err := store.EngagementOf(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	var sent map[int64]int
	if h.cfg.FrequencyCap > 0 {
		if sent, err = store.SentSince(ctx, contactIDs, h.cfg.Clock.Now().Add(-24*time.Hour)); err != nil {
			return nil, err
		}
	}

	work := make([]*delivery, len(claimed))
	for i := range claimed {
		m := claimed[i]
		w := &delivery{msg: m, outcome: nurture.Outcome{MessageID: m.ID}}
		work[i] = w
		c := contacts[m.ContactID]
		switch {
		case c == nil:
			w.skip("contact erased or gone")
			continue
		case c.Email == "":
			w.skip("contact has no email address")
			continue
		case suppressed[c.Email] != "":
			w.skip("address suppressed: " + string(suppressed[c.Email]))
			continue
		}
		unsubscribe := h.cfg.Links.Unsubscribe(&m) // one link for the body and the headers
		r, err := h.render(&m, c, engagement[c.ID], unsubscribe)
		if err != nil {
			w.outcome.Status, w.outcome.Detail = nurture.StatusFailed, err.Error()
			w.err = err
			continue
		}
		w.outcome.Topic = r.Topic
		if r.Topic != nurture.TopicTransactional {
			if optedOut(optOuts[c.ID], r.Topic) {
				w.skip("unsubscribed from " + string(r.Topic))
				continue
			}
			if h.cfg.FrequencyCap > 0 && sent[c.ID] >= h.cfg.FrequencyCap {
				w.skip(fmt.Sprintf("frequency cap: %d emails in 24 hours", sent[c.ID]))
				continue
			}
			if sent != nil {
				sent[c.ID]++ // a second message of the batch to the same person counts the first
			}
		}
		w.email = h.compose(&m, c, r, unsubscribe)
	}
	return work, nil
}

func (w *delivery) skip(reason string) {
	w.outcome.Status, w.outcome.Detail = nurture.StatusSkipped, reason
}

func optedOut(topics []nurture.Topic, t nurture.Topic) bool {
	for _, o := range topics {
		if o == t {
			return true
		}
	}
	return false
}

// render renders m's template for c, with tracked links.
func (h *SendHandler) render(m *nurture.Message, c *nurture.Contact, e *nurture.EngagementSummary, unsubscribe string) (*templates.Rendered, error) {
	links := h.cfg.Links
	if e == nil {
		e = &nurture.EngagementSummary{}
	}
	r, err := h.cfg.Renderer.Render(m.Template, templates.Data{
		Contact:    *c,
		Engagement: *e,
		Message:    templates.MessageInfo{ID: m.ID, Template: m.Template},
		Product:    h.cfg.Product,
		Links: templates.Links{
			Unsubscribe:   unsubscribe,
			Preferences:   unsubscribe,
			ViewInBrowser: links.View(m),
		},
		Track: &templates.Tracking{
			Click:     func(i int, target string) string { return links.Click(m, i, target) },
			OpenPixel: links.Open(m),
		},
	})
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "template",
			Message: fmt.Sprintf("render %s: %v", m.Template, err)}
	}
	return r, nil
}

// compose builds the email with the headers that mailbox providers and
// RFC 8058 ask of bulk senders.
func (h *SendHandler) compose(m *nurture.Message, c *nurture.Contact, r *templates.Rendered, unsubscribe string) *nurture.Email {
	from := h.cfg.From.Address
	domain := from[strings.LastIndexByte(from, '@')+1:]
	e := &nurture.Email{
		MessageID: MessageIDHeader(m.ID, from),
		From:      h.cfg.From,
		To:        mail.Address{Name: c.Name(), Address: c.Email},
		Subject:   r.Subject,
		HTML:      r.HTML,
		Text:      r.Text,
	}
	campaign := strings.HasPrefix(m.DedupeKey, "camp:")
	stream := "lifecycle"
	if campaign {
		stream = "campaign"
	}
	e.Headers = append(e.Headers, nurture.Header{Name: "Feedback-ID",
		Value: fmt.Sprintf("%s:%s:%s:nurture", headerWord(m.Template), r.Topic, stream)})
	if r.Topic == nurture.TopicTransactional {
		return e
	}
	value := "<" + unsubscribe + ">"
	if mailto := unsubscribeMailto(h.cfg.UnsubscribeMailto, unsubscribe); mailto != "" {
		value += ", <" + mailto + ">"
	}
	e.Headers = append(e.Headers,
		nurture.Header{Name: "List-Unsubscribe", Value: value},
		nurture.Header{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		nurture.Header{Name: "List-Id", Value: fmt.Sprintf("%s %s <%s.%s>", headerWord(h.cfg.Product.Name), r.Topic, r.Topic, domain)},
	)
	if campaign {
		e.Headers = append(e.Headers, nurture.Header{Name: "Precedence", Value: "bulk"})
	}
	return e
}

// headerWord keeps only characters that are safe in a header's free text.
func headerWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '<' || r == '>' || r == ',' || r == ';' || r == ':' {
			return -1
		}
		return r
	}, s)
}

// deliver sends the composed emails, Parallelism at a time.
func (h *SendHandler) deliver(ctx context.Context, work []*delivery) {
	sem := make(chan struct{}, h.cfg.Parallelism)
	var wg sync.WaitGroup
	for _, w := range work {
		if w.email == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h.deliverOne(ctx, w)
		}()
	}
	wg.Wait()
}

func (h *SendHandler) deliverOne(ctx context.Context, w *delivery) {
	if ctx.Err() != nil {
		w.outcome.Status, w.outcome.Detail, w.err = nurture.StatusQueued, "interrupted before sending", ErrInterrupted
		return
	}
	if h.cfg.Throttle != nil {
		if delay, err := h.take(ctx); err != nil || delay > 0 {
			w.outcome.Status, w.outcome.Detail = nurture.StatusQueued, "relay rate reached"
			w.err = &ThrottledError{Delay: max(delay, time.Second)}
			if err != nil {
				w.outcome.Detail, w.err = "interrupted before sending", errors.Join(ErrInterrupted, err)
			}
			return
		}
	}
	err := h.cfg.Sender.Send(ctx, w.email)
	w.err = err
	kind := nurture.DeliveryKindOf(err)
	switch {
	case err == nil:
		w.outcome.Status = nurture.StatusSent
	case kind == nurture.DeliveryThrottled && h.cfg.Throttle != nil:
		if serr := h.cfg.Throttle.SlowDown(context.WithoutCancel(ctx)); serr != nil {
			h.cfg.Logger.Warn("lower the relay rate", "err", serr)
		}
		w.outcome.Status, w.outcome.Detail = nurture.StatusQueued, "relay asked to slow down: "+err.Error()
		w.err = &ThrottledError{Delay: 30 * time.Second}
	case kind == nurture.DeliveryPermanent:
		w.outcome.Status, w.outcome.Detail = nurture.StatusBounced, err.Error()
		if serr := h.cfg.Store.Suppress(context.WithoutCancel(ctx), w.email.To.Address, nurture.SuppressHardBounce, err.Error()); serr != nil {
			h.cfg.Logger.Error("suppress after hard bounce", "err", serr)
		}
	case nurture.ErrorCodeOf(err) == nurture.CodeInvalid:
		w.outcome.Status, w.outcome.Detail = nurture.StatusFailed, err.Error()
	case ctx.Err() != nil && kind != nurture.DeliveryUnknown:
		// Stopped while talking to the relay, before the message was
		// complete: the relay did not get it, so a later attempt sends it
		// once. (An unknown outcome is deferred like any failure, below.)
		w.outcome.Status, w.outcome.Detail, w.err = nurture.StatusQueued, "interrupted while sending", errors.Join(ErrInterrupted, err)
	case lastAttempt(ctx):
		w.outcome.Status, w.outcome.Detail = nurture.StatusFailed, "gave up: "+err.Error()
	default:
		// Temporary, unknown, and rejected: a refusal for a reason of ours
		// (our sender, our message) is retried in case it gets fixed, and
		// never suppresses the address.
		w.outcome.Status, w.outcome.Detail = nurture.StatusDeferred, err.Error()
	}
}

// take waits for the relay's rate: a wait of up to a second is spent here,
// a longer one is returned so that the task makes room for others.
func (h *SendHandler) take(ctx context.Context) (time.Duration, error) {
	for {
		ok, wait, err := h.cfg.Throttle.Take(ctx)
		if err != nil {
			// The limiter is down: better to send than to stall all mail.
			h.cfg.Logger.Warn("relay rate limiter unavailable; sending anyway", "err", err)
			return 0, nil
		}
		if ok {
			return 0, nil
		}
		if wait > time.Second {
			return wait, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// finish records outcomes with a deadline of its own: it must happen even
// when the task's context has ended.
func (h *SendHandler) finish(ctx context.Context, outcomes []nurture.Outcome) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := h.cfg.Store.FinishMessages(bctx, outcomes, h.cfg.Clock.Now()); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	for _, o := range outcomes {
		h.cfg.Logger.Debug("message "+string(o.Status), "message_id", o.MessageID, "detail", o.Detail)
	}
	return nil
}

// giveBack settles claims that could not be worked on: back to queued when
// the worker is stopping, deferred otherwise (the store failed).
func giveBack(claimed []nurture.Message, err error, ctx context.Context) []nurture.Outcome {
	status, detail := nurture.StatusDeferred, err.Error()
	if ctx.Err() != nil {
		status, detail = nurture.StatusQueued, "interrupted before sending"
	}
	out := make([]nurture.Outcome, len(claimed))
	for i, m := range claimed {
		out[i] = nurture.Outcome{MessageID: m.ID, Status: status, Detail: detail}
	}
	return out
}

// result decides what the task reports: interruption and throttling first
// (not failures), then anything worth a retry, then, when nothing at all
// succeeded or is worth a retry, the permanent failure.
func (h *SendHandler) result(ctx context.Context, work []*delivery, held error) error {
	var throttled *ThrottledError
	var retry, final error
	done := 0
	for _, w := range work {
		var te *ThrottledError
		switch {
		case errors.Is(w.err, ErrInterrupted):
			return ErrInterrupted
		case errors.As(w.err, &te):
			if throttled == nil || te.Delay > throttled.Delay {
				throttled = te
			}
		case w.outcome.Status == nurture.StatusDeferred:
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
		return permanent(final)
	}
	return nil
}

// MessageIDHeader is the Message-ID of message id: derived from the id, so a
// retried delivery carries the same Message-ID and receivers can tell it is
// the same email.
func MessageIDHeader(id int64, from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return fmt.Sprintf("nurture.%d@%s", id, domain)
}

// lastAttempt reports whether the running task has no retries left.
func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}
