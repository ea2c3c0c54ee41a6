package console

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A cursor written for a page's link reads back as itself.
func TestCursorsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cur := range []nurture.ContactCursor{{Key: "ada lovelace", ID: 1}, {Key: "zoë.o'neil@example.com", ID: 1 << 40}, {Key: "", ID: 7}} {
		got, err := parseSearchCursor(formatSearchCursor(cur))
		require.NoError(t, err)
		require.Equal(t, cur, got)
	}
	for _, cur := range []nurture.TimelineCursor{
		{At: time.Date(2026, 3, 2, 12, 0, 0, 123456000, time.UTC), Rank: 3, ID: 9},
		{At: time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC), Rank: 1, ID: 1},
	} {
		got, err := parseTimelineCursor(formatTimelineCursor(cur))
		require.NoError(t, err)
		require.Equal(t, cur, got)
	}
}

func FuzzParseSearchCursor(f *testing.F) {
	for _, s := range []string{"", "YWRh.1", "YWRh.0", "YWRh.-1", ".1", "YWRh", "!!.1", "AA.1", "_w.1", "YWRh.99999999999999999999", "YWRh.1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cur, err := parseSearchCursor(s)
		if err != nil {
			require.Equal(t, "after", nurture.FieldOf(err))
			return
		}
		if s == "" {
			require.Equal(t, nurture.ContactCursor{}, cur)
			return
		}
		require.Positive(t, cur.ID)
		require.True(t, utf8.ValidString(cur.Key))
		require.NotContains(t, cur.Key, "\x00")
		again, err := parseSearchCursor(formatSearchCursor(cur))
		require.NoError(t, err)
		require.Equal(t, cur, again)
	})
}

func FuzzParseTimelineCursor(f *testing.F) {
	for _, s := range []string{"", "1772452800000000-3-9", "0-1-1", "1-0-1", "1-4-1", "1-3-0", "-1-3-1", "1-3", "a-b-c", "253402300800000000-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cur, err := parseTimelineCursor(s)
		if err != nil {
			require.Equal(t, "before", nurture.FieldOf(err))
			return
		}
		if s == "" {
			require.Equal(t, nurture.TimelineCursor{}, cur)
			return
		}
		require.Positive(t, cur.ID)
		require.True(t, cur.Rank >= 1 && cur.Rank <= 3, "rank %d", cur.Rank)
		require.True(t, cur.At.Before(time.Date(9999, 1, 1, 0, 0, 0, 1, time.UTC)))
		again, err := parseTimelineCursor(formatTimelineCursor(cur))
		require.NoError(t, err)
		require.Equal(t, cur, again)
	})
}
