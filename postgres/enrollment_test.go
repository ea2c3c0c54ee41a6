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
