package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Retention deletes only the events and hits older than its limit, in
// batches of the size asked, and what they added up to stays: the
// engagement summary, the action counts the sequences read, the last open
// and click by a person.
func TestRetentionDeletesOnlyOldRows(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	old, recent := now.AddDate(-2, 0, 0), now.AddDate(0, 0, -10)
	cutoff := now.AddDate(0, 0, -395)
	var calls []nurture.Call
	for i, at := range []time.Time{old, old.Add(time.Hour), old.Add(2 * time.Hour), recent} {
		calls = append(calls, nurture.Call{Type: nurture.EventTrack, MessageID: fmt.Sprint("t", i), UserID: "u1", Name: "report", Timestamp: at})
	}
	calls = append(calls, nurture.Call{Type: nurture.EventPage, MessageID: "p", UserID: "u1", Timestamp: old})
	_, err := db.Ingest(ctx, calls, nil, now)
	require.NoError(t, err)
	ada, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	before, err := db.Engagement(ctx, ada.ID)
	require.NoError(t, err)

	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: ada.ID, Template: "welcome", SendAt: old})
	require.NoError(t, err)
	hit := func(kind nurture.HitKind, class nurture.HitClass, at time.Time) nurture.Hit {
		return nurture.Hit{Kind: kind, MessageID: m.ID, ContactID: ada.ID, Class: class, At: at}
	}
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		hit(nurture.HitOpen, nurture.ClassHuman, old), hit(nurture.HitClick, nurture.ClassHuman, old.Add(time.Minute)),
		hit(nurture.HitOpen, nurture.ClassMachine, old.Add(time.Hour)), hit(nurture.HitOpen, nurture.ClassHuman, recent),
	}))
	withHits, err := db.Engagement(ctx, ada.ID)
	require.NoError(t, err)
	require.True(t, withHits.LastClick.Equal(old.Add(time.Minute)))

	// Batches of two: the four old events take two full batches and an empty one.
	var got []int
	for {
		n, err := db.DeleteEventsBefore(ctx, cutoff, 2)
		require.NoError(t, err)
		got = append(got, n)
		if n < 2 {
			break
		}
	}
	require.Equal(t, []int{2, 2, 0}, got)
	n, err := db.DeleteHitsBefore(ctx, cutoff, 10)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	var events, hits int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM email_events)`).Scan(&events, &hits))
	require.Equal(t, 1, events, "the recent event stays")
	require.Equal(t, 1, hits, "the recent open stays")

	after, err := db.Engagement(ctx, ada.ID)
	require.NoError(t, err)
	require.True(t, after.FirstSeen.Equal(before.FirstSeen))
	require.Equal(t, before.PageViews, after.PageViews)
	require.Equal(t, map[string]int64{"report": 4}, after.Actions)
	require.True(t, after.LastOpen.Equal(recent))
	require.True(t, after.LastClick.Equal(old.Add(time.Minute)), "the last click, though its row is gone")

	facts, err := db.LoadFacts(ctx, ada.ID, nurture.FactsNeeds{ConditionRefs: nurture.ConditionRefs{Events: []string{nurture.EventKey("report")}}}, now)
	require.NoError(t, err)
	require.EqualValues(t, 4, facts.Events[nurture.EventKey("report")].Count, "what the sequences count stays")
}
