package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

func TestReconcilerRecoversWorkLostByRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.New(testkit.DB(t))
	redisOpt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { _ = client.Close() })
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { _ = rdb.Close() })
	clock := testkit.NewClock(time.Now())
	rec := &worker.Reconciler{Store: store, Enqueuer: jobs.NewEnqueuer(client), Clock: clock, Grace: 2 * time.Minute}

	c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	mk := func(key string, sendAt time.Time) *nurture.Message {
		m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", SendAt: sendAt})
		require.NoError(t, err)
		return m
	}
	due := mk("due", clock.Now().Add(-time.Minute))
	later := mk("later", clock.Now().Add(time.Hour))
	// Read the task's key directly: after Redis loses its data, asynq's
	// inspector no longer lists the queue until a new client registers it,
	// although the server still processes it.
	inQueue := func(m *nurture.Message) bool {
		n, err := rdb.Exists(ctx, "asynq:{"+jobs.QueueDefault+"}:t:"+jobs.SendTaskID(m.ID)).Result()
		require.NoError(t, err)
		return n == 1
	}

	n, err := rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, inQueue(due))
	require.False(t, inQueue(later), "work due in an hour stays in Postgres")

	n, err = rec.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "recently enqueued work is left alone")

	// Redis loses everything; after the grace period the work is found again.
	require.NoError(t, rdb.FlushDB(ctx).Err())
	require.False(t, inQueue(due))
	clock.Advance(3 * time.Minute)
	n, err = rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, inQueue(due))

	// An hour later the second message falls due too.
	clock.Advance(time.Hour)
	_, err = rec.Pass(ctx)
	require.NoError(t, err)
	require.True(t, inQueue(later))
}
