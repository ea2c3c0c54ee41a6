// Package jobs is the task queue's face of Nurture's use cases: task type
// names, payloads, task ids, enqueue helpers, and thin handlers that decode
// a payload, call a use case (package delivery for email:send) and tell
// asynq what its error means (retry, no retry, not a failure).
//
// Payloads carry ids, never whole records: the use case reads the truth from
// the store when it runs. Task ids are derived from the work's own key, so
// enqueueing the same work twice is harmless. This package knows asynq, the
// domain and the use cases; it knows nothing of HTTP, SQL or SMTP.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
)

// Task types, named area:verb.
const (
	// TypeEmailSend delivers one message.
	TypeEmailSend = "email:send"
	// TypeEmailSendBatch delivers many messages at once (a campaign chunk):
	// the same work with the bookkeeping of the whole batch in a few
	// statements.
	TypeEmailSendBatch = "email:send-batch"
)

// Queues, from most to least urgent. Transactional mail must not wait behind
// a campaign.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// QueuePriorities are the weights the worker gives each queue.
var QueuePriorities = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// RegionQueues are the queues of region, with their weights: its
// critical, default and low (eu.critical, ...) weighted as
// QueuePriorities. A worker serves each region's queues on a task server
// of their own, and the plain queues (the sequences' tasks, and the
// emails queued before the regions were declared) on another.
func RegionQueues(region string) map[string]int {
	out := make(map[string]int, len(QueuePriorities))
	for class, w := range QueuePriorities {
		out[nurture.TaskQueue(region, class)] = w
	}
	return out
}

// SendMaxRetry bounds the retries of one email. With RetryDelay this spans
// about a day, after which a message that still cannot be delivered fails.
const SendMaxRetry = 12

// SendPayload is the payload of an email:send task (MessageID) or an
// email:send-batch task (MessageIDs).
type SendPayload struct {
	MessageID  int64   `json:"message_id,omitempty"`
	MessageIDs []int64 `json:"message_ids,omitempty"`
}

// SendTaskID is the task id of the email:send task for message id: at most
// one such task exists at a time, however often it is enqueued.
func SendTaskID(messageID int64) string {
	return "msg:" + strconv.FormatInt(messageID, 10)
}

// NewSendTask returns the email:send task for m.
func NewSendTask(m *nurture.Message) (*asynq.Task, error) {
	payload, err := json.Marshal(SendPayload{MessageID: m.ID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeEmailSend, payload,
		asynq.TaskID(SendTaskID(m.ID)),
		asynq.Queue(m.TaskQueue()),
		asynq.MaxRetry(SendMaxRetry),
		asynq.Timeout(2*time.Minute),
	), nil
}

// BatchSize is how many messages an email:send-batch task carries: enough
// that a batch's bookkeeping (a few statements) is small beside its
// sending, few enough that its payload stays a few kilobytes of ids and a
// retry redoes little.
const BatchSize = 250

// SendBatchTaskID is the task id of the chunk-th email:send-batch task of
// the batch called key (a campaign's dispatch, say): enqueuing the same
// batch twice queues each chunk once.
func SendBatchTaskID(key string, chunk int) string {
	return "batch:" + key + ":" + strconv.Itoa(chunk)
}

// NewSendBatchTask returns the email:send-batch task for the messages ids,
// the chunk-th chunk of the batch called key.
//
// Timeouts and leases: the task's timeout (10 minutes; 2 for email:send)
// bounds one attempt as a whole. The claim on the rows is a separate, short
// lease (delivery.Config.Lease, 30 s) that the attempt renews while it
// runs, so the lease never has to outlast the timeout. When the timeout
// ends the handler's context, the attempt starts no more sends, waits for
// the replies of those past their final ".", records them and hands the
// rest back; if asynq retries the task meanwhile (it does not wait for the
// handler), the retry finds the rows held under a live claim and leaves
// them alone.
func NewSendBatchTask(key string, chunk int, ids []int64, queue string) (*asynq.Task, error) {
	payload, err := json.Marshal(SendPayload{MessageIDs: ids})
	if err != nil {
		return nil, err
	}
	if queue == "" {
		queue = QueueLow
	}
	return asynq.NewTask(TypeEmailSendBatch, payload,
		asynq.TaskID(SendBatchTaskID(key, chunk)),
		asynq.Queue(queue),
		asynq.MaxRetry(SendMaxRetry),
		asynq.Timeout(10*time.Minute),
	), nil
}

// Enqueuer hands work to the task queue.
type Enqueuer struct {
	client *asynq.Client
}

// NewEnqueuer returns an Enqueuer using client. The caller closes the client.
func NewEnqueuer(client *asynq.Client) *Enqueuer { return &Enqueuer{client: client} }

// EnqueueSend queues the delivery of m, at m.SendAt when that is in the
// future. A task for m that is already queued is not an error.
func (e *Enqueuer) EnqueueSend(ctx context.Context, m *nurture.Message) error {
	task, err := NewSendTask(m)
	if err != nil {
		return err
	}
	var opts []asynq.Option
	if m.SendAt.After(time.Now()) { //nolint:forbidigo // asynq schedules by Redis's wall clock, so the wall clock says what is future
		opts = append(opts, asynq.ProcessAt(m.SendAt))
	}
	_, err = e.client.EnqueueContext(ctx, task, opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s for message %d: %w", TypeEmailSend, m.ID, err)
	}
	return nil
}

// EnqueueSendBatch queues the delivery of the messages ids as tasks of
// BatchSize messages, so that a campaign of any size costs Redis a task
// per chunk and the worker's memory stays flat. key names the batch: a
// second call with the same key and ids queues no chunk twice.
func (e *Enqueuer) EnqueueSendBatch(ctx context.Context, key, queue string, ids []int64) (chunks int, err error) {
	for i := 0; i < len(ids); i += BatchSize {
		task, err := NewSendBatchTask(key, chunks, ids[i:min(i+BatchSize, len(ids))], queue)
		if err != nil {
			return chunks, err
		}
		if _, err := e.client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return chunks, fmt.Errorf("enqueue %s %s: %w", TypeEmailSendBatch, SendBatchTaskID(key, chunks), err)
		}
		chunks++
	}
	return chunks, nil
}

// IsFailure tells asynq which errors count against a task's retries: a
// task interrupted by the worker's shutdown (delivery.ErrInterrupted) or
// held back by the relay's rate (*delivery.ThrottledError) is no failure,
// nor one whose messages another attempt holds (delivery.ErrHeld: its
// holder settles them, or its claim lapses and this task takes them over).
// A cancelled task context means the worker is stopping (asynq reports it
// itself, before the handler has returned), so it is no failure either.
func IsFailure(err error) bool {
	var te *delivery.ThrottledError
	return !interrupted(err) && !errors.As(err, &te) && !errors.Is(err, delivery.ErrHeld)
}

// heldRetry is how soon a task whose messages another attempt holds looks
// again: a third of the default lease, so that rows whose holder died are
// taken over soon after its lease and the one more lease it is given have
// lapsed (postgres.DB.ClaimMessages).
const heldRetry = 10 * time.Second

func interrupted(err error) bool {
	return errors.Is(err, delivery.ErrInterrupted) || errors.Is(err, context.Canceled)
}

// RetryDelay is the back-off between attempts: exponential from 30 seconds,
// capped at 4 hours, with up to 25% jitter so that a relay outage does not
// end in a thundering herd. An interrupted task is retried after a second,
// a held one after heldRetry.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if interrupted(err) {
		return time.Second
	}
	if errors.Is(err, delivery.ErrHeld) {
		return heldRetry
	}
	var te *delivery.ThrottledError
	if errors.As(err, &te) {
		return te.Delay
	}
	d := 30 * time.Second << min(n, 10)
	d = min(d, 4*time.Hour)
	jitter := rand.N(d/4 + 1)
	return d + jitter
}

// retryable tells asynq what a use case's error means: nothing (nil), a
// permanent failure for invalid input or a record gone (trying again with
// the same task cannot help), else a failure to retry.
func retryable(err error) error {
	switch code := nurture.ErrorCodeOf(err); {
	case err == nil:
		return nil
	case code == nurture.CodeInvalid, code == nurture.CodeNotFound:
		return permanent(err)
	}
	return err
}

// permanent wraps err so that asynq does not retry it.
func permanent(err error) error {
	return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
}

// decode reads a task's JSON payload; a payload that does not parse is a
// permanent failure.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return permanent(fmt.Errorf("%s: bad payload: %w", t.Type(), err))
	}
	return nil
}
