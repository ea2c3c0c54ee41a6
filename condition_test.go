package nurture_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func traits(path ...string) nurture.Field {
	return nurture.Field{Scope: nurture.ScopeTraits, Path: path}
}

func company(path ...string) nurture.Field {
	return nurture.Field{Scope: nurture.ScopeCompany, Path: path}
}

func prop(path ...string) nurture.Field {
	return nurture.Field{Scope: nurture.ScopeProperties, Path: path}
}

func TestParseCondition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want nurture.Condition
	}{
		{`traits.plan == "trial"`, nurture.Compare{Field: traits("plan"), Op: nurture.OpEq, Value: "trial"}},
		{`traits.plan != "trial"`, nurture.Compare{Field: traits("plan"), Op: nurture.OpNeq, Value: "trial"}},
		{`company.size >= 20`, nurture.Compare{Field: company("size"), Op: nurture.OpGte, Value: 20.0}},
		{`traits.seats<3.5`, nurture.Compare{Field: traits("seats"), Op: nurture.OpLt, Value: 3.5}},
		{`traits.trial_ends_at <= "2025-02-01"`, nurture.Compare{Field: traits("trial_ends_at"), Op: nurture.OpLte, Value: "2025-02-01"}},
		{`traits.score > -1e3`, nurture.Compare{Field: traits("score"), Op: nurture.OpGt, Value: -1000.0}},
		{`traits.role in ["engineer", "developer"]`, nurture.Compare{Field: traits("role"), Op: nurture.OpIn, Value: []any{"engineer", "developer"}}},
		{`traits.tags contains "beta"`, nurture.Compare{Field: traits("tags"), Op: nurture.OpContains, Value: "beta"}},
		{`traits.role contains ["sales", "marketing"]`, nurture.Compare{Field: traits("role"), Op: nurture.OpContains, Value: []any{"sales", "marketing"}}},
		{`traits.plan exists`, nurture.Compare{Field: traits("plan"), Op: nurture.OpExists, Value: true}},
		{`traits."Plan Type" == "x"`, nurture.Compare{Field: traits("Plan Type"), Op: nurture.OpEq, Value: "x"}},
		{`traits.address.city == "Paris"`, nurture.Compare{Field: traits("address", "city"), Op: nurture.OpEq, Value: "Paris"}},
		{`traits.beta == true`, nurture.Compare{Field: traits("beta"), Op: nurture.OpEq, Value: true}},
		{`did signed_up`, nurture.Did{Event: "signed_up", AtLeast: 1}},
		{`did "Report Scheduled"`, nurture.Did{Event: "Report Scheduled", AtLeast: 1}},
		{`did order.completed`, nurture.Did{Event: "order.completed", AtLeast: 1}},
		{`did report_created where format == "pdf" at least 3 times within 30d`, nurture.Did{Event: "report_created",
			Where: []nurture.Compare{{Field: prop("format"), Op: nurture.OpEq, Value: "pdf"}}, AtLeast: 3, Within: 30 * 24 * time.Hour}},
		{`did x within 1d12h at least 1 time`, nurture.Did{Event: "x", AtLeast: 1, Within: 36 * time.Hour}},
		{`did x where (plan == "pro" and seats > 3)`, nurture.Did{Event: "x", AtLeast: 1, Where: []nurture.Compare{
			{Field: prop("plan"), Op: nurture.OpEq, Value: "pro"}, {Field: prop("seats"), Op: nurture.OpGt, Value: 3.0}}}},
		{`clicked step welcome within 7d`, nurture.Engaged{Kind: nurture.HitClick, Scope: nurture.EngagedStep, Name: "welcome", Within: 7 * 24 * time.Hour}},
		{`opened topic education`, nurture.Engaged{Kind: nurture.HitOpen, Scope: nurture.EngagedTopic, Name: "education"}},
		{`opened template feature-reports`, nurture.Engaged{Kind: nurture.HitOpen, Scope: nurture.EngagedTemplate, Name: "feature-reports"}},
		{`opened any email`, nurture.Engaged{Kind: nurture.HitOpen, Scope: nurture.EngagedAny}},
		{`clicked any email within 30d`, nurture.Engaged{Kind: nurture.HitClick, Scope: nurture.EngagedAny, Within: 30 * 24 * time.Hour}},
		{`clicked step day3 in onboarding within 7d`, nurture.Engaged{Kind: nurture.HitClick, Scope: nurture.EngagedStep, Name: "day3",
			Sequence: "onboarding", Within: 7 * 24 * time.Hour}},
		{`opened step "Day 3" in "in"`, nurture.Engaged{Kind: nurture.HitOpen, Scope: nurture.EngagedStep, Name: "Day 3", Sequence: "in"}},
		{`subscribed to marketing`, nurture.Subscribed{Topic: nurture.TopicMarketing}},
		{`subscribed education`, nurture.Subscribed{Topic: nurture.TopicEducation}},
		{`not did demo_booked`, nurture.Not{C: nurture.Did{Event: "demo_booked", AtLeast: 1}}},
		{`company.size >= 20 and not did demo_booked`, nurture.All{
			nurture.Compare{Field: company("size"), Op: nurture.OpGte, Value: 20.0},
			nurture.Not{C: nurture.Did{Event: "demo_booked", AtLeast: 1}}}},
		// and binds tighter than or; parentheses group.
		{`traits.a exists or traits.b exists and traits.c exists`, nurture.Any{
			nurture.Compare{Field: traits("a"), Op: nurture.OpExists, Value: true},
			nurture.All{nurture.Compare{Field: traits("b"), Op: nurture.OpExists, Value: true}, nurture.Compare{Field: traits("c"), Op: nurture.OpExists, Value: true}}}},
		{`(traits.a exists or traits.b exists) and not (traits.c exists)`, nurture.All{
			nurture.Any{nurture.Compare{Field: traits("a"), Op: nurture.OpExists, Value: true}, nurture.Compare{Field: traits("b"), Op: nurture.OpExists, Value: true}},
			nurture.Not{C: nurture.Compare{Field: traits("c"), Op: nurture.OpExists, Value: true}}}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			got, err := nurture.ParseCondition(tc.text)
			require.NoError(t, err, "ParseCondition")
			require.Equal(t, tc.want, got)
			again, err := nurture.ParseCondition(got.String())
			require.NoError(t, err, "String %q does not parse back", got.String())
			require.Equal(t, got, again, "String %q does not parse back", got.String())
		})
	}
}

func TestParseConditionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text   string
		offset int // of the mistake, 0-based
		want   string
	}{
		{`traits.plan = "trial"`, 12, "a single = does not compare: write =="},
		{`traits.plan == trial`, 15, `text goes in double quotes ("trial")`},
		{`company.size >= "big"`, 16, "want a number or a date"},
		{`plan == "trial"`, 0, `unknown field "plan"`},
		{`traits == "x"`, 7, "want .NAME after traits"},
		{`traits.plan`, 11, "want an operator after traits.plan"},
		{`traits.plan ~ "x"`, 12, `unexpected '~'`},
		{`traits.plan == "x" traits.y exists`, 19, "after a complete condition"},
		{`(traits.a exists`, 16, "want ) to close the ( at character 1"},
		{`traits.a exists and`, 19, "ends too early"},
		{``, 0, "is empty"},
		{`   `, 3, "is empty"},
		{`traits.plan == "unterminated`, 15, "no closing"},
		{`traits.role in "engineer"`, 15, "want a list"},
		{`traits.role in []`, 16, "want a value"},
		{`did`, 3, "want the name of an event"},
		{`did and`, 4, "want the name of an event"},
		{`did x within 2 days`, 13, "want a duration"},
		{`did x within 2days`, 13, `"2days" is not a duration`},
		{`did x within 0d`, 13, "is not more than zero"},
		{`did x at least 0 times`, 15, "whole number from 1"},
		{`did x at least 2`, 16, "want times"},
		{`did x within 1d within 2d`, 16, "within is given twice"},
		{`did x where (a == 1 or b == 2)`, 20, "or is not supported there"},
		{`opened topic news`, 13, `unknown topic "news"`},
		{`opened email welcome`, 7, "want step, topic or template"},
		{`opened any welcome`, 11, "want email after any"},
		{`opened any`, 10, "want email after any"},
		{`clicked step welcome in`, 23, "want a sequence id after in"},
		{`clicked topic education in onboarding`, 24, "after a complete condition"},
		{`subscribed to newsletters`, 14, `unknown topic "newsletters"`},
		{`! did x`, 0, "! is not an operator"},
		{`traits.x == 1.5e`, 12, `"1.5e" is neither a number nor a duration`},
		{"traits.x == \"\xff\" and \xff", 20, "not valid UTF-8"},
		{strings.Repeat("not ", 40) + "traits.x exists", 128, "nests deeper than 32"},
		{strings.Repeat("(", 40) + "traits.x exists", 32, "nests deeper than 32"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			_, err := nurture.ParseCondition(tc.text)
			var ce *nurture.ConditionError
			require.ErrorAs(t, err, &ce)
			require.Contains(t, ce.Message, tc.want)
			require.Equal(t, tc.offset, ce.Offset, "offset (%q)", tc.text[min(ce.Offset, len(tc.text)):])
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
		})
	}
	long := strings.Repeat("traits.x exists and ", nurture.MaxConditionText/20) + "traits.x exists"
	_, err := nurture.ParseCondition(long)
	require.ErrorContains(t, err, "longer than", "a %d-byte condition", len(long))
}

// jsonValue decodes a condition written in JSON, as the API and YAML give it.
func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

func TestParseConditionValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		want string // the text form of the tree
	}{
		{`"traits.plan == \"trial\""`, `traits.plan == "trial"`},
		{`{"traits.plan": "trial"}`, `traits.plan == "trial"`},
		{`{"traits.plan": ["trial", "free"]}`, `traits.plan in ["trial", "free"]`},
		{`{"traits.role": {"contains": ["sales", "growth"]}}`, `traits.role contains ["sales", "growth"]`},
		{`{"company.size": {"lt": 500, "gte": 20}}`, `company.size >= 20 and company.size < 500`},
		{`{"traits.plan": {"exists": false}}`, `not traits.plan exists`},
		{`{"traits.plan": {"exists": true}}`, `traits.plan exists`},
		{`{"traits.address.city": "Paris"}`, `traits.address.city == "Paris"`},
		{`{"company.size": {"gte": 20}, "not": {"did": "demo_booked"}}`, `company.size >= 20 and not did demo_booked`},
		{`{"and": [{"traits.role": {"contains": "engineer"}}, "did setup_completed"]}`, `traits.role contains "engineer" and did setup_completed`},
		{`{"any": [{"did": "a"}, {"did": "b"}]}`, `did a or did b`},
		{`{"or": [{"did": "a"}]}`, `did a`},
		{`{"did": {"event": "Report Created", "where": {"format": "pdf", "pages": {"gt": 2}}, "at_least": 3, "within": "30d"}}`,
			`did "Report Created" where (format == "pdf" and pages > 2) at least 3 times within 30d`},
		{`{"opened": "welcome"}`, `opened step welcome`},
		{`{"clicked": {"topic": "education", "within": "14d"}}`, `clicked topic education within 14d`},
		{`{"clicked": {"template": "feature-reports"}}`, `clicked template feature-reports`},
		{`{"opened": {"any": true, "within": "7d"}}`, `opened any email within 7d`},
		{`{"clicked": {"step": "day3", "sequence": "onboarding"}}`, `clicked step day3 in onboarding`},
		{`{"subscribed": "marketing"}`, `subscribed to marketing`},
		{`{"not": {"and": ["did a", "did b"]}}`, `not (did a and did b)`},
	}
	for _, tc := range tests {
		t.Run(tc.json, func(t *testing.T) {
			t.Parallel()
			c, err := nurture.ParseConditionValue(jsonValue(t, tc.json))
			require.NoError(t, err, "ParseConditionValue")
			require.Equal(t, tc.want, c.String())
			again, err := nurture.ParseCondition(c.String())
			require.NoError(t, err, "the text form does not parse back")
			require.Equal(t, c, again, "the text form does not parse back to the same tree")
		})
	}
}

func TestParseConditionValueErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json  string
		field string
		want  string
	}{
		{`{"traits.plan": {"equals": "trial"}}`, "traits.plan.equals", `unknown operator "equals": want one of eq, neq, in, contains, gt, gte, lt, lte, exists`},
		{`{"and": [{"did": "x"}, {"company.size": {"gte": "big"}}]}`, "and[1].company.size.gte", "want a number or a date"},
		{`{"and": []}`, "and", "at least one condition"},
		{`{"and": {"did": "x"}}`, "and", "at least one condition"},
		{`{"plan": "trial"}`, "plan", `unknown condition "plan"`},
		{`{"traits.": "x"}`, "traits.", "names no field"},
		{`{"traits.a..b": "x"}`, "traits.a..b", "empty name"},
		{`{"traits.plan": null}`, "traits.plan", "use exists"},
		{`{"traits.plan": {"in": []}}`, "traits.plan.in", "wants a list"},
		{`{"traits.plan": {"in": [["a"]]}}`, "traits.plan.in[0]", "only in and contains take a list"},
		{`{"traits.plan": {"contains": []}}`, "traits.plan.contains", "contains wants a list"},
		{`{"traits.plan": {"exists": "yes"}}`, "traits.plan.exists", "true or false"},
		{`{"traits.plan": {}}`, "traits.plan", "operators such as"},
		{`{"did": {"event": "x", "times": 3}}`, "did.times", `unknown key "times" of did`},
		{`{"did": {"where": {"a": 1}}}`, "did.event", "is required"},
		{`{"did": {"event": "x", "at_least": 2.5}}`, "did.at_least", "whole number"},
		{`{"did": {"event": "x", "within": "7 days"}}`, "did.within", "is not a duration"},
		{`{"did": {"event": "x", "where": {"a": {"exists": false}}}}`, "did.where.a.exists", "not supported on properties"},
		{`{"did": 3}`, "did", "wants an event name"},
		{`{"opened": {"step": "a", "topic": "education"}}`, "opened.topic", "both given"},
		{`{"opened": {"topic": "news"}}`, "opened.topic", `unknown topic "news"`},
		{`{"clicked": {"within": "7d"}}`, "clicked", "names no email"},
		{`{"opened": {"any": false}}`, "opened.any", "wants true"},
		{`{"opened": {"any": true, "template": "x"}}`, "opened.template", "both given"},
		{`{"opened": {"topic": "education", "sequence": "onboarding"}}`, "opened.sequence", "give step too"},
		{`{"opened": {"step": "a", "sequence": ""}}`, "opened.sequence", "wants the id of a sequence"},
		{`{"subscribed": "news"}`, "subscribed", "wants a topic"},
		{`{"not": {"or": [{"did": "a"}, "traits.plan = \"x\""]}}`, "not.or[1]", "a single ="},
		{`{"traits.plan == \"x\"": true}`, `traits.plan == "x"`, "make it the value"},
		{`[]`, "", "is a list"},
		{`3`, "", "is a number"},
		{`{}`, "", "is empty"},
		{`null`, "", "is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.json, func(t *testing.T) {
			t.Parallel()
			_, err := nurture.ParseConditionValue(jsonValue(t, tc.json))
			var ce *nurture.ConditionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field())
			require.Contains(t, ce.Message, tc.want)
		})
	}
	deep := `"traits.x exists"`
	for range nurture.MaxConditionDepth + 1 {
		deep = `{"not": ` + deep + `}`
	}
	_, err := nurture.ParseConditionValue(jsonValue(t, deep))
	require.ErrorContains(t, err, "nests deeper", "deep nesting")
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	good := map[string]time.Duration{
		"2d": 48 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "1d12h": 36 * time.Hour,
		"1w": 7 * 24 * time.Hour, "30s": 30 * time.Second, " 7d ": 7 * 24 * time.Hour, "3650d": nurture.MaxDuration,
	}
	for s, want := range good {
		got, err := nurture.ParseDuration(s)
		require.NoError(t, err, "ParseDuration(%q)", s)
		require.Equal(t, want, got, "ParseDuration(%q)", s)
		back, err := nurture.ParseDuration(nurture.FormatDuration(got))
		require.NoError(t, err, "FormatDuration(%v) = %q does not parse back", got, nurture.FormatDuration(got))
		require.Equal(t, got, back, "FormatDuration(%v) = %q does not parse back", got, nurture.FormatDuration(got))
	}
	for _, s := range []string{"", "2", "d", "2 days", "2days", "1.5h", "-1d", "0d", "12h1d", "1d1d", "3651d", "999999999d", "2D"} {
		d, err := nurture.ParseDuration(s)
		require.Error(t, err, "ParseDuration(%q) = %v", s, d)
	}
	require.Equal(t, "1d12h", nurture.FormatDuration(36*time.Hour))
}

func TestRefs(t *testing.T) {
	t.Parallel()
	c, err := nurture.ParseCondition(`traits.plan == "trial" and (did "Demo Booked" within 14d or did x where a == 1) and clicked step welcome and opened step day3 in onboarding and subscribed to marketing and not company.size > 3`)
	require.NoError(t, err)
	got := nurture.Refs(c) // Steps: only the sequence asking's
	want := nurture.ConditionRefs{Events: []string{"demobooked", "x"}, Traits: true, Company: true, Engagement: true,
		Topics: []nurture.Topic{nurture.TopicMarketing}, Steps: []string{"welcome"}, Lookback: 14 * 24 * time.Hour, EventHistory: true}
	require.Equal(t, want, got)
}

// A condition given as a value whose text form would be too long is
// refused as its text would be: a name of invalid UTF-8 grows when it is
// escaped.
func TestParseConditionValueRefusesWhatItsTextWouldNot(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("\xff", nurture.MaxConditionText/3)
	_, err := nurture.ParseConditionValue(map[string]any{"did": long})
	var ce *nurture.ConditionError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, ce.Message, "once written as text")
	_, err = nurture.ParseConditionValue(map[string]any{"did": "report_created"})
	require.NoError(t, err)
}
