package sequence_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

func TestWindowNext(t *testing.T) {
	t.Parallel()
	ny := zone(t, "America/New_York")
	weekdays := sequence.Window{From: 9 * 60, To: 17 * 60}
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays.Days[d] = true
	}
	early := sequence.Window{From: 2*60 + 30, To: 4 * 60} // 02:30 to 04:00, every day
	tests := []struct {
		name string
		w    sequence.Window
		at   time.Time
		want time.Time
	}{
		{"inside", weekdays, utc("2027-03-10 15:00"), utc("2027-03-10 15:00")},
		{"the last minute", weekdays, utc("2027-03-10 21:59"), utc("2027-03-10 21:59")},
		{"at the end", weekdays, utc("2027-03-10 22:00"), utc("2027-03-11 14:00")},
		{"before it opens", weekdays, utc("2027-03-10 05:00"), utc("2027-03-10 14:00")},
		{"friday evening to monday, before summer time", weekdays, utc("2027-03-05 23:00"), utc("2027-03-08 14:00")},
		{"friday evening to monday, over summer time", weekdays, utc("2027-03-12 23:00"), utc("2027-03-15 13:00")},
		{"saturday", weekdays, utc("2027-03-13 15:00"), utc("2027-03-15 13:00")},
		// On 14 March 2027 New York's clocks go from 02:00 to 03:00: 02:30
		// never comes, and the window opens at 03:00 EDT (07:00 UTC).
		{"an opening the clocks skip", early, utc("2027-03-14 05:00"), utc("2027-03-14 07:00")},
		// On 7 November 01:00 to 02:00 comes twice; 02:30 once, in EST.
		{"after the clocks go back", early, utc("2027-11-07 05:00"), utc("2027-11-07 07:30")},
		{"any time", sequence.Window{}, utc("2027-03-14 05:00"), utc("2027-03-14 05:00")},
	}
	for _, tc := range tests {
		got := tc.w.Next(tc.at, ny)
		require.True(t, got.Equal(tc.want), "%s: Next(%s) = %s, want %s", tc.name, tc.at, got.UTC(), tc.want)
		require.True(t, tc.w.Open(got, ny), "%s: the window is not open at %s", tc.name, got.In(ny))
	}
	require.Equal(t, "mon-fri 09:00-17:00", weekdays.String())
}

func TestContactZone(t *testing.T) {
	t.Parallel()
	berlin := zone(t, "Europe/Berlin")
	cache := &sequence.ZoneCache{}
	tests := []struct {
		c     *nurture.Contact
		want  string
		where string
	}{
		{&nurture.Contact{TimeZone: "Asia/Kolkata", Country: "US"}, "Asia/Kolkata", "timezone trait"},
		{&nurture.Contact{TimeZone: "Mars/Olympus", Country: "fr"}, "Europe/Paris", "country fr"},
		{&nurture.Contact{Country: "United Kingdom"}, "Europe/London", "country United Kingdom"},
		{&nurture.Contact{Country: "US"}, "America/New_York", "country US"},
		{&nurture.Contact{Country: "Atlantis"}, "Europe/Berlin", "default"},
		{&nurture.Contact{TimeZone: "Local"}, "Europe/Berlin", "default"},
		{nil, "Europe/Berlin", "default"},
	}
	for _, tc := range tests {
		loc, where := sequence.ContactZone(tc.c, berlin, cache)
		require.Equal(t, tc.want, loc.String(), "%+v: from the %s", tc.c, where)
		require.Equal(t, tc.where, where, "%+v: %s", tc.c, loc)
	}
	loc, _ := sequence.ContactZone(nil, nil, nil)
	require.Same(t, time.UTC, loc, "no default: %s, want UTC", loc)
	for code := range map[string]bool{"US": true, "GB": true, "JP": true, "BR": true, "AU": true, "IN": true} {
		_, err := time.LoadLocation(sequence.CountryZone(code))
		require.NoError(t, err, "country %s: zone %q", code, sequence.CountryZone(code))
		require.NotEmpty(t, sequence.CountryZone(code), "country %s", code)
	}
}
