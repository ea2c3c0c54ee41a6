package sequence_test

import (
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// BenchmarkDecide is one decision of the onboarding starter as the engine
// makes it most often: a wait that has ended, two branches on traits and a
// send inside the window, with the cap's history, the zones cached.
func BenchmarkDecide(b *testing.B) {
	seq, _ := starters(b).Get("onboarding")
	start := utc("2027-03-01 08:00")
	now := start.Add(3 * 24 * time.Hour)
	f := &nurture.Facts{Contact: &nurture.Contact{TimeZone: "Europe/Paris", Role: "Marketing Manager", TeamSize: "51-200"}}
	f.AddEvent("signed_up", start, nil)
	in := sequence.Input{Sequence: seq, Facts: f, Now: now, Zones: &sequence.ZoneCache{},
		State: sequence.State{Started: start, Step: "day-3", Entered: start.Add(24 * time.Hour), Visits: map[string]int{"welcome": 1, "day-1": 1, "day-3": 1}},
		Cap:   sequence.Cap{Limit: 3, Sent: []time.Time{start, start.Add(24 * time.Hour)}}}
	for b.Loop() {
		d, err := sequence.Decide(in)
		if err != nil || d.Action != sequence.ActSend || d.Email.Template != "feature-reports" {
			b.Fatalf("%s %+v %v", d.Action, d.Email, err)
		}
	}
}

// BenchmarkContactZone compares finding a contact's zone with and without
// the cache (time.LoadLocation reads a file each time).
func BenchmarkContactZone(b *testing.B) {
	c := &nurture.Contact{TimeZone: "America/New_York"}
	b.Run("cached", func(b *testing.B) {
		cache := &sequence.ZoneCache{}
		for b.Loop() {
			sequence.ContactZone(c, nil, cache)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			sequence.ContactZone(c, nil, nil)
		}
	})
}
