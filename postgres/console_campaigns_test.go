package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// The console's list pages through the campaigns, newest first.
func TestCampaignPageIsNewestFirstByKeyset(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var ids []int64
	for _, name := range []string{"one", "two", "three"} {
		c := &nurture.Campaign{Name: name, Template: "welcome", Filter: "subscribed", Status: "draft", FallbackZone: "UTC", SendAt: time.Now().Add(time.Hour)}
		require.NoError(t, db.CreateCampaign(ctx, c))
		ids = append(ids, c.ID)
	}
	first, err := db.CampaignPage(ctx, 0, 2)
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.Equal(t, []string{"three", "two"}, []string{first[0].Name, first[1].Name})
	rest, err := db.CampaignPage(ctx, first[1].ID, 2)
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, ids[0], rest[0].ID)
}

// The list's figures: messages by status and the people who opened and
// clicked, each counted once; machines' opens and scanners' clicks left
// out; another campaign's messages not mixed in.
func TestCampaignTotalsCountPeopleOncePerCampaign(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	a := &nurture.Campaign{Name: "a", Template: "welcome", Filter: "subscribed", Status: "draft", FallbackZone: "UTC", SendAt: time.Now().Add(time.Hour)}
	b := &nurture.Campaign{Name: "b", Template: "welcome", Filter: "subscribed", Status: "draft", FallbackZone: "UTC", SendAt: time.Now().Add(time.Hour)}
	require.NoError(t, db.CreateCampaign(ctx, a))
	require.NoError(t, db.CreateCampaign(ctx, b))
	message := func(campaign int64, email, status string) (msg, contact int64) {
		ct, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: email})
		require.NoError(t, err)
		err = db.Pool().QueryRow(ctx, `INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, campaign_id)
			VALUES ($1, $2, 'welcome', now(), $3, $4) RETURNING id`,
			nurture.CampaignDedupeKey(campaign, ct.ID), ct.ID, status, campaign).Scan(&msg)
		require.NoError(t, err)
		return msg, ct.ID
	}
	event := func(msg, contact int64, kind, class string) {
		_, err := db.Pool().Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at) VALUES ($1, $2, $3, $4, now())`,
			msg, contact, kind, class)
		require.NoError(t, err)
	}
	m1, c1 := message(a.ID, "ada@example.com", "sent")
	m2, c2 := message(a.ID, "bob@example.com", "sent")
	message(a.ID, "cy@example.com", "bounced")
	event(m1, c1, "open", "human")
	event(m1, c1, "open", "human")
	event(m1, c1, "click", "human")
	event(m2, c2, "open", "machine")
	event(m2, c2, "click", "bot")
	m3, c3 := message(b.ID, "dee@example.com", "queued")
	event(m3, c3, "open", "human")

	totals, err := db.CampaignTotals(ctx, []int64{a.ID, b.ID, 999})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"sent": 2, "bounced": 1}, totals[a.ID].ByStatus)
	require.Equal(t, int64(1), totals[a.ID].HumanOpens)
	require.Equal(t, int64(1), totals[a.ID].HumanClicks)
	require.Equal(t, map[string]int64{"queued": 1}, totals[b.ID].ByStatus)
	require.Equal(t, int64(1), totals[b.ID].HumanOpens)
	require.Zero(t, totals[b.ID].HumanClicks)
	require.NotContains(t, totals, int64(999))
}

// A big campaign's figures are kept as counted, and read back with when;
// an older count never replaces a newer one.
func TestCampaignFiguresKeepTheLatestCount(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c := &nurture.Campaign{Name: "big", Template: "welcome", Filter: "subscribed", Status: "sent", FallbackZone: "UTC", SendAt: time.Now()}
	require.NoError(t, db.CreateCampaign(ctx, c))
	got, err := db.CampaignFigures(ctx, []int64{c.ID})
	require.NoError(t, err)
	require.Empty(t, got, "never counted")

	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s := &nurture.CampaignStats{Audience: 1000000, ByStatus: map[string]int64{"sent": 990000, "bounced": 10000}, HumanOpens: 300000,
		Links: []nurture.LinkStats{{URL: "https://example.com/a", HumanClicks: 12}}}
	require.NoError(t, db.SaveCampaignFigures(ctx, c.ID, s, at))
	older := &nurture.CampaignStats{Audience: 5}
	require.NoError(t, db.SaveCampaignFigures(ctx, c.ID, older, at.Add(-time.Minute)))

	got, err = db.CampaignFigures(ctx, []int64{c.ID, 999})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, got[c.ID].CountedAt.Equal(at))
	got[c.ID].CountedAt = time.Time{}
	require.Equal(t, s, got[c.ID])
}
