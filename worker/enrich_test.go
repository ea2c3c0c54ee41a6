package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// PostgreSQL knows who awaits enrichment, Redis only carries the work: the
// poller queues each new contact once, queues again at once what a
// flushed Redis lost, and a worker serving the enrich queue does the
// work (research off here: linking by domain and reading titles).
func TestEnrichPollerQueuesWhatIsDueAndWhatRedisLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.New(testkit.DB(t))
	redisOpt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { _ = client.Close() })
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { _ = rdb.Close() })
	inspector := asynq.NewInspector(redisOpt)
	t.Cleanup(func() { _ = inspector.Close() })
	queued := func() int {
		info, err := inspector.GetQueueInfo(jobs.QueueEnrich)
		if err != nil {
			return 0 // no such queue yet
		}
		return info.Pending + info.Active
	}

	poller := &worker.EnrichPoller{Store: store, Enqueuer: jobs.NewEnqueuer(client), Marker: jobs.NewEnrichMarker(rdb)}
	emails := []string{"ada@initech.de", "bob@initech.de", "carol@gmail.com"}
	var ids []int64
	for _, e := range emails {
		c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: e, Title: "Head of Sales"})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	_, _, err = store.UpsertContact(ctx, &nurture.Contact{ExternalID: "anon-1"})
	require.NoError(t, err)

	n, err := poller.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "every contact with an address, none without")
	require.Equal(t, 3, queued())
	n, err = poller.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "queued already")

	require.NoError(t, rdb.FlushAll(ctx).Err())
	n, err = poller.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "Redis lost the tasks: queued again at once")

	enricher := enrich.NewEnricher(enrich.EnricherConfig{Store: store})
	w := worker.New(worker.Config{Redis: redisOpt, Concurrency: 2, Queues: map[string]int{jobs.QueueEnrich: 1},
		Handlers: map[string]asynq.Handler{jobs.TypeLeadEnrich: jobs.NewEnrichHandler(enricher)}})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { stop(); require.NoError(t, <-done) })

	require.Eventually(t, func() bool {
		for _, id := range ids {
			e, err := store.Enrichment(ctx, id)
			if err != nil || !e.DueAt.IsZero() {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond)
	for i, id := range ids {
		e, err := store.Enrichment(ctx, id)
		require.NoError(t, err)
		require.Equal(t, nurture.EnrichmentSkipped, e.Status)
		c, err := store.Contact(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "Sales", c.Department, emails[i])
		require.Equal(t, "Director", c.Seniority, emails[i])
	}
	ada, err := store.Contact(ctx, ids[0])
	require.NoError(t, err)
	bob, err := store.Contact(ctx, ids[1])
	require.NoError(t, err)
	require.NotZero(t, ada.CompanyID)
	require.Equal(t, ada.CompanyID, bob.CompanyID, "one company for the domain")
	n, err = poller.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing awaits")
}
