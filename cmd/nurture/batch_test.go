package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/postgres"
)

// TestBatchGoesOutOnceThroughTheWorker sends a campaign-sized batch the way
// a dispatch does (jobs.EnqueueSendBatch, chunk tasks of 250) through the
// real worker: every recipient gets exactly one email, even though the
// batch is dispatched twice, and the one address the relay refuses is
// bounced and suppressed while the rest of its chunk goes out.
func TestBatchGoesOutOnceThroughTheWorker(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.smtp.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Match: "nobody@"})
	store := postgres.New(e.pool)
	ctx := context.Background()

	const n = 2*jobs.BatchSize + 37
	ids := make([]int64, 0, n)
	for i := range n {
		email := fmt.Sprintf("reader%d@example.com", i)
		if i == 300 {
			email = "nobody@example.com"
		}
		c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: email, FirstName: "Reader"})
		require.NoError(t, err)
		m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprintf("camp:1:%d", c.ID), ContactID: c.ID,
			Template: "newsletter", Queue: jobs.QueueLow, SendAt: time.Now()})
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	opt, err := asynq.ParseRedisURI(e.env["NURTURE_REDIS_URL"])
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	for range 2 {
		chunks, err := jobs.NewEnqueuer(client).EnqueueSendBatch(ctx, "camp:1", jobs.QueueLow, ids)
		require.NoError(t, err)
		require.Equal(t, 3, chunks)
	}

	e.start("worker")
	e.smtp.WaitForMessages(t, n-1, 60*time.Second)
	require.Eventually(t, func() bool {
		var done int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status IN ('sent', 'bounced')`).Scan(&done))
		return done == n
	}, 30*time.Second, 50*time.Millisecond)

	// Every message is settled: whatever the relay has now is all it gets.
	msgs := e.smtp.Messages()
	require.Len(t, msgs, n-1)
	var to []string
	for _, m := range msgs {
		require.Len(t, m.To, 1)
		to = append(to, m.To[0])
	}
	slices.Sort(to)
	require.Len(t, slices.Compact(slices.Clone(to)), n-1, "no one got two emails")
	require.NotContains(t, to, "nobody@example.com")

	statuses := map[string]int{}
	rows, err := e.pool.Query(ctx, `SELECT status, count(*) FROM messages GROUP BY status`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		var c int
		require.NoError(t, rows.Scan(&s, &c))
		statuses[s] = c
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]int{"sent": n - 1, "bounced": 1}, statuses)
	suppressed, err := store.SuppressedAmong(ctx, []string{"nobody@example.com", "reader1@example.com"})
	require.NoError(t, err)
	require.Contains(t, suppressed, "nobody@example.com")
	require.NotContains(t, suppressed, "reader1@example.com")
}
