package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// SendStore is what the email:send handler needs of the store.
type SendStore interface {
	ClaimMessage(ctx context.Context, id int64, now time.Time, lease time.Duration) (*nurture.Message, bool, error)
	FinishMessage(ctx context.Context, id int64, status nurture.MessageStatus, detail string, now time.Time) error
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	Suppressed(ctx context.Context, email string) (nurture.SuppressionReason, bool, error)
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

// SendConfig holds what the email:send handler needs.
type SendConfig struct {
	Store    SendStore
	Renderer Renderer
	Sender   Sender
	From     mail.Address
	Product  templates.Product
	Clock    nurture.Clock // default: the system clock
	Logger   *slog.Logger  // default: slog.Default()

	// Lease is how long an attempt holds a message before another may take
	// it over. It must outlast the task's timeout. Default 5 minutes.
	Lease time.Duration
}

// SendHandler delivers one message: it claims the row, checks at the last
// moment that the email may still go, renders, sends and records the outcome.
type SendHandler struct {
	cfg SendConfig
}

// NewSendHandler returns the email:send handler.
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
	return &SendHandler{cfg: cfg}
}

// ProcessTask implements asynq.Handler.
func (h *SendHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SendPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	return h.Send(ctx, p.MessageID)
}

// Send delivers message id. It is safe to call again for the same message,
// concurrently or after a crash: a sent message is never sent again.
func (h *SendHandler) Send(ctx context.Context, id int64) error {
	store, log := h.cfg.Store, h.cfg.Logger.With("message_id", id)
	m, claimed, err := store.ClaimMessage(ctx, id, h.cfg.Clock.Now(), h.cfg.Lease)
	switch {
	case nurture.ErrorCodeOf(err) == nurture.CodeNotFound:
		return permanent(err)
	case err != nil && ctx.Err() != nil:
		return errors.Join(ErrInterrupted, err)
	case err != nil:
		return err
	}
	if !claimed {
		if m.Status.Final() {
			return nil // done by an earlier attempt
		}
		return fmt.Errorf("message %d is held by another attempt", id)
	}

	// From here on the claim is ours and must be settled, even when ctx is
	// cancelled (the worker is stopping): bookkeeping gets its own deadline.
	finish := func(status nurture.MessageStatus, detail string) error {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := store.FinishMessage(bctx, id, status, detail, h.cfg.Clock.Now()); err != nil {
			return fmt.Errorf("record %s: %w", status, err)
		}
		log.Info("message "+string(status), "template", m.Template, "detail", detail, "attempt", m.Attempts)
		return nil
	}

	email, skip, err := h.compose(ctx, m)
	switch {
	case err != nil && ctx.Err() != nil:
		return errors.Join(ErrInterrupted, finish(nurture.StatusQueued, "interrupted before sending"))
	case err != nil && nurture.ErrorCodeOf(err) == nurture.CodeInternal:
		return errors.Join(err, finish(nurture.StatusDeferred, err.Error()))
	case err != nil:
		return permanent(errors.Join(err, finish(nurture.StatusFailed, err.Error())))
	case skip != "":
		return finish(nurture.StatusSkipped, skip)
	}

	if ctx.Err() != nil {
		return errors.Join(ErrInterrupted, finish(nurture.StatusQueued, "interrupted before sending"))
	}
	err = h.cfg.Sender.Send(ctx, email)
	if err == nil {
		return finish(nurture.StatusSent, "")
	}
	var derr *nurture.DeliveryError
	if errors.As(err, &derr) && derr.Permanent {
		if serr := store.Suppress(context.WithoutCancel(ctx), email.To.Address, nurture.SuppressHardBounce, err.Error()); serr != nil {
			log.Error("suppress after hard bounce", "err", serr)
		}
		return permanent(errors.Join(err, finish(nurture.StatusBounced, err.Error())))
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeInvalid {
		return permanent(errors.Join(err, finish(nurture.StatusFailed, err.Error())))
	}
	if ctx.Err() != nil {
		// Stopped while talking to the relay: the relay did not accept the
		// message (Send returned an error), so a later attempt sends it once.
		return errors.Join(ErrInterrupted, err, finish(nurture.StatusQueued, "interrupted while sending"))
	}
	if lastAttempt(ctx) {
		return errors.Join(err, finish(nurture.StatusFailed, "gave up: "+err.Error()))
	}
	return errors.Join(err, finish(nurture.StatusDeferred, err.Error()))
}

// compose checks that m may still go out and builds it. skip is the reason
// when it may not; err is an invalid template or data (permanent) or a store
// error (temporary).
func (h *SendHandler) compose(ctx context.Context, m *nurture.Message) (e *nurture.Email, skip string, err error) {
	store := h.cfg.Store
	c, err := store.Contact(ctx, m.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return nil, "contact erased or gone", nil
	}
	if err != nil {
		return nil, "", err
	}
	if c.Email == "" {
		return nil, "contact has no email address", nil
	}
	if reason, ok, err := store.Suppressed(ctx, c.Email); err != nil {
		return nil, "", err
	} else if ok {
		return nil, "address suppressed: " + string(reason), nil
	}

	r, err := h.cfg.Renderer.Render(m.Template, templates.Data{
		Contact: *c,
		Message: templates.MessageInfo{ID: m.ID, Template: m.Template},
		Product: h.cfg.Product,
	})
	if err != nil {
		return nil, "", &nurture.Error{Code: nurture.CodeInvalid, Field: "template",
			Message: fmt.Sprintf("render %s: %v", m.Template, err)}
	}
	return &nurture.Email{
		MessageID: MessageIDHeader(m.ID, h.cfg.From.Address),
		From:      h.cfg.From,
		To:        mail.Address{Name: c.Name(), Address: c.Email},
		Subject:   r.Subject,
		HTML:      r.HTML,
		Text:      r.Text,
	}, "", nil
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
