package sequence

import (
	"fmt"
	"strings"
	"time"
)

// Window is when emails may go out, in the contact's local time: on the
// days it allows, from From to To (minutes after midnight). Outside it are
// the quiet hours: a send that falls there waits for the next opening. The
// zero Window allows every moment.
type Window struct {
	Days [7]bool // by time.Weekday; none set means every day
	From int     // minutes after midnight, 0 to 1439
	To   int     // minutes after midnight, From+1 to 1440; 0 means 1440 (midnight)
}

// AnyTime reports whether w allows every moment.
func (w Window) AnyTime() bool {
	return w.everyDay() && w.From == 0 && w.end() == 24*60
}

func (w Window) everyDay() bool {
	for _, d := range w.Days {
		if d {
			return false
		}
	}
	return true
}

func (w Window) end() int {
	if w.To == 0 {
		return 24 * 60
	}
	return w.To
}

func (w Window) day(d time.Weekday) bool {
	return w.everyDay() || w.Days[d]
}

// Open reports whether t falls inside the window in loc.
func (w Window) Open(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	return w.day(lt.Weekday()) && m >= w.From && m < w.end()
}

// Next returns the first moment at or after t when the window is open in
// loc. On a day when clocks skip the opening time (a change to summer
// time), it opens when the clocks reach it again, which is the first
// moment after the skipped hour.
func (w Window) Next(t time.Time, loc *time.Location) time.Time {
	if w.AnyTime() || w.Open(t, loc) {
		return t
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	for i := range 8 {
		start := w.opening(y, m, d+i, loc)
		if start.Before(t) || !w.Open(start, loc) {
			continue
		}
		return start
	}
	return t // unreachable for a valid window: some day is allowed
}

// opening returns when the window opens on a day. When the clocks skip
// the opening time, time.Date may give a moment of either side of the
// change; the clocks reach the opening time again at the change itself.
func (w Window) opening(y int, m time.Month, d int, loc *time.Location) time.Time {
	start := time.Date(y, m, d, w.From/60, w.From%60, 0, 0, loc)
	lt := start.In(loc)
	mins := lt.Hour()*60 + lt.Minute()
	switch zoneStart, zoneEnd := start.ZoneBounds(); {
	case mins < w.From && !zoneEnd.IsZero():
		return zoneEnd
	case mins > w.From && !zoneStart.IsZero() && zoneStart.In(loc).Day() == lt.Day():
		if zs := zoneStart.In(loc); zs.Hour()*60+zs.Minute() >= w.From {
			return zoneStart
		}
	}
	return start
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// String describes the window for people: "mon-fri 09:00-17:00".
func (w Window) String() string {
	if w.AnyTime() {
		return "any time"
	}
	days := "every day"
	if !w.everyDay() {
		var names []string
		for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			if w.Days[d] {
				names = append(names, weekdayNames[d])
			}
		}
		days = strings.Join(names, ",")
		if days == "mon,tue,wed,thu,fri" {
			days = "mon-fri"
		}
	}
	return fmt.Sprintf("%s %02d:%02d-%02d:%02d", days, w.From/60, w.From%60, w.end()/60, w.end()%60)
}

// parseClock reads "09:00" (or "24:00" as the end of the day) as minutes
// after midnight.
func parseClock(s string, end bool) (int, error) {
	bad := fmt.Errorf("%q is not a time of day such as \"09:00\"", s)
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, bad
	}
	var hh, mm int
	if _, err := fmt.Sscanf(h+" "+m, "%d %d", &hh, &mm); err != nil || hh < 0 || mm < 0 || mm > 59 {
		return 0, bad
	}
	v := hh*60 + mm
	if v > 24*60 || (v == 24*60 && !end) || (hh > 23 && v != 24*60) {
		return 0, bad
	}
	return v, nil
}

// parseDays reads the days of a window: a list of mon, tue, ... or one of
// "weekdays", "weekends", "every day".
func parseDays(names []string) ([7]bool, error) {
	var days [7]bool
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "weekdays":
			for d := time.Monday; d <= time.Friday; d++ {
				days[d] = true
			}
			continue
		case "weekends":
			days[time.Saturday], days[time.Sunday] = true, true
			continue
		case "every day", "daily":
			return [7]bool{}, nil
		}
		found := false
		for i, w := range weekdayNames {
			if strings.EqualFold(strings.TrimSpace(n), w) || strings.EqualFold(strings.TrimSpace(n), time.Weekday(i).String()) {
				days[i], found = true, true
			}
		}
		if !found {
			return days, fmt.Errorf("%q is not a day: want mon, tue, wed, thu, fri, sat, sun, weekdays, weekends or every day", n)
		}
	}
	return days, nil
}
