package console

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A rate is judged against the target to stay below and the limit never
// to reach: reaching either counts as above it.
func TestJudge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate float64
		over bool
		text string
	}{
		{0, false, "Below the 0.1% target"},
		{0.00099, false, "Below the 0.1% target"},
		{0.001, true, "At or above the 0.1% target, below the 0.3% limit"},
		{0.0029, true, "At or above the 0.1% target, below the 0.3% limit"},
		{0.003, true, "At or above the 0.3% limit"},
		{0.5, true, "At or above the 0.3% limit"},
	} {
		got := judge(tc.rate, complaintTarget, complaintLimit)
		require.Equal(t, verdict{Over: tc.over, Text: tc.text}, got, "rate %g", tc.rate)
	}
}

// Each period ends with the bucket holding now, and starts a whole number
// of buckets before: hours, or days in UTC whatever the clock's zone.
func TestPeriodStart(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	now := time.Date(2026, 3, 2, 0, 30, 0, 0, paris) // 1 Mar 23:30 UTC
	want := map[string]time.Time{
		"24h": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		"7d":  time.Date(2026, 2, 23, 0, 0, 0, 0, time.UTC),
		"30d": time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
	}
	for _, p := range overviewPeriods() {
		require.Equal(t, want[p.Key], p.start(now), p.Key)
	}
	p, err := parsePeriod("")
	require.NoError(t, err)
	require.Equal(t, "24h", p.Key)
	_, err = parsePeriod("24H")
	require.ErrorContains(t, err, "must be 24h, 7d or 30d")
}

// The chart's scale holds the largest value and halves to a whole number.
func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]int64{0: 2, 1: 2, 2: 2, 3: 4, 4: 4, 5: 10, 10: 10, 11: 20, 21: 50, 199: 200,
		201: 500, 999_999: 1_000_000} {
		require.Equal(t, want, niceCeil(n), "niceCeil(%d)", n)
	}
	for n, want := range map[int64]string{0: "0", 500: "500", 1000: "1k", 2500: "2.5k", 1_000_000: "1M", 5_000_000: "5M"} {
		require.Equal(t, want, formatCompact(n))
	}
}

// The axis labels every third hour, every day of a week and every fifth
// day of a month, always including the last (current) bucket; on a
// phone, every sixth hour and every other day of a week.
func TestBucketTick(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		i, n   int
		hourly bool
		tick   string
		minor  bool
	}{
		{23, 24, true, "09:00", false},
		{22, 24, true, "", false},
		{20, 24, true, "09:00", true},
		{17, 24, true, "09:00", false},
		{6, 7, false, "2 Mar", false},
		{5, 7, false, "2 Mar", true},
		{29, 30, false, "2 Mar", false},
		{28, 30, false, "", false},
		{24, 30, false, "2 Mar", false},
	} {
		tick, minor := bucketTick(at, tc.i, tc.n, tc.hourly)
		require.Equal(t, tc.tick, tick, "bucket %d of %d", tc.i, tc.n)
		require.Equal(t, tc.minor, minor, "bucket %d of %d", tc.i, tc.n)
	}
}

// A column chart is an image with its title, a column per point titled
// with its label and number, and every text escaped.
func TestColumnChart(t *testing.T) {
	t.Parallel()
	svg := string(columnChart(`Sent <per> "hour"`, []Point{
		{Label: "Mon 2 Mar 10:00", Tick: "10:00", Value: 0},
		{Label: "Mon 2 Mar 11:00 <b>", Tick: "<11>", Minor: true, Value: 1234},
	}))
	require.Contains(t, svg, `role="img" aria-label="Sent &lt;per&gt; &#34;hour&#34;"`)
	require.Contains(t, svg, `<title>Sent &lt;per&gt; &#34;hour&#34;</title>`)
	require.Equal(t, 2, strings.Count(svg, `<rect class="chart-bar"`))
	require.Contains(t, svg, `<title>Mon 2 Mar 10:00: 0</title>`)
	require.Contains(t, svg, `<title>Mon 2 Mar 11:00 &lt;b&gt;: 1,234</title>`)
	require.Contains(t, svg, `<text class="chart-label minor" x=`)
	require.Contains(t, svg, `>&lt;11&gt;</text>`)
	require.Contains(t, svg, `>2k</text>`, "the scale, rounded up")
	require.NotContains(t, svg, "<b>")
}
