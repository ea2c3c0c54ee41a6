package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// TestEnrollConcurrentlyEnrollsOnce: eight triggers of the same sequence
// for the same contact at once make one enrollment; entry rules see the
// others' work.
func TestEnrollConcurrentlyEnrollsOnce(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	once := func(past []nurture.Enrollment) (bool, string) { return len(past) == 0, "enrolled before" }
	var wg sync.WaitGroup
	ids := make(chan int64, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, _, err := db.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "s", Version: "v1", Topic: nurture.TopicOnboarding,
				State: []byte(`{}`), NextRun: t0, Started: t0}, once)
			if err != nil {
				t.Error(err)
			}
			if e != nil {
				ids <- e.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	require.Len(t, ids, 1)
	es, err := db.ContactEnrollments(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, es, 1)
}

// TestApplyEnrollmentRefusesAStaleRevision: a decision made on a revision
// that changed meanwhile (a wake) applies nothing, its message included.
func TestApplyEnrollmentRefusesAStaleRevision(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	e, _, err := db.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "s", Version: "v1", Topic: nurture.TopicOnboarding,
		State: []byte(`{}`), NextRun: t0, Started: t0}, func([]nurture.Enrollment) (bool, string) { return true, "" })
	require.NoError(t, err)
	u := nurture.EnrollmentUpdate{ID: e.ID, Revision: e.Revision, Status: nurture.EnrollmentActive, Step: "wait", State: []byte(`{}`),
		NextRun: t0.Add(time.Hour), WakeKeys: []string{nurture.WakeEvent("demobooked")}, At: t0}
	_, applied, err := db.ApplyEnrollment(ctx, u)
	require.NoError(t, err)
	require.True(t, applied)

	n, err := db.WakeEnrollments(ctx, c.ID, []string{nurture.WakeEvent("demobooked")}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	woken, err := db.Enrollment(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), woken.NextRun.UTC(), "due at the wake")

	u.Revision++ // the revision after the first update, before the wake
	u.Message = &nurture.Message{DedupeKey: fmt.Sprintf("seq:%d:x", e.ID), Template: "welcome", SendAt: t0}
	msg, applied, err := db.ApplyEnrollment(ctx, u)
	require.NoError(t, err)
	require.False(t, applied)
	require.Nil(t, msg)
	var msgs int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&msgs))
	require.Zero(t, msgs)
}

// TestSignalsAreSharedBetweenPollers: pollers claiming signals at once
// never get the same one, and together get them all.
func TestSignalsAreSharedBetweenPollers(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.WatchSequences(postgres.SequenceTriggers{Events: []string{"signedup"}})
	var calls []nurture.Call
	for i := range 200 {
		user := fmt.Sprintf("u%d", i)
		calls = append(calls, identify("i"+user, user, "", t0, nurture.Contact{Email: user + "@example.com"}),
			track("t"+user, user, "", "signed_up", t0))
	}
	ingest(t, db, calls...)
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				sigs, err := db.ClaimSignals(context.Background(), 25, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(sigs) == 0 {
					return
				}
				mu.Lock()
				for _, s := range sigs {
					got = append(got, s.ID)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, got, 200)
	slices.Sort(got)
	require.Len(t, slices.Compact(got), 200, "no signal twice")
	require.NoError(t, db.DeleteSignals(ctx, got))
	sigs, err := db.ClaimSignals(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, sigs)
}

// TestEraseDeletesEnrollments: deleting a contact deletes its
// enrollments, their history, wake index, signals and its messages' reasons.
func TestEraseDeletesEnrollments(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.WatchSequences(postgres.SequenceTriggers{Events: []string{"signedup"}})
	ingest(t, db, identify("i1", "u1", "", t0, nurture.Contact{Email: "ada@example.com"}), track("t1", "u1", "", "signed_up", t0))
	c, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	e, _, err := db.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "s", Version: "v1", Topic: nurture.TopicOnboarding,
		State: []byte(`{}`), NextRun: t0, Started: t0}, func([]nurture.Enrollment) (bool, string) { return true, "" })
	require.NoError(t, err)
	_, _, err = db.ApplyEnrollment(ctx, nurture.EnrollmentUpdate{ID: e.ID, Revision: e.Revision, Status: nurture.EnrollmentActive,
		Step: "hi", State: []byte(`{}`), NextRun: t0, WakeKeys: []string{nurture.WakeTraits}, At: t0,
		History: []nurture.EnrollmentRecord{{Step: "hi", Kind: "sent", At: t0}},
		Message: &nurture.Message{DedupeKey: "seq:1:hi", Template: "welcome", SendAt: t0},
		Reasons: &nurture.MessageReasons{EnrollmentID: e.ID, Sequence: "s", Version: "v1", Step: "hi", Reasons: []string{"because"}}})
	require.NoError(t, err)

	_, err = db.Pool().Exec(ctx, `DELETE FROM contacts WHERE id = $1`, c.ID)
	require.NoError(t, err)
	for _, table := range []string{"enrollments", "enrollment_history", "enrollment_wakes", "sequence_signals", "message_reasons", "messages"} {
		var n int
		require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		require.Zero(t, n, table)
	}
}

// TestDueEnrollmentsReturnsWhatIsNotKnownToBeQueued: of the active
// enrollments due, those never queued, those changed since they were
// queued and those queued before staleBefore come back (the stale ones
// first); one queued at its revision since staleBefore, one not due yet
// and one that ended do not.
func TestDueEnrollmentsReturnsWhatIsNotKnownToBeQueued(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	enroll := func(user string, nextRun time.Time) nurture.Enrollment {
		t.Helper()
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: user, Email: user + "@example.com"})
		require.NoError(t, err)
		e, _, err := db.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "s", Version: "v1", Topic: nurture.TopicOnboarding,
			State: []byte(`{}`), NextRun: nextRun, Started: t0}, func([]nurture.Enrollment) (bool, string) { return true, "" })
		require.NoError(t, err)
		return *e
	}
	now, staleBefore := t0.Add(time.Hour), t0.Add(time.Hour-time.Minute)
	never := enroll("never", t0)
	changed := enroll("changed", t0)
	stale := enroll("stale", t0)
	fresh := enroll("fresh", t0)
	later := enroll("later", now.Add(time.Minute))
	ended := enroll("ended", t0)
	require.NoError(t, db.MarkEnrollmentsQueued(ctx, []nurture.Enrollment{changed, fresh}, now.Add(-time.Second)))
	require.NoError(t, db.MarkEnrollmentsQueued(ctx, []nurture.Enrollment{stale}, staleBefore.Add(-time.Second)))
	_, applied, err := db.ApplyEnrollment(ctx, nurture.EnrollmentUpdate{ID: changed.ID, Revision: changed.Revision,
		Status: nurture.EnrollmentActive, Step: "next", State: []byte(`{}`), NextRun: t0, At: t0})
	require.NoError(t, err)
	require.True(t, applied)
	_, applied, err = db.ApplyEnrollment(ctx, nurture.EnrollmentUpdate{ID: ended.ID, Revision: ended.Revision,
		Status: nurture.EnrollmentCompleted, State: []byte(`{}`), At: t0})
	require.NoError(t, err)
	require.True(t, applied)

	due, err := db.DueEnrollments(ctx, now, staleBefore, 10)
	require.NoError(t, err)
	ids := make([]int64, len(due))
	for i, e := range due {
		ids[i] = e.ID
	}
	require.Equal(t, stale.ID, ids[0], "the stale first")
	require.ElementsMatch(t, []int64{never.ID, changed.ID, stale.ID}, ids)
	require.NotContains(t, ids, later.ID)

	limited, err := db.DueEnrollments(ctx, now, staleBefore, 2)
	require.NoError(t, err)
	require.Len(t, limited, 2, "the limit holds over both halves")

	require.NoError(t, db.MarkEnrollmentsQueued(ctx, due, now))
	due, err = db.DueEnrollments(ctx, now, staleBefore, 10)
	require.NoError(t, err)
	require.Empty(t, due, "all queued at their revision since staleBefore")
}

// TestWakeEnrollmentsBatchWakesByContactAndKey: each (contact, key) pair
// wakes the enrollments of that contact waiting on that key, and no other.
func TestWakeEnrollmentsBatchWakesByContactAndKey(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var es []nurture.Enrollment
	for i, key := range []string{"a", "b", "a"} {
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)})
		require.NoError(t, err)
		e, _, err := db.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "s", Version: "v1", Topic: nurture.TopicOnboarding,
			State: []byte(`{}`), NextRun: t0, Started: t0}, func([]nurture.Enrollment) (bool, string) { return true, "" })
		require.NoError(t, err)
		_, applied, err := db.ApplyEnrollment(ctx, nurture.EnrollmentUpdate{ID: e.ID, Revision: e.Revision, Status: nurture.EnrollmentActive,
			Step: "wait", State: []byte(`{}`), NextRun: t0.Add(24 * time.Hour), WakeKeys: []string{nurture.WakeEvent(key)}, At: t0})
		require.NoError(t, err)
		require.True(t, applied)
		es = append(es, *e)
	}
	// u0 did a, u1 did a (it waits on b), u2 did b (it waits on a).
	n, err := db.WakeEnrollmentsBatch(ctx, []int64{es[0].ContactID, es[1].ContactID, es[2].ContactID},
		[]string{nurture.WakeEvent("a"), nurture.WakeEvent("a"), nurture.WakeEvent("b")}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for i, want := range []time.Time{t0.Add(time.Minute), t0.Add(24 * time.Hour), t0.Add(24 * time.Hour)} {
		got, err := db.Enrollment(ctx, es[i].ID)
		require.NoError(t, err)
		require.Equal(t, want, got.NextRun.UTC(), "enrollment %d", i)
	}
}
