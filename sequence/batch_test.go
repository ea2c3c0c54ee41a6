package sequence_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
)

// changingStore is the real store, except that just before the first
// batch of decisions is applied, enrollment change changes (as when an
// event wakes it, or another advance comes first). It records what each
// apply was asked and answered.
type changingStore struct {
	*postgres.DB
	change  int64
	mu      sync.Mutex
	asked   [][]int64
	applied []map[int64]bool
}

func (s *changingStore) ApplyEnrollments(ctx context.Context, us []nurture.EnrollmentUpdate) ([]nurture.EnrollmentResult, error) {
	s.mu.Lock()
	first := len(s.asked) == 0
	s.mu.Unlock()
	if first {
		if _, err := s.Pool().Exec(ctx, `UPDATE enrollments SET revision = revision + 1 WHERE id = $1`, s.change); err != nil {
			return nil, err
		}
	}
	res, err := s.DB.ApplyEnrollments(ctx, us)
	if err != nil {
		return nil, err
	}
	ids, applied := make([]int64, len(us)), map[int64]bool{}
	for i, u := range us {
		ids[i], applied[u.ID] = u.ID, res[i].Applied
	}
	s.mu.Lock()
	s.asked, s.applied = append(s.asked, ids), append(s.applied, applied)
	s.mu.Unlock()
	return res, nil
}

// enrolled signs up n contacts in the drip sequence (versionA: a send, a
// wait, a send) and returns their enrollments, due now.
func enrolled(t *testing.T, f *flow, users ...string) []nurture.Enrollment {
	t.Helper()
	var ids []int64
	for _, u := range users {
		ids = append(ids, f.signUp(u, nurture.Contact{Email: u + "@example.com"}))
	}
	_, _, err := f.poller.Pass(context.Background()) // enrolls them, and queues their batch
	require.NoError(t, err)
	var es []nurture.Enrollment
	for _, id := range ids {
		es = append(es, f.only(id))
	}
	return es
}

// TestBatchAppliesTheOthersAndDecidesTheChangedOneAgain: in a batch of
// three, the enrollment that changed while the batch was being decided is
// refused by the store; the two others are applied, and the changed one is
// decided again at once, on what is true now. Each gets its welcome once.
func TestBatchAppliesTheOthersAndDecidesTheChangedOneAgain(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}
	f := newFlow(t, fsys, monday10)
	es := enrolled(t, f, "ada", "bob", "cy")
	store := &changingStore{DB: f.store, change: es[1].ID}
	set, err := sequence.Load(fsys, f.tmpl)
	require.NoError(t, err)
	engine := sequence.NewEngine(sequence.EngineConfig{Store: store, Enqueuer: f.enqueuer, Sequences: set, Templates: f.tmpl, Clock: f.clock})

	require.NoError(t, engine.AdvanceBatch(context.Background(), []int64{es[0].ID, es[1].ID, es[2].ID}))
	require.Len(t, store.asked, 2, "one apply for the batch, one for the enrollment that changed")
	require.ElementsMatch(t, []int64{es[0].ID, es[1].ID, es[2].ID}, store.asked[0])
	require.Equal(t, map[int64]bool{es[0].ID: true, es[1].ID: false, es[2].ID: true}, store.applied[0])
	require.Equal(t, []int64{es[1].ID}, store.asked[1])
	require.Equal(t, map[int64]bool{es[1].ID: true}, store.applied[1])

	f.run()
	for _, e := range es {
		now := f.only(e.ContactID)
		require.Equal(t, nurture.EnrollmentActive, now.Status)
		require.Equal(t, "pause", now.Step, "the send and the wait after it")
		require.Equal(t, []string{"welcome"}, f.templatesSent(e.ContactID))
	}
	require.Len(t, f.smtp.Messages(), 3)
}

// TestBatchQueuedTwiceSendsEachEmailOnce: the same batch queued again is
// one task, and the batch advanced twice at once, besides its task, creates
// each enrollment's email once.
func TestBatchQueuedTwiceSendsEachEmailOnce(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}, monday10)
	es := enrolled(t, f, "ada", "bob", "cy", "dee")
	ctx := context.Background()
	queued, err := f.enqueuer.EnqueueAdvanceBatch(ctx, es)
	require.NoError(t, err)
	require.False(t, queued, "the poller queued this batch already")

	ids := []int64{es[3].ID, es[2].ID, es[1].ID, es[0].ID}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := f.engine.AdvanceBatch(ctx, ids); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.run() // the queued task too, and the emails' delivery
	for _, e := range es {
		var n int
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, e.ContactID).Scan(&n))
		require.Equal(t, 1, n)
		require.Equal(t, "pause", f.only(e.ContactID).Step)
	}
	require.Len(t, f.smtp.Messages(), 4)
}
