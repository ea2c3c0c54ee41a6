package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

func setup(t *testing.T) (*postgres.DB, context.Context) {
	t.Helper()
	return postgres.New(testkit.DB(t)), context.Background()
}

func TestUpsertContactMergesByExternalIDThenEmail(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)

	c, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com", FirstName: "Ada",
		Attributes: map[string]any{"plan": "trial"}})
	require.NoError(t, err)
	require.True(t, created)

	// Same user, new fields: merged, empty fields keep their value.
	c2, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Company: "Acme",
		Attributes: map[string]any{"seats": float64(3)}})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c2.ID)
	require.Equal(t, "Ada", c2.FirstName)
	require.Equal(t, "Acme", c2.Company)
	require.Equal(t, map[string]any{"plan": "trial", "seats": float64(3)}, c2.Attributes)

	// Found by email, whatever its case, and given the external id.
	c3, created, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ADA@example.com", LastName: "Lovelace"})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c3.ID)
	require.Equal(t, "Lovelace", c3.LastName)
	require.Equal(t, "ADA@example.com", c3.Email, "the newest address is kept")
}

func TestUpsertContactNeverMergesTwoUsers(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "shared@example.com"})
	require.NoError(t, err)

	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	// u2 exists on its own, then claims u1's address: refused as well.
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "u2@example.com"})
	require.NoError(t, err)
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	u1, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, "shared@example.com", u1.Email)
}

func TestUpsertContactConcurrentCreatesOneContact(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ids := make(chan int64, 8)
	for range 8 {
		go func() {
			c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "same", Email: "same@example.com"})
			if err != nil {
				t.Error(err)
				ids <- 0
				return
			}
			ids <- c.ID
		}()
	}
	first := <-ids
	for range 7 {
		require.Equal(t, first, <-ids)
	}
}

func TestMessageLifecycle(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	now := time.Now().UTC()
	m, created, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k1", ContactID: c.ID, Template: "welcome", SendAt: now})
	require.NoError(t, err)
	require.True(t, created)

	again, created, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k1", ContactID: c.ID, Template: "welcome", SendAt: now})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, m.ID, again.ID)

	claimed, ok, err := db.ClaimMessage(ctx, m.ID, now, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, nurture.StatusSending, claimed.Status)
	require.Equal(t, 1, claimed.Attempts)

	// A second attempt while the lease holds is refused; after it expires it may take over.
	_, ok, err = db.ClaimMessage(ctx, m.ID, now.Add(30*time.Second), time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = db.ClaimMessage(ctx, m.ID, now.Add(2*time.Minute), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, db.FinishMessage(ctx, m.ID, nurture.StatusSent, "", now.Add(2*time.Minute)))
	final, ok, err := db.ClaimMessage(ctx, m.ID, now.Add(time.Hour), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a sent message is never claimed again")
	require.Equal(t, nurture.StatusSent, final.Status)
	require.False(t, final.SentAt.IsZero())

	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(db.FinishMessage(ctx, m.ID, nurture.StatusSent, "", now)))

	hist, err := db.MessageHistory(ctx, m.ID)
	require.NoError(t, err)
	var statuses []nurture.MessageStatus
	for _, h := range hist {
		statuses = append(statuses, h.Status)
	}
	require.Equal(t, []nurture.MessageStatus{"queued", "sending", "sending", "sent"}, statuses)
}

func TestInterruptedAttemptGivesBackItsAttempt(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	now := time.Now().UTC()
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k1", ContactID: c.ID, Template: "welcome", SendAt: now})
	require.NoError(t, err)
	_, ok, err := db.ClaimMessage(ctx, m.ID, now, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, db.FinishMessage(ctx, m.ID, nurture.StatusQueued, "interrupted", now))
	got, err := db.Message(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusQueued, got.Status)
	require.Zero(t, got.Attempts)
}

func TestDueMessagesFindsLostWork(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	mk := func(key string, sendAt, enqueuedAt time.Time) int64 {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", SendAt: sendAt, EnqueuedAt: enqueuedAt})
		require.NoError(t, err)
		return m.ID
	}
	never := mk("never-enqueued", now.Add(-time.Hour), time.Time{})
	stale := mk("enqueued-long-ago", now.Add(-time.Hour), now.Add(-time.Hour))
	mk("just-enqueued", now.Add(-time.Second), now.Add(-time.Second))
	mk("due-tomorrow", now.Add(24*time.Hour), time.Time{})
	sent := mk("sent", now.Add(-time.Hour), time.Time{})
	_, _, err = db.ClaimMessage(ctx, sent, now, time.Minute)
	require.NoError(t, err)
	require.NoError(t, db.FinishMessage(ctx, sent, nurture.StatusSent, "", now))

	due, err := db.DueMessages(ctx, now.Add(time.Minute), now.Add(-2*time.Minute), 100)
	require.NoError(t, err)
	var ids []int64
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	require.ElementsMatch(t, []int64{never, stale}, ids)

	require.NoError(t, db.MarkEnqueued(ctx, ids, now))
	due, err = db.DueMessages(ctx, now.Add(time.Minute), now.Add(-2*time.Minute), 100)
	require.NoError(t, err)
	require.Empty(t, due)
}

func TestSuppression(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, ok, err := db.Suppressed(ctx, "ada@example.com")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.Suppress(ctx, "Ada@Example.com", nurture.SuppressHardBounce, "550 5.1.1"))
	require.NoError(t, db.Suppress(ctx, "ada@example.com", nurture.SuppressComplaint, ""))
	reason, ok, err := db.Suppressed(ctx, "ada@EXAMPLE.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, nurture.SuppressHardBounce, reason, "the first reason is kept")
}

func TestMigrateTwiceConcurrently(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t) // migrated once already
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- postgres.Migrate(context.Background(), pool, nil) }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
}
