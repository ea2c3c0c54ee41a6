package nurture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SendWindow is when emails may go out in a contact's local time: on Days
// (by time.Weekday; none set means every day), from From to To (minutes
// after midnight; To 1440 is midnight). The zero value, "any", allows
// every moment. Outside it are quiet hours.
type SendWindow struct {
	Days     [7]bool
	From, To int
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseSendWindow reads "any" (or "") or "DAYS HH:MM-HH:MM", where DAYS is
// daily, weekdays, weekends, or a comma-separated list of days (mon) and
// ranges of days (mon-fri, fri-mon), such as "weekdays 09:00-17:00".
func ParseSendWindow(v string) (SendWindow, error) {
	var w SendWindow
	bad := fmt.Errorf("%q is not a send window: want any, or DAYS HH:MM-HH:MM such as weekdays 09:00-17:00", v)
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "any" || v == "" {
		return w, nil
	}
	days, hours, ok := strings.Cut(v, " ")
	if !ok {
		return w, bad
	}
	switch days {
	case "daily", "every_day":
	case "weekdays":
		for d := time.Monday; d <= time.Friday; d++ {
			w.Days[d] = true
		}
	case "weekends":
		w.Days[time.Saturday], w.Days[time.Sunday] = true, true
	default:
		for _, part := range strings.Split(days, ",") {
			a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
			from, ok1 := weekdays[a]
			to, ok2 := weekdays[b]
			if !isRange {
				to, ok2 = from, ok1
			}
			if !ok1 || !ok2 {
				return SendWindow{}, bad
			}
			for d := from; ; d = (d + 1) % 7 {
				w.Days[d] = true
				if d == to {
					break
				}
			}
		}
	}
	open, shut, ok := strings.Cut(strings.TrimSpace(hours), "-")
	if !ok {
		return SendWindow{}, bad
	}
	from, err1 := minutes(open)
	to, err2 := minutes(shut)
	if err1 != nil || err2 != nil || to <= from {
		return SendWindow{}, bad
	}
	w.From, w.To = from, to
	return w, nil
}

// minutes reads HH:MM (00:00 to 24:00) as minutes after midnight.
func minutes(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 1440 {
		return 0, errors.New("bad time")
	}
	return hh*60 + mm, nil
}
