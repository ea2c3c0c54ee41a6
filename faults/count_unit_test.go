package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

// These tests check the suite's own arithmetic; they run in every `go test`.

func TestDuplicates(t *testing.T) {
	t.Parallel()
	copyOf := func(seq int64, lost string) smtpsink.Entry { return smtpsink.Entry{Seq: seq, Lost: lost} }
	for _, tc := range []struct {
		name          string
		copies        []smtpsink.Entry
		inside, other int
	}{
		{"none", nil, 0, 0},
		{"once", []smtpsink.Entry{copyOf(1, "")}, 0, 0},
		{"twice", []smtpsink.Entry{copyOf(1, ""), copyOf(9, "")}, 0, 1},
		{"again after a dropped reply", []smtpsink.Entry{copyOf(1, "drop"), copyOf(2, "")}, 1, 0},
		{"journal order, not list order", []smtpsink.Entry{copyOf(7, ""), copyOf(3, "client-closed")}, 1, 0},
		{"a third copy after a good reply", []smtpsink.Entry{copyOf(1, "noreply"), copyOf(2, ""), copyOf(3, "")}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inside, other := duplicates(tc.copies)
			require.Equal(t, tc.inside, inside, "inside")
			require.Equal(t, tc.other, other, "other")
		})
	}
}

func TestMessageIDOf(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]int64{
		"nurture.42@acme.example":                  42,
		"nurture.42.0f1e2d3c4b5a6978@acme.example": 42, // tagged with the installation's key
		"nurture.x@acme.example":                   -1,
		"other.42@acme.example":                    -1,
		"":                                         -1,
	} {
		id, ok := messageIDOf(header)
		if want < 0 {
			require.False(t, ok, "messageIDOf(%q) = %d", header, id)
		} else {
			require.True(t, ok, "messageIDOf(%q)", header)
			require.Equal(t, want, id, "messageIDOf(%q)", header)
		}
	}
}

func TestLongestPause(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	at := func(s int) smtpsink.Entry { return smtpsink.Entry{At: t0.Add(time.Duration(s) * time.Second)} }
	tl := tally{copies: map[int64][]smtpsink.Entry{1: {at(1)}, 2: {at(5)}, 3: {at(40), at(41)}, 4: {at(30)}}}
	require.Equal(t, 25*time.Second, longestPause(tl, t0.Add(2*time.Second)), "longest pause after 2 s (from 5 s to 30 s)")
	require.Zero(t, longestPause(tl, t0.Add(41*time.Second)), "nothing after the fault")
}

func TestNum(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -2500: "-2,500"} {
		require.Equal(t, want, num(n), "num(%d)", n)
	}
}
