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

// When Redis loses its data, the marker says so once. A pass that then
// fails half-way (here the database is cut off) must not spend that news:
// the next pass still enqueues everything at once instead of leaving it to
// the two-minute grace. (The fault suite found this: a deadlock in the
// pass after a Redis restart left the single path idle for 1m39s.)
func TestReconcilerKeepsRedisLossUntilAPassSucceeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.DB(t)
	store := postgres.New(pool)
	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	cutOff := postgres.New(testkit.DBVia(t, pool, proxy.Addr))

	redisOpt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { _ = client.Close() })
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { _ = rdb.Close() })
	clock := testkit.NewClock(time.Now())
	rec := &worker.Reconciler{Store: cutOff, Enqueuer: jobs.NewEnqueuer(client), Marker: jobs.NewQueueMarker(rdb),
		Clock: clock, Grace: 2 * time.Minute}

	c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	_, _, err = store.CreateMessage(ctx, nurture.Message{DedupeKey: "due", ContactID: c.ID, Template: "welcome", SendAt: clock.Now().Add(-time.Minute)})
	require.NoError(t, err)

	n, err := rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the first pass enqueues the due message")

	require.NoError(t, rdb.FlushAll(ctx).Err())
	proxy.Cut()
	clock.Advance(time.Second)
	_, err = rec.Pass(ctx)
	require.Error(t, err, "the pass cannot reach the database")

	proxy.Restore()
	clock.Advance(time.Second)
	n, err = rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "Redis lost the task: it is enqueued again at once, not after the grace")

	n, err = rec.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the news is spent once a pass succeeded")
}
