package nurture_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestParseContactQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    nurture.ContactQuery
		problem string // "" when read
	}{
		{"ada", nurture.ContactQuery{Text: "ada"}, ""},
		{"  Ada \t Lovelace ", nurture.ContactQuery{Text: "Ada Lovelace"}, ""},
		{"ADA@Example.com", nurture.ContactQuery{Text: "ADA@Example.com", Address: true}, ""},
		{"ada@", nurture.ContactQuery{Text: "ada@", Address: true}, ""},
		{"Zoë", nurture.ContactQuery{Text: "Zoë"}, ""},
		{"%_", nurture.ContactQuery{Text: "%_"}, ""},
		{"", nurture.ContactQuery{}, "q: is empty: type an address, a name or a company"},
		{" \t\n", nurture.ContactQuery{}, "q: is empty: type an address, a name or a company"},
		{strings.Repeat("a", 255), nurture.ContactQuery{}, "q: is longer than 254 bytes"},
		{"a\x00b", nurture.ContactQuery{}, "q: contains a control character"},
		{"a\x1bb", nurture.ContactQuery{}, "q: contains a control character"},
		{"a\xffb", nurture.ContactQuery{}, "q: is not valid UTF-8"},
	} {
		got, err := nurture.ParseContactQuery(tc.in)
		if tc.problem != "" {
			require.EqualError(t, err, tc.problem, "%q", tc.in)
			require.Equal(t, "q", nurture.FieldOf(err))
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got, "%q", tc.in)
	}
}

// Whatever is typed, a query read is non-empty, trimmed, short, valid
// UTF-8 without control characters, and an address exactly when it has
// an "@"; anything else is refused naming the field q.
func FuzzParseContactQuery(f *testing.F) {
	for _, s := range []string{"ada", " Ada  Lovelace ", "ada@example.com", "@", "", "\x00", "\xff", "é", "a\u2028b", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := nurture.ParseContactQuery(s)
		if err != nil {
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
			require.Equal(t, "q", nurture.FieldOf(err))
			return
		}
		require.NotEmpty(t, q.Text)
		require.LessOrEqual(t, len(q.Text), nurture.MaxContactQuery)
		require.True(t, utf8.ValidString(q.Text))
		require.Equal(t, strings.TrimSpace(q.Text), q.Text)
		require.Equal(t, strings.Contains(q.Text, "@"), q.Address)
		for _, r := range q.Text {
			require.False(t, unicode.IsControl(r), "%q keeps a control character", q.Text)
		}
		require.Equal(t, strings.Fields(s), strings.Fields(q.Text), "the words typed are the words searched")
	})
}
