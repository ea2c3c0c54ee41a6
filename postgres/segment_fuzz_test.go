package postgres_test

import (
	"encoding/json"
	"testing"

	"github.com/nurture-email/nurture"
)

// FuzzSegmentSQL: whatever condition the parsers accept (the text form, or
// JSON as ParseConditionValue reads it) compiles without panicking,
// PostgreSQL runs its SQL, and the SQL finds exactly the contacts
// Facts.Eval finds among the segment world's.
func FuzzSegmentSQL(f *testing.F) {
	for _, s := range segmentLeaves {
		f.Add(s)
	}
	for _, s := range []string{
		`traits.plan == "trial" and (did report_created or clicked topic marketing)`,
		`not (traits.seats > "2026-01-01" or company.size >= 50) and subscribed to marketing`,
		`traits.tags contains [2, "beta", true] or traits.v in [1, "x", false]`,
		`did order.completed where (amount >= 80 and currency == "EUR" and items contains "b") at least 2 times within 30d`,
		`traits.signup <= "2026-01-15T00:00:00+24:00" and not traits.score >= 1e308`,
		`{"and": [{"traits.plan": ["trial", "pro"]}, {"not": {"did": {"event": "signed_up", "within": "30d"}}}]}`,
		`{"or": [{"company.size": {"gte": 10, "lt": 1000}}, {"clicked": {"template": "promo", "within": "7d"}}]}`,
		`{"traits.address.city": {"contains": "LON", "exists": true}, "subscribed": "education"}`,
		`{"did": {"event": "report created", "where": {"format": "pdf", "pages": {"gt": 1}}, "at_least": 2}}`,
		`{"opened": {"step": "welcome"}}`,
		`company.size_range == "5-9" or company.saas contains ["slack", "x"] or company.address.city exists or company.size < 12`,
		`opened step day3 in onboarding within 30d or clicked any email within 7d`,
		`{"clicked": {"step": "lesson", "sequence": "education"}, "opened": {"any": true}}`,
	} {
		f.Add(s)
	}
	w := newSegmentWorld(f)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := nurture.ParseCondition(text)
		if err != nil {
			var v any
			if json.Unmarshal([]byte(text), &v) != nil {
				return
			}
			if c, err = nurture.ParseConditionValue(v); err != nil {
				return
			}
		}
		w.requireSame(t, c)
	})
}
