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

// TestLoadFactsBatchAnswersEachRequestAsLoadFactsDoes: requests about the
// same contact with other needs and starts, another contact and an unknown
// one, loaded together, get what each would get alone.
func TestLoadFactsBatchAnswersEachRequestAsLoadFactsDoes(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db,
		identify("i1", "u1", "", t0, nurture.Contact{Email: "ada@example.com"}),
		identify("i2", "u2", "", t0, nurture.Contact{Email: "bob@example.com"}),
		track("t1", "u1", "", "activated", t0.Add(-time.Hour)),
		track("t2", "u1", "", "activated", t0.Add(time.Hour)),
		track("t3", "u1", "", "Report Created", t0.Add(time.Minute)),
		track("t4", "u2", "", "activated", t0.Add(2*time.Hour)),
	)
	ada, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	bob, err := db.ContactByExternalID(ctx, "u2")
	require.NoError(t, err)
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "x:1", ContactID: ada.ID, Template: "welcome", SendAt: t0})
	require.NoError(t, err)
	require.NoError(t, db.RecordHits(ctx, []nurture.Hit{{MessageID: m.ID, ContactID: ada.ID, Kind: nurture.HitClick, Class: nurture.ClassHuman, At: t0}}))
	require.NoError(t, db.Suppress(ctx, "bob@example.com", nurture.SuppressHardBounce, ""))

	reqs := []nurture.FactsRequest{
		{ContactID: ada.ID, Needs: nurture.FactsNeeds{Since: []string{"activated"}}, Since: t0},
		{ContactID: ada.ID, Needs: nurture.FactsNeeds{ConditionRefs: nurture.ConditionRefs{Events: []string{"activated", "reportcreated"}, EventHistory: true}, Emails: true}, Since: t0},
		{ContactID: bob.ID, Needs: nurture.FactsNeeds{Since: []string{"activated"}}, Since: t0.Add(3 * time.Hour)},
		{ContactID: bob.ID + ada.ID + 1000, Needs: nurture.FactsNeeds{Emails: true}, Since: t0},
	}
	got, err := db.LoadFactsBatch(ctx, reqs)
	require.NoError(t, err)
	require.Len(t, got, len(reqs))
	for i, r := range reqs[:3] {
		alone, err := db.LoadFacts(ctx, r.ContactID, r.Needs, r.Since)
		require.NoError(t, err)
		require.Equal(t, alone, got[i], "request %d", i)
	}
	require.Len(t, got[0].Events["activated"].Occurrences, 1, "since the start")
	require.Len(t, got[1].Events["activated"].Occurrences, 2, "every one")
	require.Len(t, got[1].Emails, 1)
	require.Len(t, got[1].Emails[0].Hits, 1)
	require.Empty(t, got[2].Events["activated"].Occurrences)
	require.True(t, got[2].Suppressed)
	require.False(t, got[0].Suppressed)
	require.Nil(t, got[3], "unknown contact")
}

// TestLoadFactsCompanyFromTheRecord: a condition on company.* reads the
// linked company's record (typed fields, traits, research), the
// contact's profile where the record is silent or there is none; facts
// for conditions that read no company field carry none, and a batch
// answers as LoadFacts does.
func TestLoadFactsCompanyFromTheRecord(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db,
		identify("i1", "u1", "", t0, nurture.Contact{Email: "ada@initech.example", Industry: "Software", TeamSize: "2-10", Seniority: "VP"}),
		group("g1", "u1", "initech", nurture.Company{Name: "Initech", Domain: "initech.example", TeamSize: "51-200",
			Traits: map[string]any{"plan": "enterprise"}}),
		identify("i2", "u2", "", t0, nurture.Contact{Email: "bob@example.com", Company: "Bob's", Industry: "Retail", TeamSize: "11-50"}),
	)
	ada, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.NotZero(t, ada.CompanyID)
	bob, err := db.ContactByExternalID(ctx, "u2")
	require.NoError(t, err)
	enriched := []nurture.EnrichedField{
		{Field: "industry", Value: "Manufacturing", Source: "https://initech.example/", Method: "classifier:industry", Confidence: 0.8, At: t0},
		{Field: "mail_provider", Value: "Google Workspace", Source: "MX initech.example", Method: "mx", At: t0},
		{Field: "saas", Value: "Salesforce", Source: "TXT initech.example", Method: "spf", At: t0},
		{Field: "saas", Value: "HubSpot", Source: "TXT initech.example", Method: "spf", At: t0},
	}
	// As the enrichment job records it: the industry no group call set
	// fills the typed column, and every finding is kept.
	_, err = db.Pool().Exec(ctx, `UPDATE companies SET industry = 'Manufacturing', enriched = $2, enriched_at = $3 WHERE id = $1`,
		ada.CompanyID, enriched, t0)
	require.NoError(t, err)

	company := nurture.FactsNeeds{ConditionRefs: nurture.ConditionRefs{Company: true}}
	tests := []struct {
		contact int64
		cond    string
		want    bool
	}{
		{ada.ID, `company.industry == "Manufacturing"`, true},
		{ada.ID, `company.name == "Initech" and company.domain == "initech.example"`, true},
		{ada.ID, `company.size >= 51`, true},
		{ada.ID, `company.plan == "enterprise"`, true},
		{ada.ID, `company.mail_provider == "Google Workspace"`, true},
		{ada.ID, `company.saas contains "HubSpot"`, true},
		{ada.ID, `traits.seniority == "VP" and company.industry == "Manufacturing"`, true},
		{bob.ID, `company.name == "Bob's" and company.industry == "Retail" and company.size == 11`, true},
		{bob.ID, `company.domain exists`, false},
	}
	for _, tc := range tests {
		c, err := nurture.ParseCondition(tc.cond)
		require.NoError(t, err, tc.cond)
		f, err := db.LoadFacts(ctx, tc.contact, company, t0)
		require.NoError(t, err)
		f.Now = t0
		require.Equal(t, tc.want, f.Eval(c), tc.cond)
	}

	f, err := db.LoadFacts(ctx, ada.ID, nurture.FactsNeeds{}, t0)
	require.NoError(t, err)
	require.Nil(t, f.Company, "the company loaded for conditions that read none")

	reqs := []nurture.FactsRequest{{ContactID: ada.ID, Needs: company}, {ContactID: bob.ID, Needs: company}, {ContactID: ada.ID}}
	got, err := db.LoadFactsBatch(ctx, reqs)
	require.NoError(t, err)
	for i, r := range reqs {
		alone, err := db.LoadFacts(ctx, r.ContactID, r.Needs, r.Since)
		require.NoError(t, err)
		require.Equal(t, alone, got[i], "request %d", i)
	}
	require.Equal(t, "Manufacturing", got[0].Company["industry"])
	require.Nil(t, got[1].Company, "bob has no company record")
	require.Nil(t, got[2].Company)
}

// TestLoadFactsReadsWhatEnrichmentRecorded: what the enrichment job
// records (the contact's seniority and department from the title, the
// work domain's company with its industry and findings) is what
// traits.seniority and company.* read, and what templates get of the
// company through the send path's loader.
func TestLoadFactsReadsWhatEnrichmentRecorded(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db, identify("i1", "u1", "", t0, nurture.Contact{Email: "cy@globex.example", Title: "VP Engineering", Industry: "Software"}))
	cy, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	req, err := db.RequestEnrichment(ctx, cy.ID, t0)
	require.NoError(t, err)
	companyID, err := db.CompanyForDomain(ctx, cy.ID, "globex.example")
	require.NoError(t, err)
	found := func(field, value string) nurture.EnrichedField {
		return nurture.EnrichedField{Field: field, Value: value, Source: "https://globex.example/", Method: "test", At: t0}
	}
	recorded, err := db.RecordEnrichment(ctx, &nurture.EnrichmentOutcome{ContactID: cy.ID, Revision: req.Revision, Status: nurture.EnrichmentOK,
		Domain: "globex.example", At: t0, CompanyID: companyID,
		ContactFields: []nurture.EnrichedField{found("department", "Engineering"), found("seniority", "VP")},
		CompanyFields: []nurture.EnrichedField{found("name", "Globex"), found("industry", "Manufacturing"), found("size", "51-200"),
			found("description", "Globex makes widgets."), found("mail_provider", "Microsoft 365"), found("saas", "Slack"), found("saas", "Zendesk")}})
	require.NoError(t, err)
	require.True(t, recorded)

	needs := nurture.FactsNeeds{ConditionRefs: nurture.ConditionRefs{Traits: true, Company: true}}
	f, err := db.LoadFacts(ctx, cy.ID, needs, t0)
	require.NoError(t, err)
	f.Now = t0
	for _, cond := range []string{
		`traits.seniority == "VP" and traits.department == "Engineering"`,
		`company.industry == "Manufacturing" and company.name == "Globex" and company.domain == "globex.example"`,
		`company.size >= 51 and company.size_range == "51-200"`,
		`company.mail_provider == "Microsoft 365" and company.saas contains "zendesk"`,
	} {
		c, err := nurture.ParseCondition(cond)
		require.NoError(t, err, cond)
		require.True(t, f.Eval(c), cond)
	}

	contacts, companies, err := db.ContactsWithCompanies(ctx, []int64{cy.ID, cy.ID + 1000})
	require.NoError(t, err)
	require.Len(t, contacts, 1, "an unknown contact is left out")
	require.Equal(t, "VP", contacts[cy.ID].Seniority)
	co := companies[contacts[cy.ID].CompanyID]
	require.NotNil(t, co, "the contact's company")
	require.Equal(t, "Manufacturing", co.Industry)
	require.Len(t, co.Enriched, 7)
}
