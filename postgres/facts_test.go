package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// TestLoadFactsHoldsWhatConditionsRead: the profile, event counts under
// any spelling, the occurrences since the start of the events asked for,
// emails with opens and clicks of every class, opt-outs and suppression.
func TestLoadFactsHoldsWhatConditionsRead(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db,
		identify("i1", "u1", "", t0, nurture.Contact{Email: "ada@example.com", Role: "Engineer"}),
		track("t1", "u1", "", "Report Created", t0.Add(time.Minute)),
		track("t2", "u1", "", "report_created", t0.Add(2*time.Minute)),
		track("t3", "u1", "", "activated", t0.Add(-time.Hour)),
		track("t4", "u1", "", "activated", t0.Add(time.Hour)),
		track("t5", "u1", "", "unrelated", t0.Add(time.Hour)),
	)
	c, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "x:1", ContactID: c.ID, Template: "welcome", SendAt: t0})
	require.NoError(t, err)
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{
		{MessageID: m.ID, ContactID: c.ID, Kind: nurture.HitOpen, Class: nurture.ClassMachine, At: t0.Add(time.Minute)},
		{MessageID: m.ID, ContactID: c.ID, Kind: nurture.HitClick, Class: nurture.ClassHuman, At: t0.Add(2 * time.Minute)},
	}))
	require.NoError(t, db.SetPreferences(ctx, c.ID, []nurture.Topic{nurture.TopicMarketing}, nil))

	needs := nurture.FactsNeeds{
		ConditionRefs: nurture.ConditionRefs{Events: []string{"reportcreated"}, EventHistory: true},
		Since:         []string{"activated"},
		Emails:        true,
	}
	f, err := db.LoadFacts(ctx, c.ID, needs, t0)
	require.NoError(t, err)
	require.Equal(t, "Engineer", f.Contact.Role)
	require.Equal(t, int64(2), f.Events["reportcreated"].Count)
	require.Len(t, f.Events["reportcreated"].Occurrences, 2)
	require.Equal(t, int64(2), f.Events["activated"].Count)
	require.Len(t, f.Events["activated"].Occurrences, 1, "only the occurrences since the start")
	require.NotContains(t, f.Events, "unrelated")
	require.Len(t, f.Emails, 1)
	require.Len(t, f.Emails[0].Hits, 2)
	require.Equal(t, nurture.TopicMarketing, f.OptOuts[0].Topic)
	require.False(t, f.Suppressed)

	require.NoError(t, db.Suppress(ctx, "ada@example.com", nurture.SuppressHardBounce, ""))
	f, err = db.LoadFacts(ctx, c.ID, nurture.FactsNeeds{}, t0)
	require.NoError(t, err)
	require.True(t, f.Suppressed)
	require.Empty(t, f.Emails, "emails are loaded only when asked for")

	_, err = db.LoadFacts(ctx, c.ID+1000, needs, t0)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}
