package postgres_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestRecordHitsAndReadThemBackByMessage(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ada, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	bob, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "bob@example.com"})
	require.NoError(t, err)
	msg := func(c *nurture.Contact, key string) int64 {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", SendAt: at})
		require.NoError(t, err)
		return m.ID
	}
	welcome, tips, bobs := msg(ada, "a1"), msg(ada, "a2"), msg(bob, "b1")
	ip := netip.MustParseAddr("198.51.100.7")
	hit := func(kind nurture.HitKind, m int64, c *nurture.Contact, class nurture.HitClass, after time.Duration) nurture.Hit {
		h := nurture.Hit{Kind: kind, MessageID: m, ContactID: c.ID, Class: class, IP: ip, UserAgent: "Mozilla/5.0 (X11) Firefox/130.0", At: at.Add(after)}
		if class != nurture.ClassHuman {
			h.Reason = "some-rule"
		}
		if kind == nurture.HitClick {
			h.LinkIndex, h.URL = 2, "https://acme.example/pricing"
		}
		return h
	}
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		hit(nurture.HitOpen, welcome, ada, nurture.ClassMachine, time.Second),
		hit(nurture.HitClick, welcome, ada, nurture.ClassHuman, 3*time.Minute),
		hit(nurture.HitOpen, welcome, ada, nurture.ClassHuman, time.Minute),
		hit(nurture.HitOpen, tips, ada, nurture.ClassHuman, time.Hour), // another message of the same contact
		hit(nurture.HitOpen, bobs, bob, nurture.ClassHuman, time.Minute),
	}))

	// The timeline of one message has its own hits only, oldest first.
	hits, err := db.MessageHits(ctx, welcome)
	require.NoError(t, err)
	require.Len(t, hits, 3)
	require.Equal(t, []nurture.HitKind{nurture.HitOpen, nurture.HitOpen, nurture.HitClick}, []nurture.HitKind{hits[0].Kind, hits[1].Kind, hits[2].Kind})
	require.Equal(t, nurture.ClassMachine, hits[0].Class)
	require.Equal(t, "some-rule", hits[0].Reason)
	require.Equal(t, nurture.ClassHuman, hits[1].Class)
	require.Equal(t, 2, hits[2].LinkIndex)
	require.Equal(t, "https://acme.example/pricing", hits[2].URL)
	require.True(t, hits[2].At.Equal(at.Add(3*time.Minute)))
	for _, h := range hits {
		require.Equal(t, welcome, h.MessageID)
	}
	hits, err = db.MessageHits(ctx, bobs)
	require.NoError(t, err)
	require.Len(t, hits, 1)
	hits, err = db.MessageHits(ctx, 1<<40) // no such message
	require.NoError(t, err)
	require.Empty(t, hits)

	// The summaries read the last human open and click from the same rows.
	e, err := db.Engagement(ctx, ada.ID)
	require.NoError(t, err)
	require.True(t, e.LastOpen.Equal(at.Add(time.Hour)), e.LastOpen)
	require.True(t, e.LastClick.Equal(at.Add(3*time.Minute)), e.LastClick)
}

func TestRecordHitsOfErasedOrUnknownContactsRecordsNothing(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	kept, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "kept@example.com"})
	require.NoError(t, err)
	erased, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "erased@example.com"})
	require.NoError(t, err)
	var msgs []int64
	for i, c := range []*nurture.Contact{kept, erased} {
		m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: string(rune('a' + i)), ContactID: c.ID, Template: "welcome", SendAt: at})
		require.NoError(t, err)
		msgs = append(msgs, m.ID)
	}
	_, err = db.Pool().Exec(ctx, `UPDATE contacts SET erased_at = now() WHERE id = $1`, erased.ID)
	require.NoError(t, err)

	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		{Kind: nurture.HitOpen, MessageID: msgs[1], ContactID: erased.ID, Class: nurture.ClassHuman, At: at},
		{Kind: nurture.HitOpen, MessageID: msgs[0], ContactID: kept.ID, Class: nurture.ClassHuman, At: at},
		{Kind: nurture.HitOpen, MessageID: msgs[0], ContactID: 1 << 40, Class: nurture.ClassHuman, At: at}, // a contact that is gone
	}))
	var n int
	var who int64
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*), max(contact_id) FROM email_events`).Scan(&n, &who))
	require.Equal(t, 1, n)
	require.Equal(t, kept.ID, who)
}

// A token signed for (message, contact) by a reset database, or by
// another installation with the same secret, names people who are not
// ours under the same ids: its hits are dropped, not credited to whoever
// holds those ids here.
func TestRecordHitsOfAnotherContactsMessageRecordsNothing(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ada, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	bob, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "bob@example.com"})
	require.NoError(t, err)
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "a", ContactID: ada.ID, Template: "welcome", SendAt: at})
	require.NoError(t, err)

	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: bob.ID, Class: nurture.ClassHuman, At: at},        // Ada's message
		{Kind: nurture.HitClick, MessageID: 1 << 40, ContactID: bob.ID, Class: nurture.ClassHuman, At: at},    // no such message
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: ada.ID, Class: nurture.ClassHuman, At: at.Add(1)}, // the genuine one
	}))
	var n int
	var who int64
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*), max(contact_id) FROM email_events`).Scan(&n, &who))
	require.Equal(t, 1, n)
	require.Equal(t, ada.ID, who)
}
