package api

import (
	"context"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/sequence"
)

// ConsoleSimulator lets the console's sequence page run the simulation
// POST /v1/sequences/{id}/simulate runs (console.Simulator), without the
// console importing this package.
type ConsoleSimulator struct {
	Simulator *Simulator
	Clock     nurture.Clock // nil: the system clock
}

// Simulate runs seq for contact from now for the duration given.
func (s ConsoleSimulator) Simulate(ctx context.Context, seq *sequence.Sequence, contact string, until time.Duration) (*console.Timeline, error) {
	var clock nurture.Clock = nurture.SystemClock{}
	if s.Clock != nil {
		clock = s.Clock
	}
	t, err := s.Simulator.Run(ctx, Simulation{Sequence: seq, Contact: contact, Start: clock.Now().UTC(), For: until})
	if err != nil {
		return nil, err
	}
	out := &console.Timeline{ContactID: t.Contact.ID, ContactEmail: t.Contact.Email, Zone: t.Zone, ZoneFrom: t.ZoneFrom,
		Start: t.Start, Until: t.Until, Entry: t.Entry, Emails: t.Emails, Outcome: t.Outcome}
	for _, e := range t.Steps {
		m := console.Moment{At: e.At, Local: e.Local, Kind: e.Kind, Step: e.Step, Template: e.Template, Subject: e.Subject,
			Reason: e.Reason, Why: e.Why, Event: e.Event}
		if e.Until != nil {
			m.Until = *e.Until
		}
		out.Moments = append(out.Moments, m)
	}
	return out, nil
}
