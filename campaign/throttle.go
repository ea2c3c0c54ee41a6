package campaign

import "time"

// Throttle spaces a campaign's emails: at most PerMinute of them each
// minute, in the order of the fan-out. Zero is no throttle (the relay's
// own rate, NURTURE_SMTP_RATE, still applies).
type Throttle struct {
	PerMinute int
}

// Slot returns the earliest moment of the i-th email (from 0) of a
// fan-out whose emails are due from due on: spread evenly, so that no
// minute gets more than PerMinute.
func (t Throttle) Slot(i int, due time.Time) time.Time {
	if t.PerMinute <= 0 || i <= 0 {
		return due
	}
	return due.Add(time.Duration(int64(i) * int64(time.Minute) / int64(t.PerMinute)))
}
