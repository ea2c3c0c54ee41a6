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

// Allowance is how many emails one pass of the fan-out (one a second) may
// create, given how many it created in the last minute: what is left of
// the minute's PerMinute, and no more than a second's share of it, so a
// minute's emails spread over the minute rather than leave at its start.
// Without a throttle it is max, a pass's batch.
func (t Throttle) Allowance(lastMinute int64, max int) int {
	if t.PerMinute <= 0 {
		return max
	}
	left := int64(t.PerMinute) - lastMinute
	perSecond := int64((t.PerMinute + 59) / 60)
	return int(min(left, perSecond, int64(max)))
}
