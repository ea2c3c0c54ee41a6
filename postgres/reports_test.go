package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// replicaWorld is a private primary, migrated, and its streaming replica.
type replicaWorld struct {
	pair    *testkit.ReplicaPair
	store   *postgres.DB // the primary, as the send path reads it
	replica *pgxpool.Pool
	trial   nurture.Condition
	ctx     context.Context
	n       int
}

func newReplicaWorld(t *testing.T) *replicaWorld {
	t.Helper()
	ctx := context.Background()
	pair := testkit.NewReplicaPair(t)
	primary, err := postgres.Connect(ctx, pair.PrimaryURL(), postgres.NoPooler)
	require.NoError(t, err)
	t.Cleanup(primary.Close)
	require.NoError(t, postgres.Migrate(ctx, primary, postgres.NoPooler, nil))
	replica, err := postgres.ConnectReplica(pair.ReplicaURL(), postgres.NoPooler)
	require.NoError(t, err)
	t.Cleanup(replica.Close)
	trial, err := nurture.ParseCondition(`traits.plan == "trial"`)
	require.NoError(t, err)
	return &replicaWorld{pair: pair, store: postgres.New(primary), replica: replica, trial: trial, ctx: ctx}
}

// signUp writes n trial contacts on the primary.
func (w *replicaWorld) signUp(t *testing.T, n int) {
	t.Helper()
	for range n {
		w.n++
		c := &nurture.Contact{ExternalID: fmt.Sprintf("u%d", w.n), Email: fmt.Sprintf("u%d@example.com", w.n),
			Attributes: map[string]any{"plan": "trial"}}
		_, _, err := w.store.UpsertContact(w.ctx, c)
		require.NoError(t, err)
	}
}

func (w *replicaWorld) reports(cfg postgres.ReportsConfig) *postgres.Reports {
	return postgres.NewReports(w.store, w.replica, cfg)
}

// count is a segment's audience as reports (or the primary) answer it now.
func (w *replicaWorld) count(t *testing.T, r interface {
	SegmentCount(context.Context, nurture.Condition, time.Time) (int64, error)
}) int64 {
	t.Helper()
	n, err := r.SegmentCount(w.ctx, w.trial, time.Now())
	require.NoError(t, err)
	return n
}

// sourceLog records where reports read, as internal/metrics would.
type sourceLog struct {
	mu      sync.Mutex
	replica bool
	reason  string
	lags    []time.Duration
}

func (s *sourceLog) ReplicaLag(lag time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lags = append(s.lags, lag)
}

func (s *sourceLog) ReportsSource(replica bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replica, s.reason = replica, reason
}

func (s *sourceLog) last() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replica, s.reason
}

// A report reads the replica: with its replay paused, a segment preview
// answers the replica's older state while the primary, which the send
// path reads, has the new sign-ups; once replay resumes it has them too.
func TestReportsReadTheReplica(t *testing.T) {
	t.Parallel()
	w := newReplicaWorld(t)
	obs := &sourceLog{}
	reports := w.reports(postgres.ReportsConfig{MaxLag: time.Hour, Observer: obs})

	w.signUp(t, 2)
	w.pair.WaitReplayed()
	w.pair.PauseReplay()
	w.signUp(t, 3)

	require.EqualValues(t, 2, w.count(t, reports), "the report reads the paused replica")
	require.EqualValues(t, 5, w.count(t, w.store), "the primary has every sign-up")
	sample, err := reports.SegmentSample(w.ctx, w.trial, time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, sample, 2)
	onReplica, reason := obs.last()
	require.True(t, onReplica, "reason %q", reason)

	w.pair.ResumeReplay()
	w.pair.WaitReplayed()
	require.EqualValues(t, 5, w.count(t, reports))
}

// A replica more than MaxLag behind sends reports to the primary, with a
// log line and the reason; caught up again, and then idle (its last
// replayed transaction older than MaxLag, nothing left to replay), it is
// fresh again.
func TestReportsFallBackWhenTheReplicaLags(t *testing.T) {
	t.Parallel()
	w := newReplicaWorld(t)
	obs := &sourceLog{}
	var logs testkit.SyncBuffer
	reports := w.reports(postgres.ReportsConfig{MaxLag: time.Second, CheckEvery: time.Millisecond, Observer: obs,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	w.signUp(t, 1)
	w.pair.WaitReplayed()
	require.EqualValues(t, 1, w.count(t, reports))
	onReplica, _ := obs.last()
	require.True(t, onReplica)

	w.pair.PauseReplay()
	w.signUp(t, 2)
	require.Eventually(t, func() bool {
		n := w.count(t, reports)
		onReplica, reason := obs.last()
		return n == 3 && !onReplica && reason == postgres.FallbackLagging
	}, time.Minute, 50*time.Millisecond, "reports read the primary once the replica lags more than a second")
	require.Contains(t, logs.String(), "reports read the primary")
	require.Contains(t, logs.String(), "reason=lagging")

	w.pair.ResumeReplay()
	w.pair.WaitReplayed()
	time.Sleep(1500 * time.Millisecond) // idle for longer than MaxLag: no WAL to replay is fresh
	require.EqualValues(t, 3, w.count(t, reports))
	onReplica, reason := obs.last()
	require.True(t, onReplica, "an idle, caught-up replica is fresh (reason %q)", reason)
	require.Contains(t, logs.String(), "reports read the replica")
}

// A replica that stops answers no report: the report that finds it gone
// is answered by the primary, and so are the next ones, until a check
// finds it back.
func TestReportsFallBackWhenTheReplicaStops(t *testing.T) {
	t.Parallel()
	w := newReplicaWorld(t)
	obs := &sourceLog{}
	// Checked once an hour: the failed query itself must send the report
	// to the primary.
	reports := w.reports(postgres.ReportsConfig{MaxLag: time.Hour, CheckEvery: time.Hour, Observer: obs})
	w.signUp(t, 2)
	w.pair.WaitReplayed()
	require.EqualValues(t, 2, w.count(t, reports))

	w.pair.StopReplica()
	w.signUp(t, 1)
	require.EqualValues(t, 3, w.count(t, reports), "answered by the primary")
	onReplica, reason := obs.last()
	require.False(t, onReplica)
	require.Equal(t, postgres.FallbackQueryFailed, reason)
	require.EqualValues(t, 3, w.count(t, reports))

	// Checked at every report: the check finds it unreachable, then back.
	checked := &sourceLog{}
	often := w.reports(postgres.ReportsConfig{MaxLag: time.Hour, CheckEvery: time.Millisecond, Observer: checked})
	require.EqualValues(t, 3, w.count(t, often))
	onReplica, reason = checked.last()
	require.False(t, onReplica)
	require.Equal(t, postgres.FallbackUnreachable, reason)

	w.pair.StartReplica()
	w.pair.WaitReplayed()
	require.EqualValues(t, 3, w.count(t, often))
	onReplica, reason = checked.last()
	require.True(t, onReplica, "reason %q", reason)
}

// Without a replica every report reads the primary.
func TestReportsWithoutAReplicaReadThePrimary(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "a", Email: "a@example.com", Attributes: map[string]any{"plan": "trial"}})
	require.NoError(t, err)
	trial, err := nurture.ParseCondition(`traits.plan == "trial"`)
	require.NoError(t, err)
	n, err := postgres.NewReports(db, nil, postgres.ReportsConfig{}).SegmentCount(ctx, trial, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}
