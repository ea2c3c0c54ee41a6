package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Enrichment fills only the fields nobody told: one the person corrected,
// even to nothing, stays as they said, while another contact's is filled.
func TestEnrichmentLeavesCorrectedFields(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	at := time.Now()
	var ids []int64
	for _, e := range []string{"ada@initech.de", "bob@initech.de"} {
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: e, Title: "VP Sales"})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	fixed, err := db.CorrectContact(ctx, ids[0], &nurture.Correction{Fields: map[string]string{"department": "Finance", "seniority": ""}})
	require.NoError(t, err)
	require.Equal(t, "Finance", fixed.Department)
	require.Contains(t, fixed.Told, "seniority")

	for _, id := range ids {
		e, err := db.Enrichment(ctx, id)
		require.NoError(t, err)
		ok, err := db.RecordEnrichment(ctx, &nurture.EnrichmentOutcome{ContactID: id, Revision: e.Revision, Status: nurture.EnrichmentOK,
			Domain: "initech.de", At: at, ContactFields: []nurture.EnrichedField{
				{Field: "department", Value: "Sales", Source: `title "VP Sales"`, Method: "classifier:title", At: at},
				{Field: "seniority", Value: "VP", Source: `title "VP Sales"`, Method: "classifier:title", At: at}}})
		require.NoError(t, err)
		require.True(t, ok)
	}
	ada, err := db.Contact(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, "Finance", ada.Department)
	require.Empty(t, ada.Seniority, "removed by the person, not refilled")
	bob, err := db.Contact(ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, "Sales", bob.Department)
	require.Equal(t, "VP", bob.Seniority)

	// The older write path keeps them too.
	again, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ada@initech.de", Department: "Ops", Seniority: "Manager", Title: "COO"})
	require.NoError(t, err)
	require.Equal(t, "Finance", again.Department)
	require.Empty(t, again.Seniority)
	require.Equal(t, "COO", again.Title, "a field the person did not correct follows the product")
}

// Consents change through ChangeConsents: only actual changes are
// recorded, with their source and address, and the current state is what
// the send path reads.
func TestChangeConsentsKeepsStateAndHistory(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	in := nurture.ConsentChange{ContactID: c.ID, OptIn: []nurture.Topic{nurture.TopicMarketing}, Source: nurture.ConsentImport, IP: "192.0.2.7"}
	require.NoError(t, db.ChangeConsents(ctx, in))
	require.NoError(t, db.ChangeConsents(ctx, in), "again: no change, no record")
	optIns, err := db.OptIns(ctx, []int64{c.ID})
	require.NoError(t, err)
	require.Equal(t, []nurture.Topic{nurture.TopicMarketing}, optIns[c.ID])

	require.NoError(t, db.ChangeConsents(ctx, nurture.ConsentChange{ContactID: c.ID,
		OptOut: []nurture.Topic{nurture.TopicMarketing, nurture.TopicProduct}, Source: nurture.ConsentOneClick, IP: "2001:db8::1"}))
	optIns, err = db.OptIns(ctx, []int64{c.ID})
	require.NoError(t, err)
	require.Empty(t, optIns[c.ID], "an opt-out replaces the opt-in")
	optOuts, err := db.OptOuts(ctx, []int64{c.ID})
	require.NoError(t, err)
	require.ElementsMatch(t, []nurture.Topic{nurture.TopicMarketing, nurture.TopicProduct}, optOuts[c.ID])

	require.Error(t, db.ChangeConsents(ctx, nurture.ConsentChange{ContactID: c.ID, Source: nurture.ConsentAPI,
		OptOut: []nurture.Topic{nurture.TopicEducation}, OptIn: []nurture.Topic{nurture.TopicEducation}}))

	cs, err := db.ContactConsents(ctx, c.ID)
	require.NoError(t, err)
	states := map[nurture.Topic]nurture.ConsentState{}
	for _, cur := range cs.Current {
		states[cur.Topic] = cur.State
		if cur.State != nurture.ConsentDefault {
			require.False(t, cur.Since.IsZero())
			require.Equal(t, nurture.ConsentOneClick, cur.Source)
		}
	}
	require.Equal(t, map[nurture.Topic]nurture.ConsentState{nurture.TopicOnboarding: nurture.ConsentDefault,
		nurture.TopicEducation: nurture.ConsentDefault, nurture.TopicProduct: nurture.ConsentOptedOut,
		nurture.TopicMarketing: nurture.ConsentOptedOut}, states)
	require.Len(t, cs.History, 3)
	first := cs.History[0]
	require.Equal(t, nurture.ConsentRecord{Topic: nurture.TopicMarketing, Granted: true, Source: nurture.ConsentImport, IP: "192.0.2.7", At: first.At}, first)
	for _, r := range cs.History[1:] {
		require.False(t, r.Granted)
		require.Equal(t, nurture.ConsentOneClick, r.Source)
		require.Equal(t, "2001:db8::1", r.IP)
	}
}

// A complaint is the person's opt-out of every topic; a bounce that
// suppresses the address is a line about the address, the topics left
// as the person chose them.
func TestBouncesAndComplaintsAreConsentRecords(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ada, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ada@example.com"})
	require.NoError(t, err)
	bob, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "bob@example.com"})
	require.NoError(t, err)
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	_, err = db.RecordBounces(ctx, []nurture.Bounce{
		{Email: "ADA@example.com", Type: nurture.BounceComplaint, Provider: "ses", EventID: "c1", At: at},
		{Email: "bob@example.com", Type: nurture.BounceHard, Provider: "ses", EventID: "h1", At: at},
		{Email: "bob@example.com", Type: nurture.BounceHard, Provider: "ses", EventID: "h2", At: at},
	}, 3)
	require.NoError(t, err)

	cs, err := db.ContactConsents(ctx, ada.ID)
	require.NoError(t, err)
	for _, cur := range cs.Current {
		require.Equal(t, nurture.ConsentOptedOut, cur.State, cur.Topic)
		require.Equal(t, nurture.ConsentComplaint, cur.Source)
	}
	require.Len(t, cs.History, len(nurture.PreferenceTopics))

	cs, err = db.ContactConsents(ctx, bob.ID)
	require.NoError(t, err)
	for _, cur := range cs.Current {
		require.Equal(t, nurture.ConsentDefault, cur.State, cur.Topic)
	}
	require.Len(t, cs.History, 1, "the second bounce suppressed nothing new")
	require.Equal(t, nurture.ConsentRecord{Source: nurture.ConsentBounce, At: cs.History[0].At}, cs.History[0])
	require.True(t, cs.History[0].At.Equal(at))
}
