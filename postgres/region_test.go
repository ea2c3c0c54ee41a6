package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A contact's region decides the region of its messages when they are
// created; when the region changes, the messages still waiting move with
// it in the same transaction (queued or deferred), with a line of
// history and marked not enqueued (the reconciler queues them on the new
// region's queue), while those a worker holds or that are done stay.
func TestContactMovesItsPendingMessages(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.Regions = nurture.Regions{Names: []string{"eu", "us", "in"}, Default: "eu"}

	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com", Country: "IN"})
	require.NoError(t, err)
	now := time.Now()
	create := func(key string) *nurture.Message {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", Queue: "critical", SendAt: now, EnqueuedAt: now})
		require.NoError(t, err)
		require.Equal(t, "in", m.Region)
		require.Equal(t, "in.critical", m.TaskQueue())
		return m
	}
	queued, held, done := create("a"), create("b"), create("c")
	claimed, _, err := db.ClaimMessages(ctx, []int64{held.ID, done.ID}, 7, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	_, err = db.RecordOutcomes(ctx, []nurture.Outcome{{MessageID: done.ID, Claim: 7, Status: nurture.StatusSent}})
	require.NoError(t, err)

	tests := []struct {
		name   string
		change func()
		want   string
	}{
		{"a write of the region trait", func() {
			_, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Region: "United States"})
			require.NoError(t, err)
		}, "us"},
		{"a correction of the region trait", func() {
			_, err := db.CorrectContact(ctx, c.ID, &nurture.Correction{Fields: map[string]string{"region": "EU"}})
			require.NoError(t, err)
		}, "eu"},
	}
	for _, tt := range tests {
		tt.change()
		m, err := db.Message(ctx, queued.ID)
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.want, m.Region, tt.name)
		require.Equal(t, tt.want+".critical", m.TaskQueue(), tt.name)
		var enqueued *time.Time
		require.NoError(t, db.Pool().QueryRow(ctx, `SELECT enqueued_at FROM messages WHERE id = $1`, queued.ID).Scan(&enqueued))
		require.Nil(t, enqueued, "%s: the reconciler queues it again, on its new queue", tt.name)
		for _, id := range []int64{held.ID, done.ID} {
			m, err := db.Message(ctx, id)
			require.NoError(t, err)
			require.Equal(t, "in", m.Region, "%s: a held or sent message stays", tt.name)
		}
	}
	history, err := db.MessageHistory(ctx, queued.ID)
	require.NoError(t, err)
	var details []string
	for _, h := range history {
		details = append(details, h.Detail)
	}
	require.Equal(t, []string{"", "moved to region us (from in)", "moved to region eu (from us)"}, details)
}

// Contacts and messages written before the regions were declared get
// theirs from the catch-up pass a worker runs at start.
func TestRehomeContactsStampsWhatCameBefore(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var ids []int64
	for i, country := range []string{"US", "FR", ""} {
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: string(rune('a'+i)) + "@example.com", Country: country})
		require.NoError(t, err)
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k" + country, ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
		require.NoError(t, err)
		require.Empty(t, m.Region, "no regions yet")
		ids = append(ids, m.ID)
	}
	db.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	contacts, moved, err := db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 3, contacts)
	require.Equal(t, 3, moved)
	var got []string
	for _, id := range ids {
		m, err := db.Message(ctx, id)
		require.NoError(t, err)
		got = append(got, m.Region)
	}
	require.Equal(t, []string{"us", "eu", "eu"}, got)
	_, moved, err = db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Zero(t, moved, "a second pass has nothing to do")
}
