package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

var bounceAt = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// suppression returns the reason and detail of email's suppression, or "".
func suppression(t *testing.T, pool *pgxpool.Pool, email string) (reason, detail string) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT reason, detail FROM suppressions WHERE email_hash = $1`, nurture.EmailHash(email))
	require.NoError(t, err)
	defer rows.Close()
	if rows.Next() {
		require.NoError(t, rows.Scan(&reason, &detail))
	}
	return reason, detail
}

func bounceRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM bounces`).Scan(&n))
	return n
}

// sentMessage stores a contact with email and a message to it in status,
// and returns the message's id.
func sentMessage(t *testing.T, pool *pgxpool.Pool, email string, status nurture.MessageStatus) int64 {
	t.Helper()
	ctx := context.Background()
	var contactID, id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO contacts (email) VALUES ($1) RETURNING id`, email).Scan(&contactID))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, sent_at)
		VALUES ($1, $2, 'welcome', now(), $3, CASE WHEN $3 = 'sent' THEN now() END) RETURNING id`,
		"test:"+email, contactID, string(status)).Scan(&id))
	return id
}

func TestRecordBouncesSuppressesHardAndComplaint(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	bounces := []nurture.Bounce{
		{Email: "Hard@Example.com", Type: nurture.BounceHard, Reason: "550 5.1.1 user unknown", At: bounceAt, Provider: "ses", EventID: "f1"},
		{Email: "spam@example.com", Type: nurture.BounceComplaint, Reason: "complaint: abuse", At: bounceAt, Provider: "ses", EventID: "f2"},
		{Email: "soft@example.com", Type: nurture.BounceSoft, Reason: "mailbox full", At: bounceAt, Provider: "ses", EventID: "f3"},
	}
	n, err := db.RecordBounces(ctx, bounces, 3)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	reason, detail := suppression(t, db.Pool(), "hard@example.com")
	require.Equal(t, "hard_bounce", reason, "keyed by the address whatever its case")
	require.Equal(t, "hard bounce from ses: 550 5.1.1 user unknown", detail)
	reason, _ = suppression(t, db.Pool(), "spam@example.com")
	require.Equal(t, "complaint", reason)
	reason, _ = suppression(t, db.Pool(), "soft@example.com")
	require.Empty(t, reason, "one soft bounce is not enough")
	got, ok, err := db.Suppressed(ctx, "hard@example.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, nurture.SuppressHardBounce, got)
	require.Equal(t, 3, bounceRows(t, db.Pool()))

	// The provider posts the same events again: nothing changes.
	n, err = db.RecordBounces(ctx, bounces, 3)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 3, bounceRows(t, db.Pool()))
}

func TestRecordBouncesSoftCountsToTheLimit(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	soft := func(event string, at time.Time) []nurture.Bounce {
		return []nurture.Bounce{{Email: "full@example.com", Type: nurture.BounceSoft, Reason: "452 mailbox full", At: at, Provider: "sendgrid", EventID: event}}
	}
	count := func() int {
		var c int
		require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count FROM soft_bounces WHERE email_hash = $1`,
			nurture.EmailHash("full@example.com")).Scan(&c))
		return c
	}

	n, err := db.RecordBounces(ctx, soft("e1", bounceAt), 3)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = db.RecordBounces(ctx, soft("e2", bounceAt.Add(time.Hour)), 3)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = db.RecordBounces(ctx, soft("e2", bounceAt.Add(time.Hour)), 3)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 2, count(), "a replayed event is not counted again")
	reason, _ := suppression(t, db.Pool(), "full@example.com")
	require.Empty(t, reason)

	n, err = db.RecordBounces(ctx, soft("e3", bounceAt.Add(2*time.Hour)), 3)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the third soft bounce suppresses")
	reason, detail := suppression(t, db.Pool(), "full@example.com")
	require.Equal(t, "hard_bounce", reason)
	require.Equal(t, "3 soft bounces, the last soft bounce from sendgrid: 452 mailbox full", detail)

	n, err = db.RecordBounces(ctx, soft("e4", bounceAt.Add(3*time.Hour)), 3)
	require.NoError(t, err)
	require.Zero(t, n, "already suppressed")
	require.Equal(t, 4, count())
}

func TestRecordBouncesWithoutEventIDDedupeOnWhatTheySay(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	b := nurture.Bounce{Email: "a@example.com", Type: nurture.BounceSoft, Reason: "busy", At: bounceAt, Provider: "api"}
	for range 3 {
		_, err := db.RecordBounces(ctx, []nurture.Bounce{b}, 2)
		require.NoError(t, err)
	}
	require.Equal(t, 1, bounceRows(t, db.Pool()), "the same bounce at the same time is one bounce")

	b.At = b.At.Add(time.Minute)
	n, err := db.RecordBounces(ctx, []nurture.Bounce{b, b}, 2)
	require.NoError(t, err)
	require.Equal(t, 1, n, "a later one counts, once however often it is in the batch")
	require.Equal(t, 2, bounceRows(t, db.Pool()))
}

func TestRecordBouncesMarksOurMessageBounced(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	pool := db.Pool()
	sent := sentMessage(t, pool, "ada@example.com", nurture.StatusSent)
	complained := sentMessage(t, pool, "bob@example.com", nurture.StatusSent)
	queued := sentMessage(t, pool, "cy@example.com", nurture.StatusQueued)
	ids, err := db.MessageIDs(ctx)
	require.NoError(t, err)
	header := func(id int64) string { return ids.Header(id, "acme.example") }

	_, err = db.RecordBounces(ctx, []nurture.Bounce{
		{Email: "ada@example.com", Type: nurture.BounceHard, Reason: "550 5.1.1 user unknown", MessageID: header(sent), At: bounceAt, Provider: "ses", EventID: "1"},
		{Email: "bob@example.com", Type: nurture.BounceComplaint, Reason: "complaint: abuse", MessageID: header(complained), At: bounceAt, Provider: "ses", EventID: "2"},
		{Email: "cy@example.com", Type: nurture.BounceSoft, Reason: "busy", MessageID: header(queued), At: bounceAt, Provider: "ses", EventID: "3"},
		{Email: "dee@example.com", Type: nurture.BounceHard, Reason: "no", MessageID: "0102015fd91a5ca3@email.amazonses.com", At: bounceAt, Provider: "ses", EventID: "4"},
		{Email: "eve@example.com", Type: nurture.BounceHard, Reason: "no", MessageID: header(999999), At: bounceAt, Provider: "ses", EventID: "5"},
	}, 3)
	require.NoError(t, err)

	m, err := db.Message(ctx, sent)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusBounced, m.Status)
	require.Equal(t, "hard bounce from ses: 550 5.1.1 user unknown", m.LastError)
	hist, err := db.MessageHistory(ctx, sent)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusBounced, hist[len(hist)-1].Status)
	require.Equal(t, "hard bounce from ses: 550 5.1.1 user unknown", hist[len(hist)-1].Detail)

	m, err = db.Message(ctx, complained)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusSent, m.Status, "a complaint is about mail that arrived")
	m, err = db.Message(ctx, queued)
	require.NoError(t, err)
	require.Equal(t, nurture.StatusQueued, m.Status, "only a sent message becomes bounced")

	var stored string
	require.NoError(t, pool.QueryRow(ctx, `SELECT message_id FROM bounces WHERE email_hash = $1`, nurture.EmailHash("ada@example.com")).Scan(&stored))
	require.Equal(t, header(sent), stored)
}

func TestRecordBouncesConcurrentRetriesCountOnce(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	b := []nurture.Bounce{
		{Email: "a@example.com", Type: nurture.BounceSoft, Reason: "busy", At: bounceAt, Provider: "postmark", EventID: "77"},
		{Email: "b@example.com", Type: nurture.BounceSoft, Reason: "busy", At: bounceAt, Provider: "postmark", EventID: "78"},
	}
	reversed := []nurture.Bounce{b[1], b[0]}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			batch := b
			if i%2 == 1 {
				batch = reversed
			}
			_, err := db.RecordBounces(ctx, batch, 3)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	var total int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT sum(count) FROM soft_bounces`).Scan(&total))
	require.Equal(t, 2, total)
}

func TestRecordBouncesRejectsWhatIsNotABounce(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ok := nurture.Bounce{Email: "a@example.com", Type: nurture.BounceHard, Provider: "api"}
	_, err := db.RecordBounces(ctx, []nurture.Bounce{ok}, 0)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
	_, err = db.RecordBounces(ctx, []nurture.Bounce{ok, {Email: "b@example.com", Type: "bounced"}}, 3)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
	_, err = db.RecordBounces(ctx, []nurture.Bounce{{Type: nurture.BounceHard}}, 3)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
	require.Zero(t, bounceRows(t, db.Pool()), "nothing of a rejected call is kept")

	n, err := db.RecordBounces(ctx, nil, 3)
	require.NoError(t, err)
	require.Zero(t, n)
}

// A Message-ID travels in mail and reports others see, and message ids are
// row numbers: a bounce marks a message only when its Message-ID carries
// this installation's tag and its address is the message's recipient's.
func TestRecordBouncesMarkOnlyTheRecipientsMessageOfThisInstallation(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	pool := db.Pool()
	ids, err := db.MessageIDs(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ids.Key), 16)
	other, err := postgres.New(testkit.DB(t)).MessageIDs(ctx)
	require.NoError(t, err)
	require.NotEqual(t, ids.Key, other.Key, "every database gets a key of its own")

	status := func(id int64) nurture.MessageStatus {
		m, err := db.Message(ctx, id)
		require.NoError(t, err)
		return m.Status
	}
	bounce := func(email, messageID string) {
		t.Helper()
		_, err := db.RecordBounces(ctx, []nurture.Bounce{{Email: email, Type: nurture.BounceHard, Reason: "550",
			MessageID: messageID, At: bounceAt, Provider: "api"}}, 3)
		require.NoError(t, err)
	}

	ada := sentMessage(t, pool, "ada@example.com", nurture.StatusSent)
	bounce("mallory@example.com", ids.Header(ada, "acme.example"))
	require.Equal(t, nurture.StatusSent, status(ada), "another address cannot bounce Ada's message")
	bounce("ada@example.com", other.Header(ada, "acme.example"))
	require.Equal(t, nurture.StatusSent, status(ada), "another installation's message of the same id is not Ada's")
	bounce("ada@example.com", fmt.Sprintf("nurture.%d@acme.example", ada))
	require.Equal(t, nurture.StatusSent, status(ada), "an untagged Message-ID is not of a message sent since tags exist")
	bounce("ADA@Example.com", "<"+ids.Header(ada, "acme.example")+">")
	require.Equal(t, nurture.StatusBounced, status(ada), "her own bounce, whatever the case of the address")

	// An address the contact had when the message left still matches.
	bob := sentMessage(t, pool, "bob@example.com", nurture.StatusSent)
	_, err = pool.Exec(ctx, `WITH c AS (UPDATE contacts SET email = 'robert@example.com' WHERE email = 'bob@example.com' RETURNING id)
		INSERT INTO contact_email_changes (contact_id, old_email, new_email, changed_at) SELECT id, 'bob@example.com', 'robert@example.com', now() FROM c`)
	require.NoError(t, err)
	bounce("bob@example.com", ids.Header(bob, "acme.example"))
	require.Equal(t, nurture.StatusBounced, status(bob))

	// Mail sent before the upgrade carries the untagged form, recognised
	// below legacy_message_ids_below.
	cy := sentMessage(t, pool, "cy@example.com", nurture.StatusSent)
	_, err = pool.Exec(ctx, `UPDATE installation SET legacy_message_ids_below = $1`, cy+1)
	require.NoError(t, err)
	bounce("cy@example.com", fmt.Sprintf("<nurture.%d@acme.example>", cy))
	require.Equal(t, nurture.StatusBounced, status(cy))
}

// A large post is written in transactions of 500 bounces, not one that
// holds its locks for the whole post.
func TestRecordBouncesWritesInBoundedTransactions(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	bounces := make([]nurture.Bounce, 1001)
	for i := range bounces {
		bounces[i] = nurture.Bounce{Email: fmt.Sprintf("b%d@example.com", i), Type: nurture.BounceHard, At: bounceAt, Provider: "api"}
	}
	n, err := db.RecordBounces(ctx, bounces, 3)
	require.NoError(t, err)
	require.Equal(t, 1001, n)
	var rows, transactions int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM bounces`).Scan(&rows, &transactions))
	require.Equal(t, 1001, rows)
	require.Equal(t, 3, transactions, "500 + 500 + 1")
}
