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
