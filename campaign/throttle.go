package campaign

// Throttle spaces a campaign's emails: at most PerMinute of them each
// minute, in the order of the fan-out. Zero is no throttle (the relay's
// own rate, NURTURE_SMTP_RATE, still applies).
type Throttle struct {
	PerMinute int
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
