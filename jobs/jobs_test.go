package jobs_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
)

func TestEnqueueSendBatchQueuesChunksOnce(t *testing.T) {
	t.Parallel()
	opt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = inspector.Close() })

	ids := make([]int64, 2*jobs.BatchSize+100)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	enqueuer := jobs.NewEnqueuer(client)
	ctx := context.Background()
	for range 2 { // the second call finds every chunk queued already
		chunks, err := enqueuer.EnqueueSendBatch(ctx, "camp:7", jobs.QueueLow, ids)
		require.NoError(t, err)
		require.Equal(t, 3, chunks)
	}

	tasks, err := inspector.ListPendingTasks(jobs.QueueLow)
	require.NoError(t, err)
	require.Len(t, tasks, 3)
	var got []int64
	for _, task := range tasks {
		require.Equal(t, jobs.TypeEmailSendBatch, task.Type)
		require.Equal(t, jobs.SendMaxRetry, task.MaxRetry)
		var p jobs.SendPayload
		require.NoError(t, json.Unmarshal(task.Payload, &p))
		require.LessOrEqual(t, len(p.MessageIDs), jobs.BatchSize)
		got = append(got, p.MessageIDs...)
	}
	slices.Sort(got)
	require.Equal(t, ids, got, "every message in exactly one chunk")
}
