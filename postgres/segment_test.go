package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// segmentWorld is a dozen varied contacts written through the store, with
// their events, emails, opens and clicks, opt-outs and suppressions, and
// the moment conditions are asked at.
type segmentWorld struct {
	db    *postgres.DB
	ctx   context.Context
	now   time.Time
	ids   map[string]int64 // by external id
	names map[int64]string // external ids by id
	facts []*nurture.Facts // every contact's, with every event and email
}

const day = 24 * time.Hour

// newSegmentWorld writes the world into a fresh schema.
func newSegmentWorld(t testing.TB) *segmentWorld {
	t.Helper()
	ctx := context.Background()
	w := &segmentWorld{ctx: ctx, ids: map[string]int64{}, names: map[int64]string{}}
	w.db = postgres.New(testkit.DB(t))
	// Opt-outs are dated by the database's clock: ask an hour after them.
	w.now = time.Now().UTC().Truncate(time.Microsecond).Add(time.Hour)
	now := w.now

	contacts := []nurture.Contact{
		{ExternalID: "ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Company: "Acme", Industry: "Software",
			TeamSize: "51-200", Role: "Engineer", Title: "CTO", Attributes: map[string]any{
				"plan": "trial", "seats": 12.0, "score": "42", "signup": "2026-01-15", "beta": true,
				"tags": []any{"alpha", "Beta ", " "}, "address": map[string]any{"city": "London", "zip": "N1"}, "note": "  "}},
		{ExternalID: "bob", Email: "bob@example.com", FirstName: "Bob", Company: "Globex", Industry: "software ", TeamSize: "1000+",
			Attributes: map[string]any{"plan": "Pro", "seats": "7", "score": 3.5, "signup": "2026-03-01T10:00:00Z", "beta": "TRUE",
				"tags": "alpha, beta", "address": map[string]any{"city": "london"}}},
		{ExternalID: "cy", Email: "cy@example.com", LastName: "Young", TeamSize: "11-50", Industry: "Retail",
			Attributes: map[string]any{"plan": "PRO ", "seats": "1e1", "score": "NaN", "signup": "2026-02-30", "beta": false,
				"tags": []any{1.0, 2.0, "3"}, "address": "London"}},
		{ExternalID: "dee", Email: "dee@example.com", FirstName: "  ", TeamSize: "about 10",
			Attributes: map[string]any{"plan": nil, "seats": "abc", "score": "inf", "signup": "2025-12-31 23:59:59",
				"tags": []any{}, "address": map[string]any{"city": map[string]any{"name": "x"}}}},
		{ExternalID: "eve", Email: "eve@example.com", FirstName: "Eve", Company: "Initech", TeamSize: "0",
			Attributes: map[string]any{"plan": "trial", "seats": 0.0, "signup": "0000-01-01", "score": "1_000"}},
		{ExternalID: "fay", Email: "fay@example.com", FirstName: "Fay", Country: "DE", TimeZone: "Europe/Berlin",
			Attributes: map[string]any{"seats": -3.0, "signup": "2026-01-14T00:00:00+24:00", "score": "-0",
				"nested": map[string]any{"a": map[string]any{"b": map[string]any{"c": "deep"}}}}},
		{ExternalID: "gus", Email: "gus@example.com", Attributes: map[string]any{"plan": "trial"}}, // erased below
		{ExternalID: "hal", Company: "Acme", Attributes: map[string]any{"plan": "trial"}},          // no address
		{ExternalID: "ivy", Email: "ivy@example.com", Company: "Hooli", TeamSize: "+20-30", Title: "VP Sales",
			Attributes: map[string]any{"plan": "enterprise", "seats": 1e6, "score": "1e400", "signup": "2026-11-30"}},
		{ExternalID: "jon", Email: "jon@example.com", Department: "Engineering", Seniority: "Manager",
			Attributes: map[string]any{"plan": "trial", "score": " 17 ", "signup": "2026-11-29T10:00:00.123456789123Z"}},
		{ExternalID: "kim", Email: "kim@example.com", Title: "vp marketing", Locale: "de-DE",
			Attributes: map[string]any{"First Name": "Kimberly", "score": "1e-400", "signup": "2026-01-15T00:00:00"}},
		{ExternalID: "lee", Email: "lee@example.com", FirstName: "Lee",
			Attributes: map[string]any{"plan": []any{"trial", "pro"}, "seats": true, "signup": "2026-01-15 5:04:05"}},
		{ExternalID: "mo", Email: "Mo@Example.com", FirstName: "Mo", Company: "İstanbul Ltd",
			Attributes: map[string]any{"plan": "TRİAL", "address": map[string]any{"city": "İSTANBUL"}}},
	}
	for i := range contacts {
		c, _, err := w.db.UpsertContact(ctx, &contacts[i])
		require.NoError(t, err)
		w.ids[c.ExternalID], w.names[c.ID] = c.ID, c.ExternalID
	}

	track := func(who, event string, at time.Time, props map[string]any) nurture.Call {
		return nurture.Call{Type: nurture.EventTrack, MessageID: fmt.Sprintf("%s-%s-%d", who, event, at.UnixNano()),
			UserID: who, Name: event, Properties: props, Timestamp: at}
	}
	calls := []nurture.Call{
		track("ada", "Report Created", now.Add(-time.Hour), nil),
		track("ada", "report_created", now.Add(-30*time.Hour), map[string]any{"format": "pdf"}),
		track("ada", "report-created", now.Add(-10*day), map[string]any{"format": "PDF", "pages": 3.0}),
		track("ada", "report_created", now.Add(time.Hour), nil), // not yet happened
		track("ada", "signed_up", now.Add(-90*day), nil),
		track("ada", "order.completed", now.Add(-2*day), map[string]any{"amount": 120.0, "currency": "EUR", "items": []any{"a", "b"}}),
		track("bob", "report-created", now.Add(-10*day), map[string]any{"format": "csv"}),
		track("bob", "order_completed", now.Add(-3*day), map[string]any{"amount": "80", "currency": "eur", "coupon": map[string]any{"code": "X1"}}),
		track("bob", "Signed Up", now.Add(-40*day), nil),
		track("dee", "report created", now.Add(2*day), nil),
		track("ivy", "order completed", now.Add(-time.Hour), map[string]any{"amount": 10.0}),
		track("ivy", "order completed", now.Add(-5*day), map[string]any{"amount": 200.0, "currency": "usd"}),
		track("ivy", "order completed", now.Add(-50*day), map[string]any{"amount": 1000.0, "currency": "USD"}),
		track("ivy", "signed_up", now.Add(-60*day), nil),
		track("jon", "signed_up", now.Add(-2*time.Hour), nil),
		track("gus", "signed_up", now.Add(-2*time.Hour), nil),
	}
	for i := range 5 {
		calls = append(calls, track("cy", "ReportCreated", now.Add(-time.Duration(i+1)*time.Hour), map[string]any{"format": "pdf", "pages": float64(i)}))
	}
	// Company records: from group calls (typed fields, traits) and from
	// research, as the enrichment job records its findings.
	calls = append(calls,
		group("g-ada", "ada", "acme", nurture.Company{Name: "Acme Corp", Traits: map[string]any{"industry": "Fintech", "plan": "enterprise",
			"address": map[string]any{"city": "Paris"}, "blank": " ", "none": nil}}),
		group("g-bob", "bob", "globex", nurture.Company{TeamSize: "lots", Country: "DE", Traits: map[string]any{"size": 250.0}}),
		group("g-ivy", "ivy", "hooli", nurture.Company{Name: "Hooli", Traits: map[string]any{"size_range": "200+"}}),
		group("g-jon", "jon", "initech", nurture.Company{Domain: "initech.example"}),
		group("g-kim", "kim", "umbrella", nurture.Company{Name: "Umbrella", Traits: map[string]any{"size": 42.0}}),
		group("g-lee", "lee", "lee-co", nurture.Company{}),
	)
	_, err := w.db.Ingest(ctx, calls, readTraits, now)
	require.NoError(t, err)
	found := func(fields ...string) []nurture.EnrichedField {
		var out []nurture.EnrichedField
		for i := 0; i < len(fields); i += 2 {
			out = append(out, nurture.EnrichedField{Field: fields[i], Value: fields[i+1], Source: "https://example.com/", Method: "test", At: now})
		}
		return out
	}
	for group, enriched := range map[string][]nurture.EnrichedField{
		"acme":     found("size", "11-50", "industry", "Manufacturing", "saas", "Slack", "saas", " HubSpot ", "mail_provider", "Google", "saas", "  "),
		"globex":   found("size_range", "1-10", "name", "Globex Inc", "name", "Other"),
		"hooli":    found("size", "500-1000"),
		"initech":  found("size_range", "5-9", "size", "100-200", "industry", "Software"),
		"umbrella": found("size", "7-8", "size_range", "1-2"),
		"lee-co":   found("size", " many ", "size", "5-10", "country", "FR"),
	} {
		_, err := w.db.Pool().Exec(ctx, `UPDATE companies SET enriched = $2, enriched_at = $3 WHERE group_id = $1`, group, enriched, now)
		require.NoError(t, err)
	}

	hit := func(kind nurture.HitKind, class nurture.HitClass, ago time.Duration) nurture.Hit {
		return nurture.Hit{Kind: kind, Class: class, At: now.Add(-ago)}
	}
	w.email(t, "ada", "welcome", nurture.TopicOnboarding, nurture.StatusSent,
		hit(nurture.HitOpen, nurture.ClassHuman, day), hit(nurture.HitClick, nurture.ClassMachine, day))
	w.email(t, "bob", "newsletter", nurture.TopicMarketing, nurture.StatusSent, hit(nurture.HitClick, nurture.ClassHuman, 40*day))
	w.email(t, "jon", "promo", nurture.TopicMarketing, nurture.StatusSent,
		hit(nurture.HitClick, nurture.ClassHuman, 2*day), hit(nurture.HitOpen, nurture.ClassMachine, 2*day))
	w.email(t, "kim", "welcome", nurture.TopicOnboarding, nurture.StatusSent,
		hit(nurture.HitOpen, nurture.ClassHuman, 45*day), hit(nurture.HitClick, nurture.ClassBot, day))
	w.email(t, "lee", "promo", nurture.TopicMarketing, nurture.StatusBounced, hit(nurture.HitClick, nurture.ClassHuman, day))
	w.email(t, "cy", "digest", "", nurture.StatusQueued, hit(nurture.HitOpen, nurture.ClassHuman, 3*day))
	w.email(t, "ivy", "digest", nurture.TopicEducation, nurture.StatusSent, hit(nurture.HitClick, nurture.ClassHuman, -day)) // a click dated later

	w.sequenceEmail(t, "jon", "onboarding", "day3", hit(nurture.HitClick, nurture.ClassHuman, day))
	w.sequenceEmail(t, "kim", "onboarding", "day3", hit(nurture.HitOpen, nurture.ClassMachine, day))
	w.sequenceEmail(t, "kim", "education", "lesson", hit(nurture.HitOpen, nurture.ClassHuman, 10*day))

	require.NoError(t, w.db.SetPreferences(ctx, w.ids["fay"], []nurture.Topic{nurture.TopicMarketing}, nil))
	require.NoError(t, w.db.SetPreferences(ctx, w.ids["ada"], []nurture.Topic{nurture.TopicEducation}, nil))
	require.NoError(t, w.db.Suppress(ctx, "eve@example.com", nurture.SuppressHardBounce, ""))
	require.NoError(t, w.db.Suppress(ctx, "mo@example.com", nurture.SuppressComplaint, ""))
	_, err = w.db.Pool().Exec(ctx, `UPDATE contacts SET erased_at = now() WHERE id = $1`, w.ids["gus"])
	require.NoError(t, err)

	// Go's side: the facts of every contact, with every event and email,
	// so that Eval reads what the segment's SQL reads.
	var reqs []nurture.FactsRequest
	for _, id := range w.ids {
		reqs = append(reqs, nurture.FactsRequest{ContactID: id, Needs: nurture.FactsNeeds{
			ConditionRefs: nurture.ConditionRefs{Events: []string{"reportcreated", "signedup", "ordercompleted"}, EventHistory: true,
				Traits: true, Company: true, Engagement: true},
			Emails: true,
		}})
	}
	fs, err := w.db.LoadFactsBatch(ctx, reqs)
	require.NoError(t, err)
	for _, f := range fs {
		if f != nil && f.Contact.Email != "" { // the audience: not erased, with an address
			f.Now = now
			w.facts = append(w.facts, f)
		}
	}
	return w
}

// email creates a message to who, settles it as status with topic, and
// records its hits.
func (w *segmentWorld) email(t testing.TB, who, template string, topic nurture.Topic, status nurture.MessageStatus, hits ...nurture.Hit) {
	t.Helper()
	id := w.ids[who]
	m, _, err := w.db.CreateMessage(w.ctx, nurture.Message{DedupeKey: "seg:" + who + ":" + template, ContactID: id, Template: template, SendAt: w.now.Add(-50 * day)})
	require.NoError(t, err)
	if status != nurture.StatusQueued {
		claimed, _, err := w.db.ClaimMessages(w.ctx, []int64{m.ID}, m.ID, time.Minute)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		n, err := w.db.RecordOutcomes(w.ctx, []nurture.Outcome{{MessageID: m.ID, Claim: m.ID, Status: status, Topic: topic, At: w.now.Add(-50 * day)}})
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	for i := range hits {
		hits[i].MessageID, hits[i].ContactID = m.ID, id
	}
	require.NoError(t, w.db.RecordHits(w.ctx, hits))
}

// sequenceEmail enrolls who in seq and sends the email of its step, with
// hits, as the sequence engine writes them.
func (w *segmentWorld) sequenceEmail(t testing.TB, who, seq, step string, hits ...nurture.Hit) {
	t.Helper()
	at := w.now.Add(-20 * day)
	e, _, err := w.db.Enroll(w.ctx, nurture.Enrollment{ContactID: w.ids[who], Sequence: seq, Version: "v1", Topic: nurture.TopicOnboarding,
		State: []byte(`{}`), NextRun: at, Started: at}, func([]nurture.Enrollment) (bool, string) { return true, "" })
	require.NoError(t, err)
	m, applied, err := w.db.ApplyEnrollment(w.ctx, nurture.EnrollmentUpdate{ID: e.ID, Revision: e.Revision, Status: nurture.EnrollmentActive,
		Step: step, State: []byte(`{}`), NextRun: at.Add(day), At: at,
		Message: &nurture.Message{DedupeKey: fmt.Sprintf("seq:%d:%s", e.ID, step), Template: "welcome", SendAt: at},
		Reasons: &nurture.MessageReasons{EnrollmentID: e.ID, Sequence: seq, Version: "v1", Step: step}})
	require.NoError(t, err)
	require.True(t, applied)
	for i := range hits {
		hits[i].MessageID, hits[i].ContactID = m.ID, w.ids[who]
	}
	require.NoError(t, w.db.RecordHits(w.ctx, hits))
}

// goSegment is who cond holds for by Facts.Eval, by external id, sorted.
func (w *segmentWorld) goSegment(cond nurture.Condition) []string {
	out := []string{}
	for _, f := range w.facts {
		if f.Eval(cond) {
			out = append(out, f.Contact.ExternalID)
		}
	}
	sort.Strings(out)
	return out
}

// sqlSegment is who cond holds for by the segment's SQL (every page), by
// external id, sorted.
func (w *segmentWorld) sqlSegment(t testing.TB, cond nurture.Condition) []string {
	t.Helper()
	out := []string{}
	var after int64
	for {
		ids, err := w.db.SegmentPage(w.ctx, cond, w.now, after, 5, 0, 1)
		require.NoError(t, err, "condition %s", cond)
		for _, id := range ids {
			out = append(out, w.names[id])
		}
		if len(ids) < 5 {
			break
		}
		after = ids[len(ids)-1]
	}
	sort.Strings(out)
	return out
}

func (w *segmentWorld) requireSame(t testing.TB, cond nurture.Condition) []string {
	t.Helper()
	want := w.goSegment(cond)
	require.Equal(t, want, w.sqlSegment(t, cond), "condition %s: SQL (right) against Go (left)", cond)
	return want
}

func mustParse(t testing.TB, text string) nurture.Condition {
	t.Helper()
	c, err := nurture.ParseCondition(text)
	require.NoError(t, err, text)
	return c
}

// TestSegmentSQLAnswersAsGo: each operator, nesting, missing values,
// numbers in text, dates, nested traits, events with where, at least and
// within, engagement windows with machine and scanner hits left out,
// topic state and suppression: the segment's SQL finds exactly the
// contacts Facts.Eval finds, and, where written down, the ones expected.
func TestSegmentSQLAnswersAsGo(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	tests := []struct {
		cond string
		want []string // nil: only that SQL and Go agree
	}{
		{`traits.plan == "trial"`, []string{"ada", "eve", "jon"}},
		{`traits.plan == " PRO "`, []string{"bob", "cy"}},
		{`traits.plan != "trial"`, []string{"bob", "cy", "dee", "fay", "ivy", "kim", "lee", "mo"}},
		{`traits.plan == "trıal"`, []string{}}, // a dotless i is not an i
		{`traits.plan in ["pro", "enterprise"]`, []string{"bob", "cy", "ivy"}},
		{`traits.plan contains "tri"`, []string{"ada", "eve", "jon", "mo"}}, // Go and PostgreSQL lower İ to i
		{`traits.plan contains "trial"`, []string{"ada", "eve", "jon", "lee", "mo"}},
		{`traits.plan contains ["pro", "ent"]`, []string{"bob", "cy", "ivy", "lee"}},
		{`traits.plan exists`, []string{"ada", "bob", "cy", "eve", "ivy", "jon", "lee", "mo"}},
		{`not traits.plan exists`, []string{"dee", "fay", "kim"}},
		{`traits.note exists`, []string{}},
		{`traits.note != "x"`, nil},
		{`traits.seats > 5`, []string{"ada", "bob", "cy", "ivy"}},
		{`traits.seats >= 10`, []string{"ada", "cy", "ivy"}},
		{`traits.seats < 0`, []string{"fay"}},
		{`traits.seats <= 0`, []string{"eve", "fay"}},
		{`traits.seats == 7`, []string{"bob"}},
		{`traits.seats == "7"`, []string{"bob"}},
		{`traits.seats == "12.0"`, []string{"ada"}},
		{`traits.seats == 10`, []string{"cy"}},
		{`traits.seats in [0, "1e6", 7]`, []string{"bob", "eve", "ivy"}},
		{`traits.seats == true`, []string{"lee"}},
		{`traits.seats contains "1"`, []string{"cy"}},
		{`traits.score > 10`, []string{"ada", "dee", "eve", "jon"}},
		{`traits.score >= 3.5`, nil},
		{`traits.score <= 0`, nil},
		{`traits.score < 1`, nil},
		{`traits.score == 0`, nil},
		{`traits.score == 1000`, []string{"eve"}},
		{`traits.score exists`, nil},
		{`traits.beta == true`, []string{"ada", "bob"}},
		{`traits.beta == "true"`, []string{"ada", "bob"}},
		{`traits.beta == false`, []string{"cy"}},
		{`traits.beta != true`, nil},
		{`traits.beta contains "tr"`, []string{"bob"}},
		{`traits.tags contains "beta"`, []string{"ada", "bob"}},
		{`traits.tags contains "alpha"`, []string{"ada", "bob"}},
		{`traits.tags contains 3`, []string{"cy"}},
		{`traits.tags contains [2, "gamma"]`, []string{"cy"}},
		{`traits.tags contains ""`, []string{"bob"}},
		{`traits.tags exists`, nil},
		{`traits.tags == "alpha"`, []string{}},
		{`traits.address.city == "LONDON"`, []string{"ada", "bob"}},
		{`traits.address.city == "istanbul"`, []string{}},
		{`traits.address.city == "İstanbul"`, []string{"mo"}},
		{`traits.address.city exists`, nil},
		{`traits.address == "London"`, []string{"cy"}},
		{`traits.address.zip != "N1"`, nil},
		{`traits.nested.a.b.c == "deep"`, []string{"fay"}},
		{`traits.nested.a.b exists`, []string{"fay"}},
		{`traits."First Name" == "kimberly"`, []string{"kim"}},
		{`traits.first_name == "ada"`, []string{"ada"}},
		{`traits.firstName == "ADA"`, []string{"ada"}},
		{`traits.FIRSTNAME exists`, nil},
		{`traits.name == "ada lovelace"`, []string{"ada"}},
		{`traits.name == "young"`, []string{"cy"}},
		{`traits.name exists`, nil},
		{`traits.email contains "@example.com"`, nil},
		{`traits.email == "mo@example.com"`, []string{"mo"}},
		{`traits.title contains "vp"`, []string{"ivy", "kim"}},
		{`traits.time_zone == "europe/berlin"`, []string{"fay"}},
		{`traits.timezone exists`, []string{"fay"}},
		{`traits.seniority == "manager" and traits.department == "engineering"`, []string{"jon"}},
		{`traits.signup > "2026-01-14"`, nil},
		{`traits.signup >= "2026-01-15"`, nil},
		{`traits.signup < "2026-01-15T00:00:01Z"`, nil},
		{`traits.signup <= "2025-12-31T23:59:59Z"`, nil},
		{`traits.signup > "2026-11-29T10:00:00.123456788Z"`, nil},
		{`traits.signup < "0001-01-01"`, []string{"eve"}},
		{`traits.signup > 5`, []string{}},
		{`company.name == "acme corp"`, []string{"ada"}},           // the record's name hides the profile's
		{`company.name == "globex inc"`, []string{"bob"}},          // research fills a blank typed field
		{`company.name contains "istanbul"`, []string{"mo"}},       // no record: the profile
		{`company.industry == "fintech"`, []string{"ada"}},         // a trait before research
		{`company.industry == "software"`, []string{"bob", "jon"}}, // the profile; research
		{`company.size >= 50`, []string{"bob"}},                    // a trait when the team size does not read
		{`company.size < 20`, []string{"ada", "cy", "eve"}},
		{`company.size == 11`, []string{"ada", "cy"}}, // research's size; the profile's
		{`company.size == 20`, []string{"ivy"}},       // a size_range trait keeps research's size out
		{`company.size == 42`, []string{"kim"}},
		{`company.size_range == "lots"`, []string{"bob"}},
		{`company.size_range == "5-9"`, []string{"jon"}},
		{`company.size_range == "1-2"`, []string{"kim"}},
		{`company.size_range == "200+"`, []string{"ivy"}},
		{`company.size_range == "many"`, []string{"lee"}}, // the first size found, though it does not read
		{`company.size >= 5`, []string{"ada", "bob", "cy", "ivy", "kim"}},
		{`company.size_range == "11-50"`, []string{"ada", "cy"}},
		{`company.size exists`, nil},
		{`not company.size exists`, nil},
		{`company.saas contains "hubspot"`, []string{"ada"}},
		{`company.saas == "Slack"`, []string{}},
		{`company.mail_provider exists`, []string{"ada"}},
		{`company.plan == "enterprise"`, []string{"ada"}},
		{`company.address.city == "paris"`, []string{"ada"}},
		{`company.blank exists or company.none exists`, []string{}},
		{`company.country == "de"`, []string{"bob"}},
		{`company.domain == "initech.example"`, []string{"jon"}},
		{`company.name.x exists`, []string{}},
		{`company.country exists`, []string{"bob", "lee"}},
		{`company.name != "acme"`, nil},
		{`did signed_up`, []string{"ada", "bob", "ivy", "jon"}},
		{`did "Signed Up" within 30d`, []string{"jon"}},
		{`did report_created`, []string{"ada", "bob", "cy"}},
		{`did report_created at least 3 times`, []string{"ada", "cy"}},
		{`did report_created at least 4 times`, []string{"cy"}},
		{`did report_created within 2d`, []string{"ada", "cy"}},
		{`did report_created at least 2 times within 2d`, []string{"ada", "cy"}},
		{`did report_created where format == "pdf"`, []string{"ada", "cy"}},
		{`did report_created where format == "pdf" at least 2 times within 30d`, []string{"ada", "cy"}},
		{`did report_created where pages > 2`, []string{"ada", "cy"}},
		{`did report_created where format != "pdf"`, []string{"ada", "bob"}},
		{`did order.completed where amount > 100`, []string{"ada", "ivy"}},
		{`did order.completed where (amount >= 80 and currency == "EUR")`, []string{"ada", "bob"}},
		{`did order.completed where items contains "b"`, []string{"ada"}},
		{`did order.completed where coupon.code == "x1"`, []string{"bob"}},
		{`did order.completed where currency exists at least 2 times`, []string{"ivy"}},
		{`not did report_created`, nil},
		{`did nothing_ever`, []string{}},
		{`opened topic onboarding`, []string{"ada", "kim"}},
		{`opened topic onboarding within 30d`, []string{"ada"}},
		{`clicked topic onboarding`, []string{}},
		{`clicked topic marketing`, []string{"bob", "jon"}},
		{`clicked topic marketing within 7d`, []string{"jon"}},
		{`opened topic marketing within 7d`, []string{"jon"}},
		{`opened template digest`, []string{"cy"}},
		{`clicked template digest`, []string{}},
		{`opened template promo`, []string{"jon"}},
		{`opened step welcome`, []string{}},
		{`opened step day3`, []string{}}, // a segment is no sequence's
		{`opened step day3 in onboarding`, []string{"jon"}},
		{`clicked step day3 in onboarding within 7d`, []string{"jon"}},
		{`opened step lesson in education`, []string{"kim"}},
		{`opened step lesson in education within 7d`, []string{}},
		{`opened step lesson in onboarding`, []string{}},
		{`opened any email`, []string{"ada", "bob", "cy", "jon", "kim"}},
		{`clicked any email`, []string{"bob", "jon"}},
		{`opened any email within 7d`, []string{"ada", "cy", "jon"}},
		{`clicked any email within 30d`, []string{"jon"}},
		{`subscribed to marketing`, []string{"ada", "bob", "cy", "dee", "ivy", "jon", "kim", "lee"}},
		{`subscribed to education`, []string{"bob", "cy", "dee", "fay", "ivy", "jon", "kim", "lee"}},
		{`subscribed to transactional`, []string{"ada", "bob", "cy", "dee", "fay", "ivy", "jon", "kim", "lee"}},
		{`not subscribed to marketing`, []string{"eve", "fay", "mo"}},
		{`traits.plan == "trial" and (did report_created or clicked topic marketing)`, []string{"ada", "jon"}},
		{`not (traits.plan == "trial" or company.size >= 50) and subscribed to marketing`, nil},
		{`company.industry == "software" and company.size >= 50 and clicked topic marketing within 60d`, []string{"bob"}},
		{`not not traits.plan exists`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			t.Parallel()
			got := w.requireSame(t, mustParse(t, tc.cond))
			if tc.want != nil {
				require.Equal(t, tc.want, got, "who %s holds for", tc.cond)
			}
		})
	}
}

// TestSegmentSQLReadsValuesAsGo stores one trait of many kinds and
// spellings (numbers in text under every syntax strconv.ParseFloat knows,
// out of range, dates and times in every layout, impossible ones) and
// asks every operator about it: SQL and Go agree on each. Hexadecimal
// floats (0x1p-2), which Go reads as numbers and the SQL as words, are
// the one spelling left out (see segment_value.go).
func TestSegmentSQLReadsValuesAsGo(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	values := []any{
		"", " ", "\u00a0x\u3000", "x", "X ", "ß", "SS", "ſ", "K", "k", "Σ", "ς", "İ", "ı", "i", "I", "ǅ", "ǆ",
		"1", " 1 ", "1.0", "+1", "-1", ".5", "5.", "1e3", "1E+03", "1_000", "1__0", "_1", "1_", "1_.5", "0x10", "0X1P-2_",
		"1e400", "-1e400", "1e-400", "4e-324", "2e-324", "1e99999", "1e-99999", "0e99999", "inf", "-Infinity", "NaN", "+nan", "infinite",
		"1,5", "١٢", "9007199254740993", strings.Repeat("9", 400),
		"2026-01-15", "2026-01-15T00:00:00Z", "2026-01-15T5:04:05Z", "2026-01-15t05:04:05Z", "2026-01-15T05:04:05z",
		"2026-01-15T23:59:60Z", "2026-01-15T24:00:00Z", "2026-01-15T00:00:00+24:00", "2026-01-15T00:00:00+23:60",
		"2026-01-15T00:00:00+25:00", "2026-01-15T00:00:00.5Z", "2026-01-15T00:00:00,5Z", "2026-01-15T00:00:00.Z",
		"2026-01-15T00:00:00.1234567891Z", "2026-1-15", "2026-01-15 5:04:05", "2026-01-15 05:04:05Z", "2026-01-15Z",
		"2026-01-15T00:00:00", "2026-01-15T1:2:3Z", "2026-02-29", "2024-02-29", "2100-02-29", "2000-02-29", "0000-02-29",
		"2026-04-31", "2026-13-01", "2026-00-10", "+2026-01-15", "20260-01-15", "2026-01-15T00:00Z", "2026-01-15T00:00:00-00:30",
		0.0, -0.5, 1.0, 1000.0, 1e300, true, false, nil,
		[]any{}, []any{"a", " A ", ""}, []any{1.0, "1", true}, []any{[]any{"x"}}, []any{nil},
		map[string]any{}, map[string]any{"a": 1.0},
		"Pro", " pRO\u3000", "pr\u043e", "\u212aey", "KEY", `["x"]`, `{"a": 1}`, "null", "\u017fo", "So", "A%B", "axb", "A_B", `a\B`, "Ske", "\u017f\u212a\u0131",
	}
	for i, v := range values {
		_, _, err := w.db.UpsertContact(w.ctx, &nurture.Contact{ExternalID: fmt.Sprintf("v%03d", i), Email: fmt.Sprintf("v%03d@example.com", i),
			Attributes: map[string]any{"v": v}})
		require.NoError(t, err)
	}
	*w = *reloadSegmentWorld(t, w)

	operands := []any{"", "x", "ss", "s", "k", "σ", "i", "ǅ", "1", "1.0", "1000", "5e-1", "true", "TRUE ", "a",
		1.0, 1000.0, 0.0, -0.5, 0.5, 1e300, true, false,
		"2026-01-15", "2026-01-15T00:00:00Z", "2026-01-15T05:04:05Z", "2026-01-14T00:00:00-24:00", "0000-02-29", "2026-01-15T00:00:00.5Z",
		"pro", "key", `["x"]`, `{"a": 1}`, "null", "so", " Pro ", "a%b", "a_b", `a\b`, "sKı", "ske"}
	field := nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"v"}}
	var conds []nurture.Condition
	for _, o := range operands {
		for _, op := range []nurture.Op{nurture.OpEq, nurture.OpNeq, nurture.OpContains, nurture.OpGt, nurture.OpGte, nurture.OpLt, nurture.OpLte} {
			conds = append(conds, nurture.Compare{Field: field, Op: op, Value: o})
		}
	}
	conds = append(conds,
		nurture.Compare{Field: field, Op: nurture.OpIn, Value: []any{"x", 1.0, true, "2026-01-15"}},
		nurture.Compare{Field: field, Op: nurture.OpIn, Value: []any{"pro", "KEY", "x"}},
		nurture.Compare{Field: field, Op: nurture.OpIn, Value: []any{"pro", "so", `["x"]`, 1.0}},
		nurture.Compare{Field: field, Op: nurture.OpContains, Value: []any{"a", 1.0, true}},
		nurture.Compare{Field: field, Op: nurture.OpExists, Value: true},
		nurture.Compare{Field: field, Op: nurture.OpExists, Value: false},
	)
	for _, c := range conds {
		w.requireSame(t, c)
	}
}

// reloadSegmentWorld loads the facts of every contact of w again.
func reloadSegmentWorld(t testing.TB, w *segmentWorld) *segmentWorld {
	t.Helper()
	rows, err := w.db.Pool().Query(w.ctx, `SELECT id, coalesce(external_id, '') FROM contacts`)
	require.NoError(t, err)
	var reqs []nurture.FactsRequest
	for rows.Next() {
		var id int64
		var ext string
		require.NoError(t, rows.Scan(&id, &ext))
		w.ids[ext], w.names[id] = id, ext
		reqs = append(reqs, nurture.FactsRequest{ContactID: id, Needs: nurture.FactsNeeds{
			ConditionRefs: nurture.ConditionRefs{Events: []string{"reportcreated", "signedup", "ordercompleted"}, EventHistory: true,
				Traits: true, Company: true, Engagement: true},
			Emails: true,
		}})
	}
	require.NoError(t, rows.Err())
	fs, err := w.db.LoadFactsBatch(w.ctx, reqs)
	require.NoError(t, err)
	w.facts = nil
	for _, f := range fs {
		if f != nil && f.Contact.Email != "" {
			f.Now = w.now
			w.facts = append(w.facts, f)
		}
	}
	return w
}

// segmentLeaves are the building blocks of random conditions.
var segmentLeaves = []string{
	`traits.plan == "trial"`, `traits.plan in ["pro", "enterprise"]`, `traits.plan contains "r"`, `traits.plan exists`,
	`traits.seats > 5`, `traits.seats <= 0`, `traits.seats == "7"`, `traits.score >= 3.5`, `traits.score < 100`,
	`traits.beta == true`, `traits.beta != false`, `traits.tags contains "beta"`, `traits.tags contains 2`,
	`traits.address.city == "london"`, `traits.address exists`, `traits.signup >= "2026-01-15"`, `traits.signup < "2026-03-01T10:00:00Z"`,
	`traits.name contains "a"`, `traits.first_name exists`, `traits.email contains "e"`, `traits.title contains "vp"`,
	`company.name exists`, `company.size >= 20`, `company.size < 100`, `company.industry == "software"`, `company.size_range contains "-"`,
	`company.saas contains "slack"`, `company.plan exists`, `company.address.city == "paris"`, `company.domain exists`,
	`did signed_up`, `did signed_up within 30d`, `did report_created at least 2 times`, `did report_created where format == "pdf"`,
	`did report_created within 1d`, `did order.completed where amount > 100`, `did order.completed where currency == "usd" within 10d`,
	`opened topic onboarding`, `opened topic marketing within 7d`, `clicked topic marketing`, `clicked template promo within 30d`,
	`opened template digest within 7d`, `opened step day3 in onboarding`, `clicked any email within 30d`, `opened any email`, `subscribed to marketing`, `subscribed to education`, `subscribed to transactional`,
}

// randomCondition builds a tree of and, or and not over the leaves.
func randomCondition(r *rand.Rand, leaves []nurture.Condition, depth int) nurture.Condition {
	if depth == 0 || r.IntN(3) == 0 {
		return leaves[r.IntN(len(leaves))]
	}
	switch r.IntN(3) {
	case 0:
		return nurture.Not{C: randomCondition(r, leaves, depth-1)}
	case 1:
		all := make(nurture.All, 1+r.IntN(3))
		for i := range all {
			all[i] = randomCondition(r, leaves, depth-1)
		}
		return all
	}
	anyOf := make(nurture.Any, 1+r.IntN(3))
	for i := range anyOf {
		anyOf[i] = randomCondition(r, leaves, depth-1)
	}
	return anyOf
}

// TestSegmentSQLAnswersAsGoForRandomTrees: 500 random trees (a seeded
// generator) over the same contacts find the same contacts both ways.
func TestSegmentSQLAnswersAsGoForRandomTrees(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	leaves := make([]nurture.Condition, len(segmentLeaves))
	for i, s := range segmentLeaves {
		leaves[i] = mustParse(t, s)
	}
	r := rand.New(rand.NewPCG(14, 2026))
	sizes := map[int]int{}
	for range 500 {
		c := randomCondition(r, leaves, 4)
		sizes[len(w.requireSame(t, c))]++
	}
	require.Greater(t, len(sizes), 5, "the trees find segments of many sizes: %v", sizes)
}

// TestSegmentSQLAnswersAsGoForHandBuiltTrees: trees no parser makes
// (operands of other types, lists in lists, unknown operators, scopes and
// nodes, nil conditions) compile to what Facts.Eval answers for them.
func TestSegmentSQLAnswersAsGoForHandBuiltTrees(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	plan := nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"plan"}}
	tags := nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"tags"}}
	for _, c := range []nurture.Condition{
		nil,
		nurture.All{}, nurture.Any{}, nurture.Not{}, nurture.All{nil, nurture.Any{nil}},
		&nurture.All{}, nurture.Not{C: &nurture.Any{}},
		nurture.Compare{Field: plan, Op: "like", Value: "trial"},
		nurture.Compare{Field: plan, Op: nurture.OpNeq, Value: 3},
		nurture.Compare{Field: plan, Op: nurture.OpEq, Value: []any{"trial"}},
		nurture.Compare{Field: plan, Op: nurture.OpIn, Value: "trial"},
		nurture.Compare{Field: plan, Op: nurture.OpContains, Value: []any{[]any{"x", []any{"tri"}}}},
		nurture.Compare{Field: tags, Op: nurture.OpContains, Value: []any{[]any{2.0}}},
		nurture.Compare{Field: plan, Op: nurture.OpContains, Value: 7},
		nurture.Compare{Field: plan, Op: nurture.OpExists, Value: "yes"},
		nurture.Compare{Field: plan, Op: nurture.OpGt, Value: "not a date"},
		nurture.Compare{Field: plan, Op: nurture.OpGte, Value: true},
		nurture.Compare{Field: nurture.Field{Scope: "profile", Path: []string{"plan"}}, Op: nurture.OpNeq, Value: "x"},
		nurture.Compare{Field: nurture.Field{Scope: nurture.ScopeTraits}, Op: nurture.OpExists, Value: true},
		nurture.Compare{Field: nurture.Field{Scope: nurture.ScopeCompany}, Op: nurture.OpExists, Value: true},
		nurture.Compare{Field: nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"seats"}}, Op: nurture.OpGte, Value: math.NaN()},
		nurture.Compare{Field: nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"seats"}}, Op: nurture.OpLt, Value: math.Inf(1)},
		nurture.Did{Event: "report_created", AtLeast: -3, Within: -time.Hour},
		nurture.Did{Event: "report_created", Where: []nurture.Compare{{Field: nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"format"}}, Op: nurture.OpEq, Value: "pdf"}}},
		nurture.Did{Event: "order.completed", Where: []nurture.Compare{{Op: nurture.OpExists, Value: true}}},
		nurture.Engaged{Kind: "glance", Scope: "everything"},
		nurture.Engaged{Kind: nurture.HitClick, Scope: nurture.EngagedTemplate, Name: "promo", Within: -day},
		nurture.Subscribed{Topic: ""}, nurture.Subscribed{Topic: "newsletters"},
	} {
		w.requireSame(t, c)
	}
}

// TestSegmentCountSampleAndPages: the count, a sample (newest first) and
// the pages agree; erased contacts and contacts without an address are
// never in a segment, even one that holds for everybody.
func TestSegmentCountSampleAndPages(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	everyone := w.sqlSegment(t, nil)
	require.NotContains(t, everyone, "gus", "erased")
	require.NotContains(t, everyone, "hal", "no address")
	require.Len(t, everyone, len(w.facts))

	cond := mustParse(t, `traits.plan == "trial" or company.size >= 50`)
	n, err := w.db.SegmentCount(w.ctx, cond, w.now)
	require.NoError(t, err)
	require.Equal(t, int64(4), n)

	sample, err := w.db.SegmentSample(w.ctx, cond, w.now, 3)
	require.NoError(t, err)
	require.Len(t, sample, 3)
	require.Equal(t, []string{"jon", "eve", "bob"}, []string{sample[0].ExternalID, sample[1].ExternalID, sample[2].ExternalID})
	require.Equal(t, "trial", sample[0].Attributes["plan"])

	var pages [][]int64
	var after int64
	for {
		ids, err := w.db.SegmentPage(w.ctx, cond, w.now, after, 3, 0, 1)
		require.NoError(t, err)
		if len(ids) == 0 {
			break
		}
		pages = append(pages, ids)
		after = ids[len(ids)-1]
	}
	require.Len(t, pages, 2)
	all := slices.Concat(pages...)
	require.True(t, slices.IsSorted(all))
	require.Len(t, all, 4)

	// Two lanes page through the same contacts between them, each its own.
	var laned []int64
	for lane := range 2 {
		var after int64
		for {
			ids, err := w.db.SegmentPage(w.ctx, cond, w.now, after, 1, lane, 2)
			require.NoError(t, err)
			if len(ids) == 0 {
				break
			}
			require.EqualValues(t, lane, ids[0]%2, "lane %d", lane)
			laned = append(laned, ids...)
			after = ids[len(ids)-1]
		}
	}
	slices.Sort(laned)
	require.Equal(t, all, laned)
}

// TestSegmentSQLAtAnotherMoment: the same condition asked earlier sees
// less history and no opt-out yet.
func TestSegmentSQLAtAnotherMoment(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	cond := mustParse(t, `not subscribed to marketing or did report_created within 1d`)
	require.Equal(t, []string{"ada", "cy", "eve", "fay", "mo"}, w.requireSame(t, cond))
	w.now = w.now.Add(-3 * time.Hour) // before the opt-outs; ada's report an hour ago not yet made
	for _, f := range w.facts {
		f.Now = w.now
	}
	require.Equal(t, []string{"cy", "eve", "mo"}, w.requireSame(t, cond))
}

// TestSegmentRefusesTreesNestedTooDeeply: a hand-built tree deeper than
// any parser makes is invalid, not sent to PostgreSQL.
func TestSegmentRefusesTreesNestedTooDeeply(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var c nurture.Condition = nurture.Compare{Field: nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"plan"}}, Op: nurture.OpExists, Value: true}
	for range 1000 {
		c = nurture.Not{C: c}
	}
	_, err := db.SegmentCount(ctx, c, time.Now())
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
}

// TestSegmentSQLComparesNumbersAsGoReads: stored numbers on, just above
// and just below the halfway points between float64s compare as the
// float64 Go reads each as (ties to even), at zero, in the subnormals and
// at the largest float64.
func TestSegmentSQLComparesNumbersAsGoReads(t *testing.T) {
	t.Parallel()
	w := newSegmentWorld(t)
	operands := []float64{0.1, 0.3, 10, 0, -0.5, 5e-324, 1e300, math.MaxFloat64, -math.MaxFloat64}
	var raws []string
	for _, o := range operands {
		for _, x := range []float64{math.Nextafter(o, math.Inf(-1)), o} {
			next := math.Nextafter(x, math.Inf(1))
			if math.IsInf(x, 0) || math.IsInf(next, 0) {
				continue
			}
			mid := new(big.Rat).Add(new(big.Rat).SetFloat64(x), new(big.Rat).SetFloat64(next))
			mid.Quo(mid, big.NewRat(2, 1))
			eps := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(1100), nil))
			for _, r := range []*big.Rat{mid, new(big.Rat).Add(mid, eps), new(big.Rat).Sub(mid, eps)} {
				raws = append(raws, strings.TrimSuffix(strings.TrimRight(r.FloatString(1105), "0"), "."))
			}
		}
	}
	for i, raw := range raws {
		_, _, err := w.db.UpsertContact(w.ctx, &nurture.Contact{ExternalID: fmt.Sprintf("n%03d", i), Email: fmt.Sprintf("n%03d@example.com", i),
			Attributes: map[string]any{"v": json.Number(raw)}})
		require.NoError(t, err)
	}
	*w = *reloadSegmentWorld(t, w)
	field := nurture.Field{Scope: nurture.ScopeTraits, Path: []string{"v"}}
	for _, o := range operands {
		for _, op := range []nurture.Op{nurture.OpGt, nurture.OpGte, nurture.OpLt, nurture.OpLte} {
			w.requireSame(t, nurture.Compare{Field: field, Op: op, Value: o})
		}
	}
}
