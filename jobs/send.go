package jobs

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture/delivery"
)

// Deliverer is the send use case (package delivery).
type Deliverer interface {
	Deliver(ctx context.Context, req delivery.Request) error
}

// SendHandler is the handler of email:send and email:send-batch: it reads
// the message ids of the task and hands them to the delivery use case.
type SendHandler struct {
	deliverer Deliverer
}

// NewSendHandler returns the handler of email:send and email:send-batch.
func NewSendHandler(d Deliverer) *SendHandler { return &SendHandler{deliverer: d} }

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
	err := h.deliverer.Deliver(ctx, delivery.Request{IDs: ids, LastAttempt: lastAttempt(ctx)})
	var final *delivery.FinalError
	if errors.As(err, &final) {
		return permanent(err)
	}
	return retryable(err)
}

// lastAttempt reports whether the running task has no retries left.
func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}
