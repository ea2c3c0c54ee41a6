package nurture_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

var evalNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// evalFacts is a contact a few weeks into the product: an engineer at an
// 11-50 company on a trial, who completed setup, made reports, and whose
// welcome email was fetched by Apple's proxy, checked by a link scanner and
// then clicked by the person.
func evalFacts() *nurture.Facts {
	days := func(n int) time.Time { return evalNow.Add(-time.Duration(n) * 24 * time.Hour) }
	f := &nurture.Facts{
		Now: evalNow,
		Contact: &nurture.Contact{Email: "ada@example.com", FirstName: "Ada", Role: "Engineering Manager", Company: "Acme",
			Industry: "Software", TeamSize: "11-50", Country: "GB",
			Attributes: map[string]any{"plan": "trial", "seats": json.Number("5"), "tags": []any{"beta", "api"},
				"trial_ends_at": "2025-03-20T00:00:00Z", "address": map[string]any{"city": "London"}, "blank": "  ", "legacy": nil}},
		Emails: []nurture.EmailFacts{
			{MessageID: 1, Template: "welcome", Topic: nurture.TopicOnboarding, Sequence: "onboarding", Step: "welcome", SentAt: days(9), Hits: []nurture.EmailHit{
				{Kind: nurture.HitOpen, Class: nurture.ClassMachine, At: days(9)},
				{Kind: nurture.HitClick, Class: nurture.ClassBot, At: days(9)},
			}},
			{MessageID: 2, Template: "feature-reports", Topic: nurture.TopicEducation, Sequence: "education", Step: "lesson", SentAt: days(3), Hits: []nurture.EmailHit{
				{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: days(2)},
			}},
		},
		OptOuts:  []nurture.OptOut{{Topic: nurture.TopicMarketing, Since: days(1)}, {Topic: nurture.TopicProduct, Since: evalNow.Add(time.Hour)}},
		Sequence: "onboarding",
	}
	f.AddEvent("Setup Completed", days(8), nil)
	f.AddEvent("report_created", days(20), map[string]any{"format": "pdf", "pages": 3.0})
	f.AddEvent("report_created", days(5), map[string]any{"format": "csv", "pages": 1.0})
	f.AddEvent("report_created", days(1), map[string]any{"format": "pdf", "pages": 12.0})
	f.AddEvent("report_created", evalNow.Add(time.Hour), map[string]any{"format": "pdf"}) // not yet
	f.Events["activated"] = &nurture.EventFacts{Count: 40}                                // totals only, occurrences not loaded
	return f
}

func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cond string
		want bool
	}{
		// Traits: typed profile fields under the names products send, custom traits, nested ones.
		{`traits.plan == "trial"`, true},
		{`traits.plan == "TRIAL"`, true},
		{`traits.plan != "trial"`, false},
		{`traits.plan in ["free", "trial"]`, true},
		{`traits.role contains "engineer"`, true},
		{`traits.firstName == "Ada"`, true},
		{`traits.first_name == "ada"`, true},
		{`traits.email contains "@example.com"`, true},
		{`traits.company == "Acme"`, true},
		{`traits.name == "Ada"`, true},
		{`traits.seats >= 5`, true},
		{`traits.seats == "5"`, true},
		{`traits.seats > 5`, false},
		{`traits.tags contains "beta"`, true},
		{`traits.tags contains "gamma"`, false},
		{`traits.role contains ["sales", "engineer"]`, true},
		{`traits.role contains ["sales", "design"]`, false},
		{`traits.tags contains ["gamma", "api"]`, true},
		{`traits.tags == "beta"`, false},
		{`traits.address.city == "london"`, true},
		{`traits.trial_ends_at > "2025-03-19"`, true},
		{`traits.trial_ends_at < "2025-03-19T23:00:00Z"`, false},
		{`traits.plan > 3`, false},
		// A missing, null or blank value: only neq and "not exists" hold.
		{`traits.nope exists`, false},
		{`not traits.nope exists`, true},
		{`traits.blank exists`, false},
		{`traits.legacy exists`, false},
		{`traits.title exists`, false},
		{`traits.nope == "x"`, false},
		{`traits.nope != "x"`, true},
		{`traits.nope in ["x"]`, false},
		{`traits.nope < 3`, false},
		// Company: from the profile when no record is known; 11-50 is at least 11.
		{`company.name == "acme"`, true},
		{`company.industry == "Software"`, true},
		{`company.size >= 11`, true},
		{`company.size >= 20`, false},
		{`company.size_range == "11-50"`, true},
		// Events: names compared loosely, property filters, counts, windows, nothing from the future.
		{`did setup_completed`, true},
		{`did "setup completed"`, true},
		{`did demo_booked`, false},
		{`not did demo_booked`, true},
		{`did report_created at least 3 times`, true},
		{`did report_created at least 4 times`, false},
		{`did report_created where format == "pdf" at least 2 times`, true},
		{`did report_created where (format == "pdf" and pages > 5)`, true},
		{`did report_created where (format == "pdf" and pages > 20)`, false},
		{`did report_created within 7d at least 2 times`, true},
		{`did report_created within 3d at least 2 times`, false},
		{`did report_created where format == "pdf" within 7d at least 2 times`, false},
		{`did setup_completed within 7d`, false},
		{`did activated at least 40 times`, true},
		{`did activated at least 41 times`, false},
		// Engagement: human hits only; a click counts as an open; step names this sequence's steps.
		{`opened step welcome`, false},
		{`clicked step welcome`, false},
		{`clicked step lesson`, false},
		{`clicked topic education`, true},
		{`opened topic education`, true},
		{`opened template feature-reports within 3d`, true},
		{`opened template feature-reports within 1d`, false},
		{`opened topic onboarding`, false},
		{`opened any email`, true},
		{`opened any email within 1d`, false},
		{`clicked any email within 3d`, true},
		{`clicked step lesson in education`, true},
		{`clicked step lesson in onboarding`, false},
		{`opened step welcome in onboarding`, false},
		// Subscriptions: an opt-out counts from when it was made.
		{`subscribed to onboarding`, true},
		{`subscribed to marketing`, false},
		{`subscribed to product`, true},
		{`subscribed to transactional`, true},
		// And, or, not.
		{`traits.plan == "trial" and company.size >= 20`, false},
		{`traits.plan == "trial" and (company.size >= 20 or did setup_completed)`, true},
		{`not (did demo_booked or subscribed to marketing)`, true},
	}
	f := evalFacts()
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			t.Parallel()
			c, err := nurture.ParseCondition(tc.cond)
			require.NoError(t, err)
			ok, notes := f.Explain(c)
			require.Equal(t, tc.want, ok, "notes: %q", notes)
		})
	}
}

// TestEvalHumanEngagementOnly walks the welcome email through what a real
// inbox does to it: Apple's proxy fetches the pixel, a scanner follows the
// links, and only then does the person click. The branch must wait for the
// person.
func TestEvalHumanEngagementOnly(t *testing.T) {
	t.Parallel()
	opened, _ := nurture.ParseCondition(`opened step welcome`)
	clicked, _ := nurture.ParseCondition(`clicked step welcome`)
	f := evalFacts()
	require.False(t, f.Eval(opened), "a machine open counted as a person")
	require.False(t, f.Eval(clicked), "a scanner click counted as a person")
	_, notes := f.Explain(clicked)
	require.Contains(t, notes, "clicked step welcome: 0 human clicks (1 by machines or scanners left out)", "the notes do not say a scanner click was left out")
	f.Emails[0].Hits = append(f.Emails[0].Hits, nurture.EmailHit{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: evalNow.Add(-time.Hour)})
	require.True(t, f.Eval(opened), "the person's click did not count as an open")
	require.True(t, f.Eval(clicked), "the person's click did not count as a click")
	// The same email of another sequence's step of the same name is not this one.
	f.Sequence = "education"
	require.False(t, f.Eval(clicked), "a step of another sequence counted")
	// Unless the condition names that sequence: then any enrollment's.
	named, _ := nurture.ParseCondition(`clicked step welcome in onboarding`)
	f.SequenceSince = evalNow
	require.True(t, f.Eval(named), "the named sequence's step did not count")
	_, notes = f.Explain(named)
	require.Equal(t, []string{"clicked step welcome in onboarding: 1 human click (1 by machines or scanners left out)"}, notes)
	anyEmail, _ := nurture.ParseCondition(`opened any email`)
	_, notes = f.Explain(anyEmail)
	require.Equal(t, []string{"opened any email: 2 human opens or clicks (2 by machines or scanners left out)"}, notes)
}

func TestExplain(t *testing.T) {
	t.Parallel()
	c, _ := nurture.ParseCondition(`traits.role contains "engineer" and company.size >= 20 and did setup_completed`)
	ok, notes := evalFacts().Explain(c)
	want := []string{`traits.role is "Engineering Manager"`, `company.size is 11`}
	require.False(t, ok)
	require.Equal(t, want, notes, "stops at the first false")
	c, _ = nurture.ParseCondition(`did report_created where format == "pdf" or traits.nope exists`)
	_, notes = evalFacts().Explain(c)
	require.Equal(t, []string{`did report_created: 2 times that match (of 3 in all)`}, notes)
}

func TestCompanyFacts(t *testing.T) {
	t.Parallel()
	for size, want := range map[string]any{"42": 42.0, "11-50": 11.0, "1000+": 1000.0, "lots": nil, "": nil} {
		got := nurture.CompanyFacts(&nurture.Contact{TeamSize: size})["size"]
		require.Equal(t, want, got, "team size %q", size)
	}
	require.Empty(t, nurture.CompanyFacts(nil), "no contact")
	f := &nurture.Facts{Now: evalNow, Contact: &nurture.Contact{TeamSize: "500"}, Company: map[string]any{"size": 30}}
	c, _ := nurture.ParseCondition(`company.size < 100`)
	require.True(t, f.Eval(c), "the company record did not take precedence over the profile's team size")
}

// TestCompanyRecordFacts: company.NAME reads the company record (typed
// fields, then the group calls' traits under their own names, then what
// research found, lists for the fields that repeat), and the contact's
// profile for the names the record lacks.
func TestCompanyRecordFacts(t *testing.T) {
	t.Parallel()
	record := &nurture.Company{ID: 7, Name: "Initech", Domain: "initech.example", Industry: "Manufacturing", TeamSize: "51-200", Country: "US",
		Traits: map[string]any{"plan": "enterprise", "seats": 40.0, "industry": "a trait never hides the typed field", "blank": " ",
			"address": map[string]any{"city": "Austin"}},
		Enriched: []nurture.EnrichedField{
			{Field: "mail_provider", Value: "Microsoft 365", Source: "dns:MX initech.example", Method: "mx"},
			{Field: "saas", Value: "Salesforce", Method: "spf"},
			{Field: "saas", Value: "SendGrid", Method: "spf"},
			{Field: "plan", Value: "research never hides a trait"},
			{Field: "description", Value: "Software for banks."},
			{Field: "description", Value: "The second one is not read."},
		}}
	profile := &nurture.Contact{Company: "Initrode", Industry: "Software", TeamSize: "2-10", Country: "FR"}
	sparse := &nurture.Company{ID: 8, Domain: "sparse.example", Enriched: []nurture.EnrichedField{{Field: "size", Value: "11-50"}}}
	tests := []struct {
		cond    string
		company *nurture.Company
		want    bool
	}{
		{`company.name == "Initech"`, record, true},
		{`company.domain == "initech.example"`, record, true},
		{`company.industry == "Manufacturing"`, record, true},
		{`company.country == "us"`, record, true},
		{`company.size >= 51 and company.size < 52`, record, true},
		{`company.size_range == "51-200"`, record, true},
		{`company.plan == "enterprise"`, record, true},
		{`company.seats > 30`, record, true},
		{`company.address.city == "Austin"`, record, true},
		{`company.blank exists`, record, false},
		{`company.mail_provider == "Microsoft 365"`, record, true},
		{`company.saas contains "sendgrid"`, record, true},
		{`company.saas contains "Salesforce"`, record, true},
		{`company.saas contains "HubSpot"`, record, false},
		{`company.description == "Software for banks."`, record, true},
		// What the record lacks, the profile says; the profile's country and
		// other fields are not company fields.
		{`company.name == "Initrode"`, sparse, true},
		{`company.industry == "Software"`, sparse, true},
		{`company.domain == "sparse.example"`, sparse, true},
		{`company.size == 11`, sparse, true},
		{`company.country exists`, sparse, false},
		{`company.plan exists`, sparse, false},
		// No record: the profile, as before companies.
		{`company.name == "Initrode"`, nil, true},
		{`company.size == 2`, nil, true},
		{`company.domain exists`, nil, false},
	}
	for _, tc := range tests {
		c, err := nurture.ParseCondition(tc.cond)
		require.NoError(t, err, tc.cond)
		f := &nurture.Facts{Now: evalNow, Contact: profile, Company: nurture.CompanyRecordFacts(tc.company)}
		require.Equal(t, tc.want, f.Eval(c), "%s (company %v)", tc.cond, tc.company != nil)
	}
	require.Nil(t, nurture.CompanyRecordFacts(nil), "no record")
	require.Equal(t, []any{"Salesforce", "SendGrid"}, nurture.CompanyRecordFacts(record)["saas"])
}

func TestEventKey(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Setup Completed", "setup_completed", "setup-completed", "SETUP.COMPLETED", "setupcompleted"} {
		require.Equal(t, "setupcompleted", nurture.EventKey(name), "EventKey(%q)", name)
	}
	require.True(t, strings.EqualFold(nurture.EventKey("Über Event"), "überevent"), "EventKey lower-cases letters beyond ASCII: %q", nurture.EventKey("Über Event"))
}

// TestExplainCutsLongValues: an explanation is stored with each message, so
// a long trait is cut, on a character boundary.
func TestExplainCutsLongValues(t *testing.T) {
	t.Parallel()
	f := &nurture.Facts{Now: evalNow, Contact: &nurture.Contact{Attributes: map[string]any{"bio": strings.Repeat("é", 500)}}}
	c, _ := nurture.ParseCondition(`traits.bio contains "x"`)
	_, notes := f.Explain(c)
	require.Len(t, notes, 1)
	require.LessOrEqual(t, len(notes[0]), 160, "note of %d bytes: %q", len(notes[0]), notes)
	require.True(t, strings.HasSuffix(notes[0], "…"), "note %q", notes[0])
	require.True(t, utf8.ValidString(notes[0]), "note %q", notes[0])
}
