package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
)

// TypeSequenceAdvance advances one enrollment in a sequence.
const TypeSequenceAdvance = "sequence:advance"

// TypeSequenceAdvanceBatch advances a batch of enrollments at once: what
// the sequence poller queues (one decision per enrollment costs a
// transaction per batch, not per enrollment).
const TypeSequenceAdvanceBatch = "sequence:advance-batch"

// AdvanceBatchSize is how many enrollments a sequence:advance-batch task
// holds at most.
const AdvanceBatchSize = 250

// AdvanceMaxRetry bounds the retries of one advance; the poller queues a
// due enrollment again after its grace anyway.
const AdvanceMaxRetry = 5

// AdvancePayload is the payload of a sequence:advance task.
type AdvancePayload struct {
	EnrollmentID int64 `json:"enrollment_id,omitempty"`
	// EnrollmentIDs are the enrollments of a sequence:advance-batch task.
	EnrollmentIDs []int64 `json:"enrollment_ids,omitempty"`
}

// AdvanceTaskID is the task id of the advance of enrollment id standing on
// step for the visit-th time: a step runs once however often it is queued
// (the engine also leaves an enrollment that is not due alone).
func AdvanceTaskID(id int64, step string, visit int) string {
	return "seq:" + strconv.FormatInt(id, 10) + ":" + step + ":" + strconv.Itoa(visit)
}

// NewAdvanceTask returns the sequence:advance task for e.
func NewAdvanceTask(e *nurture.Enrollment) (*asynq.Task, error) {
	payload, err := json.Marshal(AdvancePayload{EnrollmentID: e.ID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeSequenceAdvance, payload,
		asynq.TaskID(AdvanceTaskID(e.ID, e.Step, e.Visit)),
		asynq.Queue(QueueDefault),
		asynq.MaxRetry(AdvanceMaxRetry),
		asynq.Timeout(time.Minute),
	), nil
}

// AdvanceBatchTaskID is the task id of the advance of the enrollments es
// at their revisions: the same batch queued twice is one task. Another
// batch holding some of them may run too: the engine's revision check and
// the emails' dedupe keys make each step run once whatever runs it.
func AdvanceBatchTaskID(es []nurture.Enrollment) string {
	h := sha256.New()
	for _, e := range es {
		_, _ = fmt.Fprintf(h, "%d:%d,", e.ID, e.Revision)
	}
	return "seqb:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// NewAdvanceBatchTask returns the sequence:advance-batch task for es.
func NewAdvanceBatchTask(es []nurture.Enrollment) (*asynq.Task, error) {
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	payload, err := json.Marshal(AdvancePayload{EnrollmentIDs: ids})
	if err != nil {
		return nil, err
	}
	// On the low queue: the emails the batches create go on the default
	// one, so that they leave while further batches are decided instead
	// of waiting behind every batch queued before them.
	return asynq.NewTask(TypeSequenceAdvanceBatch, payload,
		asynq.TaskID(AdvanceBatchTaskID(es)),
		asynq.Queue(QueueLow),
		asynq.MaxRetry(AdvanceMaxRetry),
		asynq.Timeout(2*time.Minute),
	), nil
}

// EnqueueAdvanceBatch queues the advance of es as one task. queued is
// false when the same batch is queued or running already.
func (e *Enqueuer) EnqueueAdvanceBatch(ctx context.Context, es []nurture.Enrollment) (queued bool, err error) {
	task, err := NewAdvanceBatchTask(es)
	if err != nil {
		return false, err
	}
	_, err = e.client.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue %s of %d enrollments: %w", TypeSequenceAdvanceBatch, len(es), err)
	}
	return true, nil
}

// Advancer is the sequence engine (package sequence).
type Advancer interface {
	Advance(ctx context.Context, enrollmentID int64) error
	AdvanceBatch(ctx context.Context, enrollmentIDs []int64) error
}

// AdvanceHandler is the handler of sequence:advance.
type AdvanceHandler struct {
	engine Advancer
}

// NewAdvanceHandler returns the handler of sequence:advance and
// sequence:advance-batch.
func NewAdvanceHandler(a Advancer) *AdvanceHandler { return &AdvanceHandler{engine: a} }

// ProcessTask implements asynq.Handler for sequence:advance and
// sequence:advance-batch.
func (h *AdvanceHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p AdvancePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	var err error
	if t.Type() == TypeSequenceAdvanceBatch {
		err = h.engine.AdvanceBatch(ctx, p.EnrollmentIDs)
	} else {
		err = h.engine.Advance(ctx, p.EnrollmentID)
	}
	return retryable(err)
}
