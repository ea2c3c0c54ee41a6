package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// What the console's search box finds, and under which field a contact
// matching several is listed (once).
func TestSearchContactsByAddressNameOrCompany(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.ErasureKey = erasureKey
	for _, c := range []nurture.Contact{
		{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines"},
		{Email: "Ada.Byron@Example.org", FirstName: "Augusta", LastName: "Byron"},
		{Email: "grace@navy.example", FirstName: "Grace", LastName: "Hopper", Company: "ADA Systems"},
		{Email: "alan@bletchley.example", FirstName: "Alan", LastName: "Turing", Company: "Bletchley Park"},
		{Email: "lonely@example.com", LastName: "Lovell"},
		{Email: "erased@example.com", FirstName: "Ada", LastName: "Erased"},
	} {
		_, _, err := db.UpsertContact(ctx, &c)
		require.NoError(t, err)
	}
	erased, err := db.ContactByEmail(ctx, "erased@example.com")
	require.NoError(t, err)
	require.NoError(t, db.EraseContact(ctx, erased.ID, nurture.ErasedBy{APIKeyID: 1}))

	type found struct{ email, field string }
	for _, tc := range []struct {
		query string
		want  []found
	}{
		{"ada", []found{{"ada@example.com", nurture.MatchName}, {"grace@navy.example", nurture.MatchCompany},
			{"Ada.Byron@Example.org", nurture.MatchEmail}}},
		{"  ADA   lov ", []found{{"ada@example.com", nurture.MatchName}}},
		{"lov", []found{{"ada@example.com", nurture.MatchLastName}, {"lonely@example.com", nurture.MatchName}}},
		{"bletchley", []found{{"alan@bletchley.example", nurture.MatchCompany}}},
		{"ada@example.com", []found{{"ada@example.com", nurture.MatchEmail}}},
		{"ADA@", []found{{"ada@example.com", nurture.MatchEmail}}},
		{"ada.byron@example.org", []found{{"Ada.Byron@Example.org", nurture.MatchEmail}}},
		{"erased", nil},
		{"erased@example.com", nil},
		{"nobody", nil},
		{"%", nil},
		{"_", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := nurture.ParseContactQuery(tc.query)
			require.NoError(t, err)
			ms, err := db.SearchContacts(ctx, q, nurture.ContactCursor{}, 50)
			require.NoError(t, err)
			var got []found
			for _, m := range ms {
				got = append(got, found{m.Email, m.Field})
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// Paging through many results by cursor lists each contact once, in order.
func TestSearchContactsPagesByCursor(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	const n = 23
	for i := range n {
		// Every one matches "sam" twice (name and company), some three times.
		c := nurture.Contact{Email: fmt.Sprintf("p%02d@example.com", i), FirstName: "Sam", LastName: fmt.Sprintf("N%02d", n-i),
			Company: "Sample Co"}
		if i%3 == 0 {
			c.Email = fmt.Sprintf("sam%02d@example.com", i)
		}
		_, _, err := db.UpsertContact(ctx, &c)
		require.NoError(t, err)
	}
	q, err := nurture.ParseContactQuery("sam")
	require.NoError(t, err)
	seen := map[int64]bool{}
	var keys []string
	var after nurture.ContactCursor
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "the pages never end")
		ms, err := db.SearchContacts(ctx, q, after, 5)
		require.NoError(t, err)
		for _, m := range ms {
			require.False(t, seen[m.ID], "contact %d listed twice", m.ID)
			seen[m.ID] = true
			keys = append(keys, m.Key)
			require.Equal(t, nurture.MatchName, m.Field)
		}
		if len(ms) < 5 {
			break
		}
		after = ms[len(ms)-1].Cursor()
	}
	require.Len(t, seen, n)
	require.IsNonDecreasing(t, keys)
	require.Equal(t, "sam n01", keys[0])
}

// A contact's timeline merges its events, messages and hits, newest
// first, and pages through lines of the same time without losing one.
func TestContactTimelineMergesAndPages(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "tim@example.com", FirstName: "Tim"})
	require.NoError(t, err)
	other, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "other@example.com"})
	require.NoError(t, err)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	pool := db.Pool()
	event := func(contact int64, name string, at time.Time) {
		_, err := pool.Exec(ctx, `INSERT INTO events (contact_id, message_id, type, name, occurred_at) VALUES ($1, $2, 'track', $3, $4)`,
			contact, fmt.Sprintf("%d-%s-%d", contact, name, at.Unix()), name, at)
		require.NoError(t, err)
	}
	event(c.ID, "Signed Up", t0)
	event(c.ID, "Same Time", t0.Add(time.Hour))
	event(other.ID, "Not Tim's", t0.Add(time.Minute))
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "welcome:tim", ContactID: c.ID, Template: "welcome", SendAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID, At: t0.Add(2 * time.Hour), Class: nurture.ClassHuman},
		{Kind: nurture.HitClick, MessageID: m.ID, ContactID: c.ID, At: t0.Add(3 * time.Hour), URL: "https://example.com/start", Class: nurture.ClassBot},
	}))

	all, err := db.ContactTimeline(ctx, c.ID, nurture.TimelineCursor{}, 50)
	require.NoError(t, err)
	type line struct {
		kind nurture.TimelineKind
		at   time.Time
	}
	var got []line
	for _, e := range all {
		got = append(got, line{e.Kind, e.At.UTC()})
	}
	require.Equal(t, []line{
		{nurture.TimelineClick, t0.Add(3 * time.Hour)},
		{nurture.TimelineOpen, t0.Add(2 * time.Hour)},
		{nurture.TimelineEvent, t0.Add(time.Hour)}, // an event before a message of the same time
		{nurture.TimelineMessage, t0.Add(time.Hour)},
		{nurture.TimelineEvent, t0},
	}, got)
	require.Equal(t, "https://example.com/start", all[0].URL)
	require.Equal(t, nurture.ClassBot, all[0].Class)
	require.Equal(t, "welcome", all[0].Template)
	require.Equal(t, nurture.StatusQueued, all[3].Status)
	require.Equal(t, "Signed Up", all[4].Name)

	// Two lines a page: the same lines, each once.
	var paged []nurture.TimelineEntry
	var before nurture.TimelineCursor
	for range 5 {
		page, err := db.ContactTimeline(ctx, c.ID, before, 2)
		require.NoError(t, err)
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].Cursor()
	}
	require.Len(t, paged, len(all))
	for i := range all {
		require.Equal(t, all[i].Kind, paged[i].Kind)
		require.Equal(t, all[i].ID, paged[i].ID)
	}
}
