package templates

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
)

// Dates in emails are written for their reader: in the contact's time zone
// (Contact.TimeZone, an IANA name such as Europe/Paris) and the way their
// locale writes them (Contact.Locale, such as en-US, en_GB or fr). An
// unknown or invalid time zone is UTC; a locale without a style of its own
// gets an English date that no reader can misread: day, month name, year.

// localDate is the template function: the date of when, or "" when when is
// unknown, so that {{localDate .Contact .Engagement.LastSeen | default "a
// while ago"}} reads well.
func localDate(c nurture.Contact, when any) string {
	t, dateOnly, ok := toTime(when)
	if !ok {
		return ""
	}
	if !dateOnly {
		t = t.In(location(c.TimeZone))
	}
	return styleFor(c.Locale).date(t)
}

// localTime is localDate with the time of day and the time zone's
// abbreviation. A value that is only a date (an attribute such as
// "2025-03-05") gives just the date.
func localTime(c nurture.Contact, when any) string {
	t, dateOnly, ok := toTime(when)
	if !ok {
		return ""
	}
	st := styleFor(c.Locale)
	if dateOnly {
		return st.date(t)
	}
	t = t.In(location(c.TimeZone))
	zone := t.Format("MST")
	if zone != "" && (zone[0] == '+' || zone[0] == '-') {
		zone = "UTC" + zone
	}
	return st.date(t) + st.at + t.Format(st.clock) + " " + zone
}

// toTime reads the values a template may hand to localDate: a time.Time, a
// *time.Time, or an attribute the product sent: an RFC 3339 timestamp, a
// date (2006-01-02) or Unix seconds (milliseconds past year 5138 as seconds).
// The zero time and anything else are unknown.
func toTime(v any) (t time.Time, dateOnly, ok bool) {
	switch v := v.(type) {
	case time.Time:
		t = v
	case *time.Time:
		if v != nil {
			t = *v
		}
	case string:
		s := strings.TrimSpace(v)
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return d, true, true
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, s); err == nil {
				t = p
				break
			}
		}
	case float64:
		t = unixTime(v)
	case int64:
		t = unixTime(float64(v))
	case int:
		t = unixTime(float64(v))
	case json.Number:
		if f, err := v.Float64(); err == nil {
			t = unixTime(f)
		}
	}
	return t, false, !t.IsZero()
}

func unixTime(f float64) time.Time {
	if f <= 0 || f > 1e15 {
		return time.Time{}
	}
	if f > 1e11 { // milliseconds
		return time.UnixMilli(int64(f)).UTC()
	}
	return time.Unix(int64(f), 0).UTC()
}

// locations caches the time zones looked up, found or not (as UTC), as
// loading one reads files. There are a few hundred zones; the bound keeps
// made-up names from growing the cache without end.
var (
	locations     sync.Map // string -> *time.Location
	locationCount atomic.Int32
)

const maxCachedLocations = 2048

// location returns the time zone called name, or UTC.
func location(name string) *time.Location {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || name == "Local" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	if locationCount.Load() < maxCachedLocations {
		if _, loaded := locations.LoadOrStore(name, l); !loaded {
			locationCount.Add(1)
		}
	}
	return l
}

// dateStyle is how one locale writes a date and a time of day.
type dateStyle struct {
	date  func(time.Time) string
	at    string // between the date and the time
	clock string // the time of day, as a Go layout
}

var (
	monthsEN = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	monthsFR = [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	monthsDE = [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
	monthsES = [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
)

func dayMonthYear(months *[12]string, sep string) func(time.Time) string {
	return func(t time.Time) string {
		return strconv.Itoa(t.Day()) + sep + months[t.Month()-1] + " " + strconv.Itoa(t.Year())
	}
}

var (
	styleUS = dateStyle{
		date: func(t time.Time) string {
			return monthsEN[t.Month()-1] + " " + strconv.Itoa(t.Day()) + ", " + strconv.Itoa(t.Year())
		},
		at: " at ", clock: "3:04 PM",
	}
	styleGB      = dateStyle{date: dayMonthYear(&monthsEN, " "), at: " at ", clock: "15:04"}
	styleDefault = dateStyle{date: dayMonthYear(&monthsEN, " "), at: ", ", clock: "15:04"}
	styleFR      = dateStyle{
		date: func(t time.Time) string {
			day := strconv.Itoa(t.Day())
			if day == "1" {
				day = "1er"
			}
			return day + " " + monthsFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
		},
		at: " à ", clock: "15:04",
	}
	styleDE = dateStyle{date: dayMonthYear(&monthsDE, ". "), at: " um ", clock: "15:04"}
	styleES = dateStyle{
		date: func(t time.Time) string {
			return strconv.Itoa(t.Day()) + " de " + monthsES[t.Month()-1] + " de " + strconv.Itoa(t.Year())
		},
		at: ", ", clock: "15:04",
	}
)

// splitLocale reads a locale written as a BCP 47 tag (en-US) or a POSIX
// locale (en_US.UTF-8), in any case, as its language and what follows it,
// in lower case: "en", "us".
func splitLocale(locale string) (lang, rest string) {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, ".@"); i >= 0 {
		l = l[:i]
	}
	lang, rest, _ = strings.Cut(strings.ReplaceAll(l, "_", "-"), "-")
	return lang, rest
}

// language is the language of the contact's locale, in lower case ("fr"
// for fr-CA or fr_FR.UTF-8), or "" when unknown: for the emails written
// in several languages ({{if eq (language .Contact) "fr"}}).
func language(c nurture.Contact) string {
	lang, _ := splitLocale(c.Locale)
	return lang
}

// styleFor returns the style of a locale written as a BCP 47 tag (en-US)
// or a POSIX locale (en_US.UTF-8), in any case. English has two styles:
// month first in the United States, Canada and the Philippines, day first
// elsewhere; English without a region, and languages without a style here,
// get the default.
func styleFor(locale string) *dateStyle {
	lang, rest := splitLocale(locale)
	switch lang {
	case "en":
		region := rest
		if i := strings.LastIndexByte(rest, '-'); i >= 0 { // en-Latn-US
			region = rest[i+1:]
		}
		switch region {
		case "":
			return &styleDefault
		case "us", "ca", "ph", "pr", "um", "as", "gu", "vi", "mp":
			return &styleUS
		}
		return &styleGB
	case "fr":
		return &styleFR
	case "de":
		return &styleDE
	case "es":
		return &styleES
	}
	return &styleDefault
}
