package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
)

// TypeLeadEnrich researches one contact's company and reads its title
// (package enrich).
const TypeLeadEnrich = "lead:enrich"

// QueueEnrich is the queue of lead:enrich tasks. A worker serves it with
// a server of its own (worker.Config.Queues), so that research, which
// waits on other people's web sites, never holds a slot an email needs.
const QueueEnrich = "enrich"

// EnrichMaxRetry bounds the retries of one enrichment; a source that fails
// is no failure (the job records it), so retries are for the store.
const EnrichMaxRetry = 5

// EnrichPayload is the payload of a lead:enrich task.
type EnrichPayload struct {
	ContactID int64 `json:"contact_id"`
}

// EnrichTaskID is the task id of the enrichment of a contact for its
// revision-th request, due at due: a request is queued once however often
// the poller finds it, and a request deferred to later is a new task.
func EnrichTaskID(e *nurture.Enrichment) string {
	return "enrich:" + strconv.FormatInt(e.ContactID, 10) + ":" + strconv.FormatInt(e.Revision, 10) + ":" +
		strconv.FormatInt(e.DueAt.UnixMilli(), 10)
}

// NewEnrichTask returns the lead:enrich task for e.
func NewEnrichTask(e *nurture.Enrichment) (*asynq.Task, error) {
	payload, err := json.Marshal(EnrichPayload{ContactID: e.ContactID})
	if err != nil {
		return nil, err
	}
	// A research makes at most a handful of requests of 10 s each, paced
	// at one a second per domain.
	return asynq.NewTask(TypeLeadEnrich, payload,
		asynq.TaskID(EnrichTaskID(e)),
		asynq.Queue(QueueEnrich),
		asynq.MaxRetry(EnrichMaxRetry),
		asynq.Timeout(3*time.Minute),
	), nil
}

// EnqueueEnrich queues the enrichments es, and returns how many were new
// to the queue (the others were queued already).
func (e *Enqueuer) EnqueueEnrich(ctx context.Context, es []nurture.Enrichment) (int, error) {
	n := 0
	for i := range es {
		task, err := NewEnrichTask(&es[i])
		if err != nil {
			return n, err
		}
		_, err = e.client.EnqueueContext(ctx, task)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("enqueue %s of contact %d: %w", TypeLeadEnrich, es[i].ContactID, err)
		}
		n++
	}
	return n, nil
}

// LeadEnricher is the enrichment use case (package enrich).
type LeadEnricher interface {
	Enrich(ctx context.Context, contactID int64) (*nurture.EnrichmentOutcome, error)
}

// EnrichHandler is the handler of lead:enrich.
type EnrichHandler struct {
	enricher LeadEnricher
}

// NewEnrichHandler returns the handler of lead:enrich.
func NewEnrichHandler(e LeadEnricher) *EnrichHandler { return &EnrichHandler{enricher: e} }

// ProcessTask implements asynq.Handler for lead:enrich.
func (h *EnrichHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p EnrichPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	_, err := h.enricher.Enrich(ctx, p.ContactID)
	return retryable(err)
}
