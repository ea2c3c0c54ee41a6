package nurture

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDuration is the longest duration ParseDuration accepts: ten years,
// far beyond any lifecycle wait, and far below an overflow.
const MaxDuration = 3650 * 24 * time.Hour

// durationUnits are the units of ParseDuration, largest first.
var durationUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second},
}

// ParseDuration reads a duration as sequences and conditions write it:
// whole numbers with a unit, w (weeks), d (days), h, m or s, largest unit
// first: 2d, 36h, 90m, 1d12h. A day is 24 hours, whatever the clocks do. The
// duration must be more than zero and at most MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%q is not a duration: write it as 2d, 36h, 90m or 1d12h", s)
	}
	if text == "" {
		return bad()
	}
	var total time.Duration
	last := -1 // index in durationUnits of the previous unit
	for text != "" {
		i := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		if i == 0 || i == len(text) || i > 8 {
			return bad()
		}
		n, _ := strconv.Atoi(text[:i])
		u := -1
		for k, du := range durationUnits {
			if du.unit == text[i] {
				u = k
			}
		}
		if u < 0 {
			return bad()
		}
		if u <= last {
			return 0, fmt.Errorf("%q is not a duration: give each unit once, largest first, as in 1d12h", s)
		}
		last = u
		total += time.Duration(n) * durationUnits[u].d
		if total > MaxDuration {
			return 0, fmt.Errorf("%q is longer than 3650 days", s)
		}
		text = text[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not more than zero", s)
	}
	return total, nil
}

// FormatDuration writes d as ParseDuration reads it, in days, hours,
// minutes and seconds (36h is 1d12h); what is below a second is left out.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	var b strings.Builder
	for _, du := range durationUnits[1:] {
		if n := d / du.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(du.unit)
			d -= n * du.d
		}
	}
	return b.String()
}
