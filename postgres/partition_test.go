package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// partitionOf returns the partition holding each event (by messageId) or
// hit (by id), as "table", for the rows a query selects.
func partitionOf(t *testing.T, db *postgres.DB, query string, args ...any) map[string]string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), query, args...)
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var key, part string
		require.NoError(t, rows.Scan(&key, &part))
		out[key] = part
	}
	require.NoError(t, rows.Err())
	return out
}

func eventPartitions(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	return partitionOf(t, db, `SELECT message_id, tableoid::regclass::text FROM events`)
}

// The migration keeps every row of every month, with its id and values,
// each in its month's partition (those older than three years, or far
// ahead, in the default one), and the messageIds stay refused.
func TestMigrationPartitionsRowsOfSeveralMonths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.EmptyDB(t)
	require.NoError(t, postgres.MigrateTo(ctx, pool, 34))
	var now time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT now()`).Scan(&now))
	var contact, message int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO contacts (email, external_id) VALUES ('ada@example.com', 'u1') RETURNING id`).Scan(&contact))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO messages (dedupe_key, contact_id, template, send_at) VALUES ('k', $1, 'welcome', now()) RETURNING id`, contact).Scan(&message))

	// Five months back, this month, two ahead; four years back and two
	// years ahead go to the default partition.
	want := map[string]string{}
	var times []time.Time
	for _, months := range []int{-5, -4, -3, -2, -1, 0, 1, 2} {
		at := now.AddDate(0, months, 0)
		times = append(times, at)
		want[fmt.Sprint("m", len(times))] = postgres.PartitionName("events", at)
	}
	for _, at := range []time.Time{now.AddDate(-4, 0, 0), now.AddDate(2, 0, 0)} {
		times = append(times, at)
		want[fmt.Sprint("m", len(times))] = "events_default"
	}
	type row struct {
		ID        int64
		MessageID string
		At        time.Time
	}
	read := func(query string) []row {
		rows, err := pool.Query(ctx, query)
		require.NoError(t, err)
		var out []row
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.ID, &r.MessageID, &r.At))
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		return out
	}
	for i, at := range times {
		_, err := pool.Exec(ctx, `INSERT INTO events (contact_id, message_id, type, name, occurred_at) VALUES ($1, $2, 'track', 'report', $3)`,
			contact, fmt.Sprint("m", i+1), at)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at) VALUES ($1, $2, 'open', 'human', $3)`,
			message, contact, at)
		require.NoError(t, err)
	}
	const eventsQuery = `SELECT id, message_id, occurred_at FROM events ORDER BY id`
	const hitsQuery = `SELECT id, id::text AS key, at FROM email_events ORDER BY id`
	eventsBefore, hitsBefore := read(eventsQuery), read(hitsQuery)

	require.NoError(t, postgres.Migrate(ctx, pool, postgres.NoPooler, nil))

	require.Equal(t, eventsBefore, read(eventsQuery), "every event kept, with its id")
	require.Equal(t, hitsBefore, read(hitsQuery), "every hit kept, with its id")
	db := postgres.New(pool)
	require.Equal(t, want, eventPartitions(t, db), "each event in its month's partition")
	hitParts := partitionOf(t, db, `SELECT at::text, tableoid::regclass::text FROM email_events`)
	require.Len(t, hitParts, len(times))
	months, err := db.Partitions(ctx, "email_events")
	require.NoError(t, err)
	require.Len(t, months, 5+1+3, "the five months of rows, this one and three ahead")

	// New rows go on after the largest id; a stored messageId is refused
	// whatever its timestamp now says.
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO events (message_id, type, occurred_at) VALUES ('new', 'track', now()) RETURNING id`).Scan(&id))
	require.Greater(t, id, eventsBefore[len(eventsBefore)-1].ID)
	res, err := db.Ingest(ctx, []nurture.Call{{Type: nurture.EventTrack, MessageID: "m1", UserID: "u1", Name: "report", Timestamp: now}}, nil, now)
	require.NoError(t, err)
	require.Equal(t, 1, res.Duplicates)
	require.Zero(t, res.Stored)

	// And back: the Down migration puts every row in one plain table
	// again, ids and values kept, and the next Up partitions them again.
	eventsUp, hitsUp := read(eventsQuery), read(hitsQuery)
	require.NoError(t, postgres.MigrateDownTo(ctx, pool, 34))
	var partitioned bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT relkind = 'p' FROM pg_class WHERE oid = 'events'::regclass`).Scan(&partitioned))
	require.False(t, partitioned)
	require.Equal(t, eventsUp, read(eventsQuery), "every event kept by the Down migration")
	require.Equal(t, hitsUp, read(hitsQuery), "every hit kept by the Down migration")
	_, err = pool.Exec(ctx, `INSERT INTO events (message_id, type, occurred_at) VALUES ('m1', 'track', now())`)
	require.Error(t, err, "messageIds are unique in the plain table again")
	require.NoError(t, postgres.Migrate(ctx, pool, postgres.NoPooler, nil))
	require.Equal(t, eventsUp, read(eventsQuery), "every event kept by the Up migration again")
	require.Equal(t, want["m1"], eventPartitions(t, db)["m1"])
}

// Each call and hit lands in its month's partition; a month not made
// lands in the default one; making the partitions again makes none.
func TestInsertsLandInTheirMonthsPartition(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	may := time.Date(2031, 5, 10, 12, 0, 0, 0, time.UTC)
	made, err := db.EnsurePartitions(ctx, may, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"events_p203105", "events_p203106", "events_p203107",
		"email_events_p203105", "email_events_p203106", "email_events_p203107"}, made)
	made, err = db.EnsurePartitions(ctx, may, 2)
	require.NoError(t, err)
	require.Empty(t, made, "idempotent")

	cases := []struct {
		at   time.Time
		want string
	}{
		{may, "p203105"},
		{time.Date(2031, 5, 31, 23, 59, 59, 0, time.UTC), "p203105"},
		{time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC), "p203106"},
		{time.Date(2031, 7, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "p203106"}, // June 30, 23:30 UTC
		{time.Date(2031, 7, 20, 0, 0, 0, 0, time.UTC), "p203107"},
		{time.Date(2031, 8, 1, 0, 0, 0, 0, time.UTC), "default"},
		{time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), "default"},
	}
	var calls []nurture.Call
	want := map[string]string{}
	for i, c := range cases {
		id := fmt.Sprint("c", i)
		calls = append(calls, nurture.Call{Type: nurture.EventTrack, MessageID: id, UserID: "u1", Name: "report", Timestamp: c.at})
		want[id] = "events_" + c.want
	}
	res, err := db.Ingest(ctx, calls, nil, may)
	require.NoError(t, err)
	require.Equal(t, len(cases), res.Stored)
	require.Equal(t, want, eventPartitions(t, db))

	ada, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: ada.ID, Template: "welcome", SendAt: may})
	require.NoError(t, err)
	var hits []nurture.Hit
	wantHits := map[string]string{}
	for _, c := range cases {
		hits = append(hits, nurture.Hit{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: ada.ID, Class: nurture.ClassHuman, At: c.at})
		wantHits[c.at.UTC().Format(time.RFC3339)] = "email_events_" + c.want
	}
	require.NoError(t, db.RecordHits(ctx, hits))
	got := partitionOf(t, db, `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), tableoid::regclass::text FROM email_events`)
	require.Equal(t, wantHits, got)
}

// A month made after rows of it reached the default partition takes them
// over: same rows, same ids, none left behind.
func TestMakingAMonthMovesItsRowsOutOfTheDefault(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	march := time.Date(2032, 3, 15, 0, 0, 0, 0, time.UTC)
	var calls []nurture.Call
	for i, at := range []time.Time{march, march.AddDate(0, 1, 0)} {
		calls = append(calls, nurture.Call{Type: nurture.EventTrack, MessageID: fmt.Sprint("e", i), UserID: "u1", Name: "report", Timestamp: at})
	}
	_, err := db.Ingest(ctx, calls, nil, march)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"e0": "events_default", "e1": "events_default"}, eventPartitions(t, db))
	var idBefore int64
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT id FROM events WHERE message_id = 'e0'`).Scan(&idBefore))

	_, err = db.EnsurePartitions(ctx, march, 0)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"e0": "events_p203203", "e1": "events_default"}, eventPartitions(t, db))
	var idAfter int64
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT id FROM events WHERE message_id = 'e0'`).Scan(&idAfter))
	require.Equal(t, idBefore, idAfter)
}

// A call replayed with another timestamp (a retry that stamped it again,
// a month boundary later) is refused, and stays refused once its month's
// partition is dropped: the messageId is kept by when it was received.
func TestReplayRefusedAcrossMonths(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	may := time.Date(2031, 5, 31, 23, 59, 59, 0, time.UTC)
	_, err := db.EnsurePartitions(ctx, may, 1)
	require.NoError(t, err)
	call := nurture.Call{Type: nurture.EventTrack, MessageID: "once", UserID: "u1", Name: "report", Timestamp: may}
	res, err := db.Ingest(ctx, []nurture.Call{call}, nil, may)
	require.NoError(t, err)
	require.Equal(t, 1, res.Stored)

	replay := call
	replay.Timestamp = may.Add(2 * time.Second) // June
	for _, batch := range [][]nurture.Call{{call}, {replay}, {replay, call}} {
		res, err = db.Ingest(ctx, batch, nil, may)
		require.NoError(t, err)
		require.Zero(t, res.Stored)
		require.Equal(t, len(batch), res.Duplicates)
	}
	dropped, err := db.DropEventPartitionsBefore(ctx, time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Contains(t, dropped, "events_p203105")
	require.Empty(t, eventPartitions(t, db), "the month is gone")
	res, err = db.Ingest(ctx, []nurture.Call{replay}, nil, may)
	require.NoError(t, err)
	require.Equal(t, 1, res.Duplicates, "still refused after its month was dropped")
	a, err := db.Engagement(ctx, mustContact(t, db, "u1"))
	require.NoError(t, err)
	require.Equal(t, int64(1), a.Actions["report"], "counted once")

	// Once the key is past the retention it is forgotten.
	var dbNow time.Time
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT now()`).Scan(&dbNow))
	n, err := db.DeleteEventKeysBefore(ctx, dbNow.Add(time.Minute), 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	res, err = db.Ingest(ctx, []nurture.Call{replay}, nil, may)
	require.NoError(t, err)
	require.Equal(t, 1, res.Stored)
}

func mustContact(t *testing.T, db *postgres.DB, externalID string) int64 {
	t.Helper()
	c, err := db.ContactByExternalID(context.Background(), externalID)
	require.NoError(t, err)
	return c.ID
}

// Dropping a month of hits keeps each contact's last open and click by a
// person in its engagement summary; the months after it stay whole.
func TestDroppingHitMonthsKeepsTheLastOpenAndClick(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	jan := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := db.EnsurePartitions(ctx, jan, 2)
	require.NoError(t, err)
	_, err = db.Ingest(ctx, []nurture.Call{{Type: nurture.EventIdentify, MessageID: "i", UserID: "u1", Timestamp: jan}}, nil, jan)
	require.NoError(t, err)
	ada := mustContact(t, db, "u1")
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: ada, Template: "welcome", SendAt: jan})
	require.NoError(t, err)
	hit := func(kind nurture.HitKind, class nurture.HitClass, at time.Time) nurture.Hit {
		return nurture.Hit{Kind: kind, MessageID: m.ID, ContactID: ada, Class: class, At: at}
	}
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		hit(nurture.HitOpen, nurture.ClassHuman, jan.AddDate(0, 0, 3)),
		hit(nurture.HitClick, nurture.ClassHuman, jan.AddDate(0, 0, 4)),
		hit(nurture.HitOpen, nurture.ClassMachine, jan.AddDate(0, 0, 5)),
		hit(nurture.HitOpen, nurture.ClassHuman, jan.AddDate(0, 1, 3)), // February
	}))
	before, err := db.Engagement(ctx, ada)
	require.NoError(t, err)
	require.True(t, before.LastClick.Equal(jan.AddDate(0, 0, 4)))

	dropped, err := db.DropHitPartitionsBefore(ctx, jan.AddDate(0, 1, 10))
	require.NoError(t, err)
	require.Contains(t, dropped, "email_events_p203101")
	require.NotContains(t, dropped, "email_events_p203102", "February is not wholly past")
	after, err := db.Engagement(ctx, ada)
	require.NoError(t, err)
	require.Equal(t, before, after, "what Engagement reports does not change")
	var left int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM email_events`).Scan(&left))
	require.Equal(t, 1, left)

	dropped, err = db.DropHitPartitionsBefore(ctx, jan.AddDate(0, 1, 10))
	require.NoError(t, err)
	require.Empty(t, dropped, "idempotent")
}

// Export and erasure find a contact's events and hits in every partition,
// the default one included.
func TestExportAndErasureReachEveryPartition(t *testing.T) {
	t.Parallel()
	db, ada, bob := world(t)
	ctx := context.Background()
	may := time.Date(2031, 5, 10, 0, 0, 0, 0, time.UTC)
	_, err := db.EnsurePartitions(ctx, may, 1)
	require.NoError(t, err)
	for i, at := range []time.Time{may, may.AddDate(0, 1, 0), may.AddDate(-10, 0, 0)} {
		for _, p := range []person{ada, bob} {
			_, err := db.Pool().Exec(ctx, `INSERT INTO events (contact_id, message_id, type, name, occurred_at) VALUES ($1, $2, 'track', 'report', $3)`,
				p.id, fmt.Sprint("month-", i, "-", p.id), at)
			require.NoError(t, err)
			_, err = db.Pool().Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at)
				SELECT id, contact_id, 'click', 'human', $2 FROM messages WHERE contact_id = $1`, p.id, at)
			require.NoError(t, err)
		}
	}
	count := func(table string, p person) (rows, partitions int) {
		require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT tableoid) FROM `+table+` WHERE contact_id = $1`, p.id).
			Scan(&rows, &partitions))
		return rows, partitions
	}
	events, eventParts := count("events", ada)
	hits, hitParts := count("email_events", ada)
	require.GreaterOrEqual(t, eventParts, 3, "ada's events are spread over partitions")
	require.GreaterOrEqual(t, hitParts, 3, "ada's hits are spread over partitions")

	raw, err := db.ExportContact(ctx, ada.id)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc["events"], events)
	require.Len(t, doc["hits"], hits)

	bobEvents, _ := count("events", bob)
	require.NoError(t, db.EraseContact(ctx, ada.id, nurture.ErasedBy{APIKeyID: 1}))
	n, _ := count("events", ada)
	require.Zero(t, n)
	n, _ = count("email_events", ada)
	require.Zero(t, n)
	n, _ = count("events", bob)
	require.Equal(t, bobEvents, n, "bob keeps his")
}

// Each month knows how common an event name is: the planner estimates a
// name's rows in a partition from that partition's own statistics on the
// folded name, whether the month was made by the migration or later by the
// retention job, instead of a default of 0.5 % (which turned a segment
// preview's hash join into a nested loop on 20,000,000 events).
func TestEachMonthKnowsHowCommonAnEventIs(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	pool := db.Pool()
	var now time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT now()`).Scan(&now))
	later := postgres.MonthOf(now).AddDate(0, 5, 0) // past the months the migration made
	made, err := db.EnsurePartitions(ctx, later, 0)
	require.NoError(t, err)
	require.Equal(t, []string{postgres.PartitionName("events", later), postgres.PartitionName("email_events", later)}, made)

	for _, month := range []time.Time{postgres.MonthOf(now), later} {
		// 3,000 track events of the month, one in five "Viewed Pricing".
		_, err := pool.Exec(ctx, `INSERT INTO events (anonymous_id, message_id, type, name, occurred_at)
			SELECT 'a', $2 || i, 'track', CASE WHEN i % 5 = 0 THEN 'Viewed Pricing' ELSE 'page ' || (i % 7) END, $1::timestamptz + interval '1 hour'
			FROM generate_series(1, 3000) i`, month, month.Format("200601")+"-")
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `ANALYZE events`)
	require.NoError(t, err)
	for _, month := range []time.Time{postgres.MonthOf(now), later} {
		var plan string
		require.NoError(t, pool.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM `+postgres.PartitionName("events", month)+`
			WHERE type = 'track' AND lower(translate(name, E' _-.\t', '')) = 'viewedpricing'`).Scan(&plan))
		var explained []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			} `json:"Plan"`
		}
		require.NoError(t, json.Unmarshal([]byte(plan), &explained))
		require.InDelta(t, 600, explained[0].Plan.Rows, 300, "%s: the estimate of a name's 600 rows", postgres.PartitionName("events", month))
	}
}
