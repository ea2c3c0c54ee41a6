package worker_test

import (
	"context"
	"encoding/json"
	"slices"
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

// reconcileBundle is a reconciler on a store of its own and a private Redis,
// with a real worker server whose send handler only reports the message
// ids its tasks carry.
type reconcileBundle struct {
	store   *postgres.DB
	rdb     redis.UniversalClient
	clock   *testkit.Clock
	rec     *worker.Reconciler
	handled chan int64
	contact int64
}

func setupReconcile(t *testing.T) *reconcileBundle {
	t.Helper()
	store := postgres.New(testkit.DB(t))
	redisOpt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { _ = client.Close() })
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { _ = rdb.Close() })

	b := &reconcileBundle{store: store, rdb: rdb, clock: testkit.NewClock(time.Now()), handled: make(chan int64, 100)}
	b.rec = &worker.Reconciler{Store: store, Enqueuer: jobs.NewEnqueuer(client), Marker: jobs.NewQueueMarker(rdb),
		Clock: b.clock, Grace: 2 * time.Minute}
	record := asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		var p jobs.SendPayload
		require.NoError(t, json.Unmarshal(task.Payload(), &p))
		for _, id := range append(p.MessageIDs, p.MessageID) {
			if id != 0 {
				b.handled <- id
			}
		}
		return nil
	})
	srv := worker.New(worker.Config{Redis: redisOpt, Concurrency: 2, ShutdownTimeout: time.Second,
		Handlers: map[string]asynq.Handler{jobs.TypeEmailSend: record, jobs.TypeEmailSendBatch: record}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	c, _, err := store.UpsertContact(context.Background(), &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	b.contact = c.ID
	return b
}

func (b *reconcileBundle) message(t *testing.T, key string, sendAt time.Time) int64 {
	t.Helper()
	m, _, err := b.store.CreateMessage(context.Background(), nurture.Message{DedupeKey: key, ContactID: b.contact, Template: "welcome", SendAt: sendAt})
	require.NoError(t, err)
	return m.ID
}

// pass runs one reconciliation and returns the ids the worker then
// received, waiting for want of them.
func (b *reconcileBundle) pass(t *testing.T, want int) []int64 {
	t.Helper()
	n, err := b.rec.Pass(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, n, "messages enqueued")
	var got []int64
	for range want {
		select {
		case id := <-b.handled:
			got = append(got, id)
		case <-time.After(30 * time.Second):
			t.Fatalf("the worker received %v of %d messages", got, want)
		}
	}
	slices.Sort(got)
	return got
}

func TestReconcilerEnqueuesDueWorkOnce(t *testing.T) {
	t.Parallel()
	b := setupReconcile(t)
	due := b.message(t, "due", b.clock.Now().Add(-time.Minute))
	later := b.message(t, "later", b.clock.Now().Add(time.Hour))

	require.Equal(t, []int64{due}, b.pass(t, 1), "work due in an hour stays in PostgreSQL")
	b.pass(t, 0) // recently enqueued work is left alone

	// An hour later the second one falls due, and the first, never
	// finished (this worker only reports), is past its grace.
	b.clock.Advance(time.Hour)
	require.Equal(t, []int64{due, later}, b.pass(t, 2))
}

func TestReconcilerRequeuesAtOnceWhenRedisLosesItsData(t *testing.T) {
	t.Parallel()
	b := setupReconcile(t)
	due := b.message(t, "due", b.clock.Now().Add(-time.Minute))
	b.pass(t, 1)
	// The worker took the task but the message is not done (it would be
	// claimed and sent by the real handler); now Redis loses everything.
	require.NoError(t, b.rdb.FlushAll(context.Background()).Err())
	b.clock.Advance(time.Second)
	require.Equal(t, []int64{due}, b.pass(t, 1), "no grace to wait for: the marker is gone")
	b.pass(t, 0)
}

func TestReconcilerHandsOverTheWorkOfADeadWorker(t *testing.T) {
	t.Parallel()
	b := setupReconcile(t)
	ctx := context.Background()
	var ids []int64
	for _, key := range []string{"a", "b", "c"} {
		ids = append(ids, b.message(t, key, b.clock.Now().Add(-time.Minute)))
	}
	require.Equal(t, ids, b.pass(t, 3))
	// A worker claims them and dies: its lease lapses.
	claimed, _, err := b.store.ClaimMessages(ctx, ids, 99, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	b.pass(t, 0) // a live claim is left alone
	// It was enqueued a minute ago (within the grace) and its lease lapsed a
	// second ago: only the lapse makes it due again.
	_, err = b.store.Pool().Exec(ctx, `UPDATE messages SET locked_until = now() - interval '1 second',
		enqueued_at = now() - interval '1 minute'`)
	require.NoError(t, err)
	require.Equal(t, ids, b.pass(t, 3), "without waiting for the grace")
}
