package nurture_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// checkRoundTrip fails unless c's text form parses back into c, and prints
// the same again.
func checkRoundTrip(t *testing.T, c nurture.Condition) {
	t.Helper()
	text := c.String()
	again, err := nurture.ParseCondition(text)
	require.NoError(t, err, "the text form %q of %#v does not parse", text, c)
	require.Equal(t, c, again, "the text form %q parses into another tree", text)
	require.Equal(t, text, again.String(), "printed twice")
}

// FuzzParseCondition feeds the text parser anything: it must not panic, an
// error must point inside the text, and what parses must print as text
// that parses back into the same tree (and evaluate without panicking).
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		`traits.plan == "trial"`,
		`company.size >= 20 and not did demo_booked`,
		`traits.role in ["engineer", "developer"] or traits.title contains "cto"`,
		`did report_created where (format == "pdf" and pages > 2) at least 3 times within 30d`,
		`did "Report Scheduled" within 1d12h`,
		`clicked step welcome within 7d and subscribed to education`,
		`opened topic education or opened template feature-reports`,
		`opened any email within 30d or clicked step day3 in onboarding`,
		`not (traits."Plan Type" exists or traits.a.b <= "2025-01-31")`,
		`traits.x == -1.5e3`, `traits.x = 1`, `traits.x == "\u00e9\xff"`, `((did x)`, `did x at least 2 times`,
		`did order.completed where amount > 100`, "traits.x == \"a\" and\n  did y",
	} {
		f.Add(s)
	}
	facts := evalFacts()
	f.Fuzz(func(t *testing.T, text string) {
		c, err := nurture.ParseCondition(text)
		if err != nil {
			var ce *nurture.ConditionError
			require.ErrorAs(t, err, &ce)
			if len(text) <= nurture.MaxConditionText {
				require.GreaterOrEqual(t, ce.Offset, 0, "offset outside the %d-byte text", len(text))
				require.LessOrEqual(t, ce.Offset, len(text), "offset outside the %d-byte text", len(text))
			}
			return
		}
		checkRoundTrip(t, c)
		facts.Eval(c)
	})
}

// FuzzParseConditionValue does the same for the map form, from JSON: an
// error has a path, and what parses prints as text that parses back.
func FuzzParseConditionValue(f *testing.F) {
	for _, s := range []string{
		`{"traits.plan": "trial"}`,
		`{"company.size": {"gte": 20, "lt": 500}, "not": {"did": "demo_booked"}}`,
		`{"and": [{"traits.role": {"in": ["a", "b"]}}, "did x"]}`,
		`{"or": [{"opened": "welcome"}, {"clicked": {"topic": "education", "within": "7d"}}]}`,
		`{"did": {"event": "x", "where": {"a.b": {"exists": true}, "c": [1, 2]}, "at_least": 2, "within": "1w"}}`,
		`{"subscribed": "marketing"}`, `{"traits.x": {"exists": false}}`, `{"traits.": 1}`, `[1]`, `"did x"`,
	} {
		f.Add(s)
	}
	facts := evalFacts()
	f.Fuzz(func(t *testing.T, src string) {
		var v any
		if json.Unmarshal([]byte(src), &v) != nil {
			return
		}
		c, err := nurture.ParseConditionValue(v)
		if err != nil {
			var ce *nurture.ConditionError
			require.ErrorAs(t, err, &ce)
			return
		}
		checkRoundTrip(t, c)
		facts.Eval(c)
	})
}
