package nurture_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A segment's filter is the condition language's map or text form; every
// mistake is unprocessable, at a field that starts with "filter".
func TestParseSegmentFilter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		filter string // JSON
		want   string // the condition's text, or the error's field
		ok     bool
	}{
		{`{"traits.plan": "trial"}`, `traits.plan == "trial"`, true},
		{`{"and": [{"company.industry": "Software"}, {"clicked": {"topic": "product", "within": "30d"}}]}`,
			`company.industry == "Software" and clicked topic product within 30d`, true},
		{`{"not": {"subscribed": "marketing"}}`, `not subscribed to marketing`, true},
		{`"did signed_up within 7d"`, `did signed_up within 7d`, true},
		{`{"clicked": {"step": "day3", "sequence": "onboarding"}}`, `clicked step day3 in onboarding`, true},
		{`null`, `filter`, false},
		{`[]`, `filter`, false},
		{`{"or": [{"traits.plan": "a"}, {"traits.seats": {"between": [1, 2]}}]}`, `filter.or[1].traits.seats.between`, false},
		{`{"clicked": {"step": "welcome"}}`, `filter`, false},
		{`{"and": [{"not": {"opened": "tips"}}]}`, `filter`, false},
	} {
		var v any
		dec := json.NewDecoder(strings.NewReader(tc.filter))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&v))
		c, err := nurture.ParseSegmentFilter(v)
		if tc.ok {
			require.NoError(t, err, tc.filter)
			require.Equal(t, tc.want, c.String())
			continue
		}
		require.Error(t, err, tc.filter)
		require.Equal(t, nurture.CodeUnprocessable, nurture.ErrorCodeOf(err), tc.filter)
		var de *nurture.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, tc.want, de.Field, tc.filter)
	}
}

// FuzzParseSegmentFilter feeds the filter parser any JSON: it never
// panics; a refusal is unprocessable at a field under "filter"; what it
// accepts prints as text that parses back into the same tree.
func FuzzParseSegmentFilter(f *testing.F) {
	for _, s := range []string{
		`{"traits.plan": "trial"}`,
		`{"and": [{"company.size": {"gte": 50}}, {"did": {"event": "report", "where": {"pages": {"gt": 2}}, "at_least": 3, "within": "30d"}}]}`,
		`{"or": [{"opened": {"template": "welcome"}}, {"not": {"subscribed": "product"}}]}`,
		`{"traits.role": ["cto", "vp"]}`, `{"traits.a.b": {"exists": false}}`, `"traits.x > 1"`, `{"and": []}`, `{"not": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		c, err := nurture.ParseSegmentFilter(v)
		if err != nil {
			var de *nurture.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, nurture.CodeUnprocessable, de.Code)
			require.True(t, strings.HasPrefix(de.Field, "filter"), "field %q", de.Field)
			return
		}
		if c == nil {
			return
		}
		again, err := nurture.ParseCondition(c.String())
		require.NoError(t, err, c.String())
		require.Equal(t, c.String(), again.String())
	})
}
