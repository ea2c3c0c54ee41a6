package postgres_test

import (
	"context"
	"fmt"
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

// claim takes one message and reports whether it was claimed, and its state.
func claim(t *testing.T, db *postgres.DB, id int64, now time.Time) (nurture.Message, bool) {
	t.Helper()
	claimed, rest, err := db.ClaimMessages(context.Background(), []int64{id}, now, time.Minute)
	require.NoError(t, err)
	if len(claimed) == 1 {
		return claimed[0], true
	}
	require.Len(t, rest, 1)
	return rest[0], false
}

func finish(db *postgres.DB, id int64, status nurture.MessageStatus, detail string, now time.Time) error {
	return db.FinishMessages(context.Background(), []nurture.Outcome{{MessageID: id, Status: status, Detail: detail, Topic: nurture.TopicOnboarding}}, now)
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

	claimed, ok := claim(t, db, m.ID, now)
	require.True(t, ok)
	require.Equal(t, nurture.StatusSending, claimed.Status)
	require.Equal(t, 1, claimed.Attempts)

	// A second attempt while the lease holds is refused; after it expires it may take over.
	_, ok = claim(t, db, m.ID, now.Add(30*time.Second))
	require.False(t, ok)
	_, ok = claim(t, db, m.ID, now.Add(2*time.Minute))
	require.True(t, ok)

	require.NoError(t, finish(db, m.ID, nurture.StatusSent, "", now.Add(2*time.Minute)))
	final, ok := claim(t, db, m.ID, now.Add(time.Hour))
	require.False(t, ok, "a sent message is never claimed again")
	require.Equal(t, nurture.StatusSent, final.Status)
	require.False(t, final.SentAt.IsZero())

	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(finish(db, m.ID, nurture.StatusSent, "", now)))

	hist, err := db.MessageHistory(ctx, m.ID)
	require.NoError(t, err)
	var statuses []nurture.MessageStatus
	for _, h := range hist {
		statuses = append(statuses, h.Status)
	}
	require.Equal(t, []nurture.MessageStatus{"queued", "sending", "sending", "sent"}, statuses)

	counts, err := db.SentSince(ctx, []int64{c.ID}, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, map[int64]int{c.ID: 1}, counts)
}

func TestClaimAndFinishInBatches(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	now := time.Now().UTC()
	var ids []int64
	for i := range 5 {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("k", i), ContactID: c.ID, Template: "welcome", SendAt: now})
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	first, _, err := db.ClaimMessages(ctx, ids[:2], now, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 2)
	claimed, rest, err := db.ClaimMessages(ctx, append(ids, 999999), now, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 3, "the three free ones")
	require.Len(t, rest, 2, "the two held ones; the unknown id is left out")

	outcomes := []nurture.Outcome{
		{MessageID: claimed[0].ID, Status: nurture.StatusSent},
		{MessageID: claimed[1].ID, Status: nurture.StatusSkipped, Detail: "address suppressed"},
		{MessageID: claimed[2].ID, Status: nurture.StatusQueued, Detail: "interrupted"},
	}
	require.NoError(t, db.FinishMessages(ctx, outcomes, now))
	for _, o := range outcomes {
		m, err := db.Message(ctx, o.MessageID)
		require.NoError(t, err)
		require.Equal(t, o.Status, m.Status)
	}
	back, err := db.Message(ctx, claimed[2].ID)
	require.NoError(t, err)
	require.Zero(t, back.Attempts, "an interrupted attempt gives its attempt back")

	// Finishing a message nobody holds records nothing at all.
	err = db.FinishMessages(ctx, []nurture.Outcome{{MessageID: first[0].ID, Status: nurture.StatusSent}, {MessageID: claimed[0].ID, Status: nurture.StatusSent}}, now)
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))
	m, err := db.Message(ctx, first[0].ID)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusSending, m.Status)
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
	_, ok := claim(t, db, sent, now)
	require.True(t, ok)
	require.NoError(t, finish(db, sent, nurture.StatusSent, "", now))

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
