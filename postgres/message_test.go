package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// messages creates n queued welcome-like messages for one contact.
func messages(t *testing.T, db *postgres.DB, n int, sendAt time.Time) []int64 {
	t.Helper()
	ctx := context.Background()
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	ids := make([]int64, n)
	for i := range ids {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("k", i), ContactID: c.ID, Template: "welcome", SendAt: sendAt})
		require.NoError(t, err)
		ids[i] = m.ID
	}
	return ids
}

// lapse makes the leases of ids run out now, and the reprieve an attempt
// gave them when it first found them lapsed, as if their holder had stopped
// renewing them two leases ago: the next claim takes them over.
func lapse(t *testing.T, db *postgres.DB, ids ...int64) {
	t.Helper()
	_, err := db.Pool().Exec(context.Background(), `UPDATE messages SET locked_until = now() - interval '1 second',
		lapse_seen_at = now() - interval '1 minute' WHERE id = ANY($1)`, ids)
	require.NoError(t, err)
}

// lapseOnce makes the leases of ids run out now, as if their holder had been
// cut off from the database for a lease: nobody has seen them lapsed yet.
func lapseOnce(t *testing.T, db *postgres.DB, ids ...int64) {
	t.Helper()
	_, err := db.Pool().Exec(context.Background(), `UPDATE messages SET locked_until = now() - interval '1 second' WHERE id = ANY($1)`, ids)
	require.NoError(t, err)
}

func outcome(id, claim int64, status nurture.MessageStatus) nurture.Outcome {
	return nurture.Outcome{MessageID: id, Claim: claim, Status: status, Topic: nurture.TopicOnboarding, At: time.Now()}
}

func TestCreateMessageOncePerDedupeKey(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	m, created, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k1", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k1", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, m.ID, again.ID)
}

func TestClaimsAreFenced(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ids := messages(t, db, 5, time.Now())

	first, _, err := db.ClaimMessages(ctx, ids[:2], 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.Equal(t, 1, first[0].Attempts)
	claimed, rest, err := db.ClaimMessages(ctx, append(ids, 999999), 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 3, "the three free ones")
	require.Len(t, rest, 2, "the two held ones; the unknown id is left out")

	// Claim 1's lease lapses and claim 3 takes one of its rows over.
	lapse(t, db, ids[0])
	taken, _, err := db.ClaimMessages(ctx, ids[:2], 3, time.Minute)
	require.NoError(t, err)
	require.Len(t, taken, 1)
	require.Equal(t, ids[0], taken[0].ID)
	require.Equal(t, 2, taken[0].Attempts)

	// Claim 1 can no longer record anything for the row it lost, but still
	// for the one it holds.
	n, err := db.RecordOutcomes(ctx, []nurture.Outcome{outcome(ids[0], 1, nurture.StatusSent), outcome(ids[1], 1, nurture.StatusSent)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	m, err := db.Message(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, nurture.StatusSending, m.Status, "the lost row waits for its new holder")

	outcomes := []nurture.Outcome{
		outcome(ids[0], 3, nurture.StatusSent),
		outcome(claimed[0].ID, 2, nurture.StatusSkipped),
		outcome(claimed[1].ID, 2, nurture.StatusQueued),
		outcome(claimed[2].ID, 2, nurture.StatusDeferred),
	}
	n, err = db.RecordOutcomes(ctx, outcomes)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	for _, o := range outcomes {
		m, err := db.Message(ctx, o.MessageID)
		require.NoError(t, err)
		require.Equal(t, o.Status, m.Status)
	}
	back, err := db.Message(ctx, claimed[1].ID)
	require.NoError(t, err)
	require.Zero(t, back.Attempts, "a message handed back gives its attempt back")

	// A settled message is never claimed again, and its outcome is final.
	again, rest, err := db.ClaimMessages(ctx, []int64{ids[0]}, 4, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again)
	require.Equal(t, nurture.StatusSent, rest[0].Status)
	require.False(t, rest[0].SentAt.IsZero())
	n, err = db.RecordOutcomes(ctx, []nurture.Outcome{outcome(ids[0], 3, nurture.StatusBounced)})
	require.NoError(t, err)
	require.Zero(t, n)

	hist, err := db.MessageHistory(ctx, ids[0])
	require.NoError(t, err)
	var statuses []nurture.MessageStatus
	for _, h := range hist {
		statuses = append(statuses, h.Status)
	}
	require.Equal(t, []nurture.MessageStatus{"queued", "sending", "sent"}, statuses,
		"a claim writes no history; only the attempt whose claim lapsed gets its line")
	require.Equal(t, "attempt 1 lapsed: its claim was not renewed", hist[1].Detail)
	counts, err := db.SentSince(ctx, []int64{m.ContactID}, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, map[int64]int{m.ContactID: 2}, counts, "ids[0] and ids[1]")
}

func TestRenewAndCheckClaims(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ids := messages(t, db, 4, time.Now())
	_, _, err := db.ClaimMessages(ctx, ids, 7, time.Minute)
	require.NoError(t, err)

	// One row is settled, one taken over after a lapse, one cancelled by an
	// unsubscribe, one deleted with its contact's erasure (simulated on the
	// row alone here).
	_, err = db.RecordOutcomes(ctx, []nurture.Outcome{outcome(ids[0], 7, nurture.StatusSent)})
	require.NoError(t, err)
	lapse(t, db, ids[1])
	_, _, err = db.ClaimMessages(ctx, ids[1:2], 8, time.Minute)
	require.NoError(t, err)
	_, err = db.Pool().Exec(ctx, `UPDATE messages SET cancel_requested = true WHERE id = $1`, ids[2])
	require.NoError(t, err)

	lost, cancelled, err := db.CheckClaims(ctx, 7, ids)
	require.NoError(t, err)
	require.ElementsMatch(t, ids[:2], lost)
	require.Equal(t, []int64{ids[2]}, cancelled)

	lapse(t, db, ids[2], ids[3]) // late, but nobody took them: renewing brings them back
	held, err := db.RenewClaims(ctx, 7, ids, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, ids[2:], held)
	var live int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = ANY($1) AND locked_until > now() + interval '50 seconds'`, ids[2:]).Scan(&live))
	require.Equal(t, 2, live)
}

func TestDueMessagesFindsLostWork(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	now := time.Now()
	mk := func(key string, sendAt, enqueuedAt time.Time) int64 {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", SendAt: sendAt, EnqueuedAt: enqueuedAt})
		require.NoError(t, err)
		return m.ID
	}
	never := mk("never-enqueued", now.Add(-time.Hour), time.Time{})
	stale := mk("enqueued-long-ago", now.Add(-time.Hour), now.Add(-time.Hour))
	mk("just-enqueued", now.Add(-time.Second), now.Add(-time.Second))
	mk("due-tomorrow", now.Add(24*time.Hour), time.Time{})
	held := mk("held-by-a-live-worker", now.Add(-time.Hour), time.Time{})
	dead := mk("held-by-a-dead-worker", now.Add(-time.Second), now.Add(-time.Second))
	sent := mk("sent", now.Add(-time.Hour), time.Time{})
	_, _, err = db.ClaimMessages(ctx, []int64{held, dead, sent}, 1, time.Minute)
	require.NoError(t, err)
	_, err = db.RecordOutcomes(ctx, []nurture.Outcome{outcome(sent, 1, nurture.StatusSent)})
	require.NoError(t, err)
	lapse(t, db, dead)

	due, err := db.DueMessages(ctx, now.Add(time.Minute), now.Add(-2*time.Minute), 100)
	require.NoError(t, err)
	var ids []int64
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	require.ElementsMatch(t, []int64{never, stale, dead}, ids,
		"a lapsed claim comes back at once, without waiting for the grace")

	require.NoError(t, db.MarkEnqueued(ctx, ids, now))
	due, err = db.DueMessages(ctx, now.Add(time.Minute), now.Add(-2*time.Minute), 100)
	require.NoError(t, err)
	require.Empty(t, due, "enqueued again: left alone until the grace passes")
}

// TestClaimsTouchNoIndex keeps claims and renewals HOT updates (migration
// 00025): an index on a column they change would make PostgreSQL add an
// entry to every index of the table for each row of each batch.
func TestClaimsTouchNoIndex(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	changed := []string{"status", "attempts", "claim_id", "locked_until", "lapse_seen_at", "updated_at", "enqueued_at"}
	rows, err := db.Pool().Query(ctx, `
		SELECT i.indexrelid::regclass::text, a.attname
		FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0 AND (a.attnum = ANY(i.indkey)
			OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\m' || a.attname || '\M')
			OR pg_get_expr(i.indpred, i.indrelid) ~ ('\m' || a.attname || '\M'))
		WHERE i.indrelid = 'messages'::regclass AND a.attname = ANY($1)`, changed)
	require.NoError(t, err)
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var index, column string
		err := r.Scan(&index, &column)
		return index + " holds " + column, err
	})
	require.NoError(t, err)
	require.Empty(t, found)
}

// A claim found lapsed is not taken over at once: its holder gets one more
// lease from that moment, in which what it sent and records is kept. This
// is the fault suite's network cut: the holder sent emails, lost the
// database for longer than its lease, and another attempt reached the
// database first when it came back.
func TestALapsedClaimGetsOneMoreLease(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ids := messages(t, db, 3, time.Now())
	_, _, err := db.ClaimMessages(ctx, ids, 1, time.Minute)
	require.NoError(t, err)
	lapseOnce(t, db, ids...)

	taken, rest, err := db.ClaimMessages(ctx, ids, 2, time.Minute)
	require.NoError(t, err)
	require.Empty(t, taken, "the first attempt to find the claim lapsed leaves it to its holder")
	require.Len(t, rest, 3)
	for _, m := range rest {
		require.Equal(t, nurture.StatusSending, m.Status)
		require.Equal(t, 1, m.Attempts)
	}
	again, _, err := db.ClaimMessages(ctx, ids, 3, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "nor does the next, within the holder's new lease")

	// The holder comes back: it records one email it sent and renews the
	// claim of another; the third it never comes back for.
	n, err := db.RecordOutcomes(ctx, []nurture.Outcome{outcome(ids[0], 1, nurture.StatusSent)})
	require.NoError(t, err)
	require.Equal(t, 1, n, "its holder still records what it sent")
	held, err := db.RenewClaims(ctx, 1, ids[1:2], time.Minute)
	require.NoError(t, err)
	require.Equal(t, ids[1:2], held)

	// Its new leases lapse: the renewed row is back to its first lapse,
	// the abandoned one is taken over.
	lapseOnce(t, db, ids[1:]...)
	taken, rest, err = db.ClaimMessages(ctx, ids, 4, time.Minute)
	require.NoError(t, err)
	require.Len(t, taken, 1)
	require.Equal(t, ids[2], taken[0].ID)
	require.Equal(t, 2, taken[0].Attempts)
	require.Len(t, rest, 2)
	m, err := db.Message(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, nurture.StatusSent, m.Status, "sent once, by its first holder")
	hist, err := db.MessageHistory(ctx, ids[2])
	require.NoError(t, err)
	require.Equal(t, "attempt 1 lapsed: its claim was not renewed", hist[1].Detail)
}
