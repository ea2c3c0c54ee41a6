package campaign

import (
	"fmt"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Schedule is when a campaign's emails are due: at one moment for
// everyone (At), or at a wall-clock time on a date in each contact's own
// time zone (Local), the zone a contact's profile gives or else Fallback.
type Schedule struct {
	At    time.Time  // a moment; zero for a local-time campaign
	Local *LocalTime // a date and a time of day in each contact's zone
}

// LocalTime is a date and a time of day, to be read in some time zone.
type LocalTime struct {
	Year   int
	Month  time.Month
	Day    int
	Minute int // minutes after midnight
	// Fallback is the zone of contacts whose profile gives none.
	Fallback *time.Location
}

// ParseLocalTime reads a date (2026-12-08) and a time of day (10:00).
func ParseLocalTime(date, clock string, fallback *time.Location) (*LocalTime, error) {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return nil, nurture.FieldError("localDate", "%q is not a date such as 2026-12-08", date)
	}
	c, err := time.Parse("15:04", clock)
	if err != nil {
		return nil, nurture.FieldError("localTime", "%q is not a time of day such as 10:00", clock)
	}
	if fallback == nil {
		fallback = time.UTC
	}
	return &LocalTime{Year: d.Year(), Month: d.Month(), Day: d.Day(), Minute: c.Hour()*60 + c.Minute(), Fallback: fallback}, nil
}

// In returns the moment of l in loc (nil: its fallback). A time that a
// daylight-saving change skips in loc (02:30 on the night clocks go
// forward an hour) is moved past the gap by its length (03:30), never
// before it: nobody gets a 10:00 email at 09:00.
func (l *LocalTime) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = l.Fallback
	}
	t := time.Date(l.Year, l.Month, l.Day, l.Minute/60, l.Minute%60, 0, 0, loc)
	if t.Hour()*60+t.Minute() != l.Minute {
		// In a gap time.Date may answer with the offset after it, a
		// wall time before the one asked; the offsets' difference is the
		// gap's length.
		_, before := t.Add(-12 * time.Hour).Zone()
		_, after := t.Add(12 * time.Hour).Zone()
		if t2 := t.Add(time.Duration(after-before) * time.Second); t2.Hour()*60+t2.Minute() >= l.Minute {
			t = t2
		}
	}
	return t
}

// String writes l as "2026-12-08 10:00".
func (l *LocalTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d", l.Year, l.Month, l.Day, l.Minute/60, l.Minute%60)
}

// Earliest zones: the first and last places on Earth to reach a wall-clock
// time (UTC+14, UTC-12).
var (
	earliestZone = time.FixedZone("UTC+14", 14*3600)
	latestZone   = time.FixedZone("UTC-12", -12*3600)
)

// Start is the first moment any contact's email may be due: At, or the
// local time where it comes first on Earth. A campaign's audience is
// frozen then.
func (s Schedule) Start() time.Time {
	if s.Local == nil {
		return s.At
	}
	return s.Local.In(earliestZone)
}

// End is the last moment any contact's email may be due: At, or the local
// time where it comes last on Earth.
func (s Schedule) End() time.Time {
	if s.Local == nil {
		return s.At
	}
	return s.Local.In(latestZone)
}

// SendAt is when the email of a contact in loc is due: At, or the local
// time in loc; never before now (a zone whose local time has passed when
// the campaign starts gets its emails at once, and the statistics show
// them as late in their bucket).
func (s Schedule) SendAt(loc *time.Location, now time.Time) time.Time {
	t := s.At
	if s.Local != nil {
		t = s.Local.In(loc)
	}
	if t.Before(now) {
		return now
	}
	return t
}

// Validate refuses a schedule whose first email would be due in the past,
// or a local time whose last zone would be more than a year away.
func (s Schedule) Validate(now time.Time) error {
	switch {
	case s.Local == nil && s.At.IsZero():
		return nurture.FieldError("sendAt", "is required: a moment such as 2026-12-08T10:00:00Z, or localDate and localTime")
	case s.Local == nil && s.At.Before(now.Add(-time.Minute)):
		return nurture.FieldError("sendAt", "is in the past (%s)", s.At.UTC().Format(time.RFC3339))
	case s.Local != nil && s.End().Before(now):
		return nurture.FieldError("localDate", "%s has passed everywhere on Earth", s.Local)
	case s.End().After(now.AddDate(1, 0, 0)):
		return nurture.FieldError("sendAt", "is more than a year away")
	}
	return nil
}

// Bucket is the time-zone bucket of a contact's email: its due moment
// (before it is clamped to now), in UTC. Contacts whose zones reach the
// local time together share a bucket; a campaign's statistics are given
// per bucket.
func (s Schedule) Bucket(loc *time.Location) time.Time {
	t := s.At
	if s.Local != nil {
		t = s.Local.In(loc)
	}
	return t.UTC()
}

// SendAtFor is SendAt and Bucket for a contact: in the zone its profile
// gives (its timezone trait, else its country's main zone), else the
// local time's fallback; zones caches the zones loaded (may be nil).
func (s Schedule) SendAtFor(c *nurture.Contact, zones *sequence.ZoneCache, now time.Time) (due, bucket time.Time) {
	var loc *time.Location
	if s.Local != nil {
		loc, _ = sequence.ContactZone(c, s.Local.Fallback, zones)
	}
	return s.SendAt(loc, now), s.Bucket(loc)
}
