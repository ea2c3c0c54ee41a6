package nurture_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestParseMessageID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v   string
		id  int64
		tag string
	}{
		{"nurture.123@acme.example", 123, ""},
		{"<nurture.7@acme.example>", 7, ""},
		{" <nurture.7@acme.example> ", 7, ""},
		{"nurture.7.0123456789abcdef@acme.example", 7, "0123456789abcdef"},
		{"<nurture.42.ffffffffffffffff@mail.acme.example>", 42, "ffffffffffffffff"},
		{"nurture.7.0123456789ABCDEF@acme.example", 0, ""}, // we write lower case
		{"nurture.7.0123456789abcde@acme.example", 0, ""},
		{"nurture.7.0123456789abcdef0@acme.example", 0, ""},
		{"nurture.7.@acme.example", 0, ""},
		{"nurture.7.0123456789abcdeg@acme.example", 0, ""},
		{"nurture.7.0123456789abcdef.x@acme.example", 0, ""},
		{"nurture.0@acme.example", 0, ""},
		{"nurture.07@acme.example", 0, ""},
		{"nurture.12a@acme.example", 0, ""},
		{"nurture.12@", 0, ""},
		{"nurture.@acme.example", 0, ""},
		{"other.12@acme.example", 0, ""},
		{"nurture.99999999999999999999@acme.example", 0, ""},
		{"", 0, ""},
	} {
		id, tag, ok := nurture.ParseMessageID(tc.v)
		require.Equal(t, tc.id, id, tc.v)
		require.Equal(t, tc.tag, tag, tc.v)
		require.Equal(t, tc.id != 0, ok, tc.v)
	}
}

func TestMessageIDsAreThisInstallationsOnly(t *testing.T) {
	t.Parallel()
	ours := nurture.MessageIDs{Key: []byte(strings.Repeat("k", 32)), LegacyBelow: 100}
	other := nurture.MessageIDs{Key: []byte(strings.Repeat("o", 32)), LegacyBelow: 100}

	h := ours.Header(123, "acme.example")
	require.Regexp(t, `^nurture\.123\.[0-9a-f]{16}@acme\.example$`, h)
	require.Equal(t, h, ours.Header(123, "acme.example"), "the same message, the same Message-ID, on every retry")
	require.NotEqual(t, h, other.Header(123, "acme.example"), "another installation's message 123 has another Message-ID")

	id, ok := ours.Ours("<" + h + ">")
	require.True(t, ok)
	require.EqualValues(t, 123, id)
	_, ok = ours.Ours(other.Header(123, "acme.example"))
	require.False(t, ok, "another installation's Message-ID is not ours")
	forged := strings.Replace(h, "nurture.123.", "nurture.124.", 1)
	_, ok = ours.Ours(forged)
	require.False(t, ok, "the tag of one message does not fit another")

	// Mail sent before tags existed: recognised below LegacyBelow only.
	id, ok = ours.Ours("nurture.99@acme.example")
	require.True(t, ok)
	require.EqualValues(t, 99, id)
	_, ok = ours.Ours("nurture.100@acme.example")
	require.False(t, ok)

	// Without a key, the untagged form of older versions.
	require.Equal(t, "nurture.5@acme.example", nurture.MessageIDs{}.Header(5, "acme.example"))
	_, ok = nurture.MessageIDs{}.Ours(h)
	require.False(t, ok)
}
