package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// The overview's figures land in the hour they happened: sends by when the
// relay took them (delivered unless a bounce came back), bounces and
// complaints by when they reached us, a person's unsubscribe once however
// many topics it names, each human open and click; machines, scanners,
// opt-ins, an operator's change and everything outside the period are
// left out.
func TestActivityCountsEachFigureInItsBucket(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t)
	db, ctx := postgres.New(pool), context.Background()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h := func(hours float64) time.Time { return day.Add(time.Duration(hours * float64(time.Hour))) }

	ada, bob := overviewContact(ctx, t, db, "ada"), overviewContact(ctx, t, db, "bob")
	sent := func(key string, at time.Time, status nurture.MessageStatus) int64 {
		return overviewSent(ctx, t, db, pool, ada, key, at, status)
	}
	m1 := sent("m1", h(1.2), nurture.StatusSent)
	m2 := sent("m2", h(1.8), nurture.StatusSent)
	m3 := sent("m3", h(5), nurture.StatusBounced)
	sent("before", h(-0.01), nurture.StatusSent)
	m0 := sent("day before", h(-3), nurture.StatusSent)
	sent("after", h(24), nurture.StatusSent)

	bounce := func(typ nurture.BounceType, at time.Time, id string) nurture.Bounce {
		return nurture.Bounce{Email: "x" + id + "@example.com", Type: typ, At: at, Provider: "api", EventID: id}
	}
	_, err := db.RecordBounces(ctx, []nurture.Bounce{
		bounce(nurture.BounceHard, h(2), "b1"), bounce(nurture.BounceSoft, h(2.5), "b2"),
		bounce(nurture.BounceComplaint, h(2.75), "b3"), bounce(nurture.BounceHard, h(-1), "b4"),
		bounce(nurture.BounceHard, h(-30), "late"),
	}, 5)
	require.NoError(t, err)
	// Each received when it happened, but for one the provider dated a day
	// before it reached us at 02:50: it counts then.
	_, err = pool.Exec(ctx, `UPDATE bounces SET received_at = CASE WHEN event_key = 'id:late' THEN $1 ELSE at END`, h(2.83))
	require.NoError(t, err)

	hit := func(m int64, kind nurture.HitKind, class nurture.HitClass, at time.Time) nurture.Hit {
		return nurture.Hit{Kind: kind, MessageID: m, ContactID: ada, Class: class, At: at}
	}
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		hit(m1, nurture.HitOpen, nurture.ClassHuman, h(3)), hit(m1, nurture.HitOpen, nurture.ClassHuman, h(4)),
		hit(m1, nurture.HitClick, nurture.ClassHuman, h(4.5)),
		hit(m2, nurture.HitOpen, nurture.ClassMachine, h(3)), hit(m2, nurture.HitClick, nurture.ClassBot, h(3)),
		hit(m3, nurture.HitClick, nurture.ClassHuman, h(6)),
		hit(m0, nurture.HitOpen, nurture.ClassHuman, h(-2)), hit(m0, nurture.HitOpen, nurture.ClassHuman, h(8)),
	}))

	consent := func(contact int64, source nurture.ConsentSource, at time.Time, out, in []nurture.Topic) {
		require.NoError(t, db.ChangeConsents(ctx, nurture.ConsentChange{ContactID: contact, OptOut: out, OptIn: in, Source: source}))
		_, err := pool.Exec(ctx, `UPDATE consent_records SET at = $2 WHERE contact_id = $1 AND at > now() - interval '1 minute'`, contact, at)
		require.NoError(t, err)
	}
	marketing, product := []nurture.Topic{nurture.TopicMarketing}, []nurture.Topic{nurture.TopicProduct}
	consent(ada, nurture.ConsentOneClick, h(7), []nurture.Topic{nurture.TopicMarketing, nurture.TopicProduct}, nil)
	consent(ada, nurture.ConsentPreferencePage, h(8), nil, marketing)
	consent(ada, nurture.ConsentPreferencePage, h(9), marketing, nil) // the same person again
	consent(bob, nurture.ConsentAPI, h(7), product, nil)              // an operator's change, not the person's

	got, err := db.Activity(ctx, day, time.Hour, 24)
	require.NoError(t, err)
	require.Len(t, got, 24)
	want := make([]nurture.ActivityBucket, 24)
	for i := range want {
		want[i].Start = h(float64(i))
	}
	want[1].Sent, want[1].Delivered = 2, 2
	want[5].Sent = 1
	want[2].HardBounces, want[2].SoftBounces, want[2].Complaints = 2, 1, 1
	want[3].HumanOpens = 1
	want[4].HumanOpens, want[4].HumanClicks = 1, 1
	want[6].HumanClicks = 1
	want[8].HumanOpens = 1
	want[7].Unsubscribes, want[9].Unsubscribes = 1, 1
	for i := range want {
		require.Equal(t, want[i], got[i], "bucket %d (%s)", i, want[i].Start.Format("15:04"))
	}

	// By day, the same figures in one bucket, and the day before has its own.
	days, err := db.Activity(ctx, day.AddDate(0, 0, -1), 24*time.Hour, 2)
	require.NoError(t, err)
	require.Equal(t, nurture.ActivityBucket{Start: day.AddDate(0, 0, -1), Sent: 2, Delivered: 2, HardBounces: 1, HumanOpens: 1}, days[0])
	require.Equal(t, nurture.ActivityBucket{Start: day, Sent: 3, Delivered: 2, HardBounces: 2, SoftBounces: 1, Complaints: 1,
		Unsubscribes: 2, HumanOpens: 3, HumanClicks: 2}, days[1])
}

func TestActivityRefusesAnEmptyPeriod(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		from time.Time
		step time.Duration
		n    int
	}{{hour, 0, 24}, {hour, time.Minute, 24}, {hour, 90 * time.Minute, 24}, {hour, time.Hour, 0}, {hour.Add(time.Minute), time.Hour, 24}} {
		_, err := db.Activity(ctx, tc.from, tc.step, tc.n)
		require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "%s from %s, %d", tc.step, tc.from, tc.n)
	}
}

// An hour's counts are kept: the hour in progress is counted at every
// call, a recent hour at most every five minutes until it has been over
// for six hours, and after that they stay as they were counted.
func TestActivityKeepsSettledHours(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t)
	db, ctx := postgres.New(pool), context.Background()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := testkit.NewClock(start.Add(10*time.Hour + 30*time.Minute))
	db.Clock = clock
	ada := overviewContact(ctx, t, db, "ada")
	sends := 0
	send := func(at time.Time) {
		sends++
		overviewSent(ctx, t, db, pool, ada, fmt.Sprint("m", sends), at, nurture.StatusSent)
	}
	sentAt := func(hours ...int) []int64 {
		t.Helper()
		got, err := db.Activity(ctx, start, time.Hour, 24)
		require.NoError(t, err)
		var out []int64
		for _, h := range hours {
			out = append(out, got[h].Sent)
		}
		return out
	}
	send(start.Add(10 * time.Hour)) // in progress
	send(start.Add(9 * time.Hour))  // over, recent
	send(start.Add(2 * time.Hour))  // settled
	require.Equal(t, []int64{1, 1, 1}, sentAt(10, 9, 2))

	send(start.Add(10 * time.Hour))
	send(start.Add(9 * time.Hour))
	send(start.Add(2 * time.Hour))
	require.Equal(t, []int64{2, 1, 1}, sentAt(10, 9, 2), "the hour in progress at once, the others kept")
	clock.Advance(6 * time.Minute)
	require.Equal(t, []int64{2, 2, 1}, sentAt(10, 9, 2), "a recent hour after five minutes; a settled one never")

	clock.Set(start.Add(16*time.Hour + 30*time.Minute)) // 9:00 to 10:00 has been over for six and a half hours
	send(start.Add(9 * time.Hour))
	require.Equal(t, []int64{2, 3}, sentAt(10, 9), "counted once more as it settles")
	send(start.Add(9 * time.Hour))
	clock.Advance(time.Hour)
	require.Equal(t, []int64{3}, sentAt(9), "and then kept")
}

func overviewContact(ctx context.Context, t *testing.T, db *postgres.DB, name string) int64 {
	t.Helper()
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: name, Email: name + "@example.com"})
	require.NoError(t, err)
	return c.ID
}

// overviewSent makes a message the relay accepted at at, now in status.
func overviewSent(ctx context.Context, t *testing.T, db *postgres.DB, pool *pgxpool.Pool, contact int64, key string, at time.Time, status nurture.MessageStatus) int64 {
	t.Helper()
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: contact, Template: "welcome", SendAt: at})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE messages SET status = $2, sent_at = $3 WHERE id = $1`, m.ID, status, at)
	require.NoError(t, err, fmt.Sprint("send ", key))
	return m.ID
}
