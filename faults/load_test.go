package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtpsink"
	"github.com/nurture-email/nurture/jobs"
)

// The two ways email reaches the worker.
const (
	// pathBatch: message rows, and email:send-batch tasks of 250 ids
	// queued with jobs.EnqueueSendBatch, as a campaign dispatch does.
	pathBatch = "batch"
	// pathSingle: message rows, and one email:send task per message
	// queued with jobs.Enqueuer.EnqueueSend, as the API does for a
	// welcome email.
	pathSingle = "single"
)

// template is what every scenario sends: the short check-in note (topic
// onboarding, so that an unsubscribe cancels it).
const template = "check-in"

// mailDomain is the recipients' domain.
const mailDomain = "faults.example"

// message is one row the suite created, and what the sink should see.
type message struct {
	id, contactID int64
	email         string
	tag           smtpsink.Tag
}

// fill creates n contacts and one queued message each, with COPY; tagOf
// chooses each recipient's fault tag. The rows are marked enqueued now, as
// a creator that enqueues at once marks them, so the reconciler leaves them
// to the tasks unless those are lost.
func (e *env) fill(n int, tagOf func(i int) smtpsink.Tag) []message {
	e.t.Helper()
	ctx := context.Background()
	msgs := make([]message, n)
	for i := range msgs {
		tag := smtpsink.TagNone
		if tagOf != nil {
			tag = tagOf(i)
		}
		msgs[i] = message{email: smtpsink.Address(tag, fmt.Sprintf("p%d", i+1), mailDomain), tag: tag}
	}
	i := 0
	_, err := e.pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "company", "time_zone"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{msgs[i-1].email, "Ada", "Acme", "Europe/Paris"}, nil
		}))
	require.NoError(e.t, err, "copy contacts")
	ids := map[string]int64{}
	rows, _ := e.pool.Query(ctx, `SELECT id, email FROM contacts`)
	var id int64
	var email string
	_, err = pgx.ForEachRow(rows, []any{&id, &email}, func() error { ids[email] = id; return nil })
	require.NoError(e.t, err)
	now := time.Now()
	i = 0
	_, err = e.pool.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"dedupe_key", "contact_id", "template", "queue", "send_at", "enqueued_at"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{fmt.Sprintf("camp:faults:%d", i), ids[msgs[i-1].email], template, jobs.QueueLow, now, now}, nil
		}))
	require.NoError(e.t, err, "copy messages")
	byContact := map[int64]int64{}
	rows, _ = e.pool.Query(ctx, `SELECT id, contact_id FROM messages`)
	var mid, cid int64
	_, err = pgx.ForEachRow(rows, []any{&mid, &cid}, func() error { byContact[cid] = mid; return nil })
	require.NoError(e.t, err)
	for i := range msgs {
		msgs[i].contactID = ids[msgs[i].email]
		msgs[i].id = byContact[msgs[i].contactID]
	}
	return msgs
}

// enqueue hands the messages to the worker by path, and returns when it
// began: the start of the time to finish.
func (e *env) enqueue(path string, msgs []message) time.Time {
	e.t.Helper()
	ctx := context.Background()
	enq := jobs.NewEnqueuer(e.queue)
	start := time.Now()
	switch path {
	case pathBatch:
		ids := make([]int64, len(msgs))
		for i, m := range msgs {
			ids[i] = m.id
		}
		_, err := enq.EnqueueSendBatch(ctx, "faults", jobs.QueueLow, ids)
		require.NoError(e.t, err, "enqueue")
	case pathSingle:
		for _, m := range msgs {
			require.NoError(e.t, enq.EnqueueSend(ctx, &nurture.Message{ID: m.id, Queue: jobs.QueueLow, SendAt: start}), "enqueue")
		}
	default:
		require.Failf(e.t, "unknown path", "%q", path)
	}
	return start
}
