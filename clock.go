package nurture

import "time"

// Clock tells the time. Whatever schedules work takes one, so tests can move
// time forward instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
