package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
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
// theirs from the catch-up pass a worker runs at start: once per
// declaration, again when the declaration changes.
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
	regionsOf := func() []string {
		var got []string
		for _, id := range ids {
			m, err := db.Message(ctx, id)
			require.NoError(t, err)
			got = append(got, m.Region)
		}
		return got
	}
	db.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	r, err := db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, postgres.Rehomed{Contacts: 3, Moved: 3}, r)
	require.Equal(t, []string{"us", "eu", "eu"}, regionsOf())

	r, err = db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, postgres.Rehomed{Already: true}, r, "the next worker to start has nothing to do")

	db.Regions = nurture.Regions{Names: []string{"us", "eu"}, Default: "eu"}
	r, err = db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.True(t, r.Already, "the same regions declared in another order resolve alike")

	db.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "us"}
	r, err = db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, postgres.Rehomed{Contacts: 3, Moved: 1}, r, "a new default: every contact again, one moves")
	require.Equal(t, []string{"us", "eu", "us"}, regionsOf())
}

// Workers that start together share the catch-up's pages: each contact is
// resolved by one of them, and the pass ends once.
func TestRehomeContactsSharedByWorkersStartingTogether(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	const n = 60
	for i := range n {
		_, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: fmt.Sprintf("p%d@example.com", i), Country: []string{"US", "DE"}[i%2]})
		require.NoError(t, err)
	}
	db.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	results := make(chan postgres.Rehomed, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			r, err := db.RehomeContacts(ctx, 7)
			assert.NoError(t, err)
			results <- r
		})
	}
	wg.Wait()
	close(results)
	total := 0
	for r := range results {
		total += r.Contacts
	}
	require.Equal(t, n, total, "each contact resolved once across the three")
	homed := map[string]int{}
	rows, err := db.Pool().Query(ctx, `SELECT home_region, count(*) FROM contacts GROUP BY 1`)
	require.NoError(t, err)
	var region string
	var count int
	_, err = pgx.ForEachRow(rows, []any{&region, &count}, func() error { homed[region] = count; return nil })
	require.NoError(t, err)
	require.Equal(t, map[string]int{"eu": n / 2, "us": n / 2}, homed)
}

// A pass stopped midway (the worker stopped, the database went away) left
// its cursor: the next start goes on from there instead of from the first
// contact.
func TestRehomeContactsGoesOnWhereAStoppedPassLeftOff(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var first int64
	for i := range 3 {
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: fmt.Sprintf("p%d@example.com", i), Country: "US"})
		require.NoError(t, err)
		if i == 0 {
			first = c.ID
		}
	}
	db.Regions = nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	_, err := db.Pool().Exec(ctx, `INSERT INTO region_rehomes (fingerprint, after_id, contacts) VALUES ($1, $2, 1)`,
		db.Regions.Fingerprint(), first)
	require.NoError(t, err)
	r, err := db.RehomeContacts(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 2, r.Contacts, "the two contacts after the cursor")
	var total int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT contacts FROM region_rehomes`).Scan(&total))
	require.Equal(t, 3, total)
}
