package jobs

import (
	"context"
	"errors"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture/delivery"
)

// Deliverer is the send use case (package delivery).
type Deliverer interface {
	Deliver(ctx context.Context, req delivery.Request) error
}

// SendHandler is the handler of email:send and email:send-batch: it reads
// the message ids of the task and hands them to the delivery use case of
// the task's region (its queue's prefix: eu.default is eu's).
type SendHandler struct {
	deliverer Deliverer            // of a task on a plain queue, or of a region not served
	regions   map[string]Deliverer // by region; nil without regions
}

// NewSendHandler returns the handler of email:send and email:send-batch
// of an installation without regions.
func NewSendHandler(d Deliverer) *SendHandler { return &SendHandler{deliverer: d} }

// NewRegionalSendHandler returns the handler of a worker serving the
// regions of byRegion, each with the Deliverer of its relay. A task on a
// plain queue (queued before the regions were declared) goes to fallback's
// Deliverer, which hands messages of other regions to their own queues.
func NewRegionalSendHandler(byRegion map[string]Deliverer, fallback string) *SendHandler {
	return &SendHandler{deliverer: byRegion[fallback], regions: byRegion}
}

// delivererFor returns the Deliverer of the region of the task's queue.
func (h *SendHandler) delivererFor(ctx context.Context) Deliverer {
	if h.regions == nil {
		return h.deliverer
	}
	queue, _ := asynq.GetQueueName(ctx)
	if region, _, ok := strings.Cut(queue, "."); ok {
		if d := h.regions[region]; d != nil {
			return d
		}
	}
	return h.deliverer
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
	err := h.delivererFor(ctx).Deliver(ctx, delivery.Request{IDs: ids, LastAttempt: lastAttempt(ctx)})
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
