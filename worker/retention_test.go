package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// A pass deletes, batch after batch, every event of the default partition
// past the retention and none younger; hits without a retention are kept.
func TestRetentionPassDrainsOldRowsInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.New(testkit.DB(t))
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var calls []nurture.Call
	for i := range 7 {
		at := now.AddDate(0, 0, -400).Add(time.Duration(i) * time.Minute)
		if i == 6 {
			at = now.AddDate(0, 0, -1)
		}
		calls = append(calls, nurture.Call{Type: nurture.EventTrack, MessageID: fmt.Sprint("m", i), UserID: "u1", Name: "report", Timestamp: at})
	}
	_, err := store.Ingest(ctx, calls, nil, now)
	require.NoError(t, err)
	c, err := store.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: now})
	require.NoError(t, err)
	require.NoError(t, store.RecordHits(ctx, []nurture.Hit{{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID,
		Class: nurture.ClassHuman, At: now.AddDate(-2, 0, 0)}}))

	job := &worker.RetentionJob{Store: store, Events: 395 * 24 * time.Hour, Clock: testkit.NewClock(now), Batch: 2, Pause: time.Millisecond}
	res, err := job.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 6, res.Events)
	require.Zero(t, res.Hits)
	var left, hitsLeft int
	require.NoError(t, store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM email_events)`).Scan(&left, &hitsLeft))
	require.Equal(t, 1, left)
	require.Equal(t, 1, hitsLeft, "no hit retention: kept for good")

	res, err = job.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Events, "nothing more is old enough")
}

// A pass makes the coming months' partitions and drops the months wholly
// past the retention, events and hits alike; the month the cutoff falls
// in stays whole. Passes run at once by several workers, or again, change
// nothing more.
func TestRetentionPassDropsWholeMonthsAndMakesTheNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.New(testkit.DB(t))
	now := time.Date(2031, 9, 15, 12, 0, 0, 0, time.UTC)
	june := time.Date(2030, 6, 10, 0, 0, 0, 0, time.UTC)
	_, err := store.EnsurePartitions(ctx, june, 2) // June, July, August 2030
	require.NoError(t, err)
	var calls []nurture.Call
	for i := range 3 {
		calls = append(calls, nurture.Call{Type: nurture.EventTrack, MessageID: fmt.Sprint("m", i), UserID: "u1", Name: "report",
			Timestamp: june.AddDate(0, i, 0)})
	}
	_, err = store.Ingest(ctx, calls, nil, now)
	require.NoError(t, err)
	c, err := store.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: june})
	require.NoError(t, err)
	require.NoError(t, store.RecordHits(ctx, []nurture.Hit{
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID, Class: nurture.ClassHuman, At: june},
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID, Class: nurture.ClassHuman, At: june.AddDate(0, 2, 0)},
	}))

	// 395 days before now is 2030-08-16: June and July are wholly past.
	retention := 395 * 24 * time.Hour
	job := &worker.RetentionJob{Store: store, Events: retention, Hits: retention, Clock: testkit.NewClock(now)}
	res, err := job.Pass(ctx)
	require.NoError(t, err)
	// (The months the migration made, in 2026, are past it too.)
	require.Subset(t, res.Dropped, []string{"events_p203006", "events_p203007", "email_events_p203006", "email_events_p203007"})
	require.NotContains(t, res.Dropped, "events_p203008")
	require.ElementsMatch(t, []string{"events_p203109", "events_p203110", "events_p203111", "events_p203112",
		"email_events_p203109", "email_events_p203110", "email_events_p203111", "email_events_p203112"}, res.Made)
	var events, hits int
	require.NoError(t, store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM email_events)`).Scan(&events, &hits))
	require.Equal(t, 1, events, "August 2030 stays whole")
	require.Equal(t, 1, hits)
	months, err := store.Partitions(ctx, "events")
	require.NoError(t, err)
	require.NotContains(t, months, time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC))
	require.Contains(t, months, time.Date(2031, 12, 1, 0, 0, 0, 0, time.UTC))

	// Three workers at once, a month later: each change is made once.
	results := make(chan worker.RetentionResult, 3)
	errs := make(chan error, 3)
	for range 3 {
		w := &worker.RetentionJob{Store: store, Events: retention, Hits: retention, Clock: testkit.NewClock(now.AddDate(0, 1, 0))}
		go func() {
			r, err := w.Pass(ctx)
			results <- r
			errs <- err
		}()
	}
	var made, dropped []string
	for range 3 {
		require.NoError(t, <-errs)
		r := <-results
		made, dropped = append(made, r.Made...), append(dropped, r.Dropped...)
	}
	require.ElementsMatch(t, []string{"events_p203201", "email_events_p203201"}, made)
	require.ElementsMatch(t, []string{"events_p203008", "email_events_p203008"}, dropped)
}
