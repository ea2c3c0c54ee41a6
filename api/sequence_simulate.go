package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Simulator runs a sequence for one contact on the real data and a virtual
// clock, and says what they would get: each email, when it would go in
// their local time, and why. It only reads: nothing is written, queued or
// sent. POST /v1/sequences/{id}/simulate and `nurture sequences simulate`
// share it.
type Simulator struct {
	Store SimulationStore // required
	// DefaultZone, Window, Cap and CapPeriod are the engine's settings
	// (sequence.EngineConfig): the simulation plans as the engine would.
	DefaultZone *time.Location
	Window      sequence.Window
	Cap         int
	CapPeriod   time.Duration // 24 hours when zero

	zones sequence.ZoneCache
}

// SimulationStore is what a simulation reads of the store. Each method only
// reads.
type SimulationStore interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	LoadFacts(ctx context.Context, contactID int64, needs nurture.FactsNeeds, since time.Time) (*nurture.Facts, error)
	RecentSends(ctx context.Context, contactID int64, since time.Time) ([]time.Time, error)
	ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error)
}

// Simulation is what to simulate.
type Simulation struct {
	Sequence *sequence.Sequence
	// Contact names the contact: an address (it has an @), user:ID or any
	// text that is not a number for the product's user id, or Nurture's
	// own number.
	Contact string
	// Events are what the contact is assumed to do meanwhile.
	Events []HypotheticalEvent
	// Start is the moment the simulation starts (now); For how long it runs.
	Start time.Time
	For   time.Duration
}

// DefaultSimulation is how long a simulation runs unless told, and
// MaxSimulation the longest it may.
const (
	DefaultSimulation = 30 * 24 * time.Hour
	MaxSimulation     = 366 * 24 * time.Hour
)

// Timeline is the answer of a simulation: what the contact would get.
type Timeline struct {
	Sequence string          `json:"sequence"`
	Version  string          `json:"version"`
	Topic    nurture.Topic   `json:"topic"`
	Contact  timelineContact `json:"contact"`
	// Zone is the time zone the emails are planned in, and ZoneFrom where
	// it came from (the timezone trait, the country, the default).
	Zone     string    `json:"zone"`
	ZoneFrom string    `json:"zoneFrom"`
	Start    time.Time `json:"start"`
	Until    time.Time `json:"until"`
	// Entry says how the simulation begins: a new enrollment, the one the
	// contact is in, or a new one the entry rules would refuse today.
	Entry   string          `json:"entry"`
	Steps   []TimelineEntry `json:"timeline"`
	Emails  int             `json:"emails"`
	Outcome string          `json:"outcome"`
}

type timelineContact struct {
	ID     int64  `json:"id"`
	UserID string `json:"userId,omitempty"`
	Email  string `json:"email,omitempty"`
}

// TimelineEntry is one moment of a timeline: a decision (an email, a
// wait, the end) or an event the simulation assumed.
type TimelineEntry struct {
	At time.Time `json:"at"`
	// Local is At in the contact's time zone: "Mon 2026-03-02 09:00 CET".
	Local string `json:"local"`
	// Kind is send, wait, exit, converted, completed, or event for an
	// assumed event.
	Kind     string        `json:"kind"`
	Step     string        `json:"step,omitempty"`
	Template string        `json:"template,omitempty"`
	Subject  string        `json:"subject,omitempty"`
	Topic    nurture.Topic `json:"topic,omitempty"`
	// Until is when a wait ends at the latest.
	Until *time.Time `json:"until,omitempty"`
	// Reason says what a wait waits for, or why the enrollment ended.
	Reason string `json:"reason,omitempty"`
	// Why are the branches taken (with the values that decided them), the
	// waits that ended and the postponements that led to an email.
	Why []string `json:"why,omitempty"`
	// Trail is what happened on the way, step by step.
	Trail []timelineRecord `json:"trail,omitempty"`
	// Event and Properties are an assumed event's.
	Event      string         `json:"event,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

type timelineRecord struct {
	Step   string `json:"step,omitempty"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// localLayout is how a timeline writes local times, as the reasons of
// decisions do.
const localLayout = "Mon 2006-01-02 15:04 MST"

// Run simulates. A contact who is not found is a not_found error about
// the field contact.
func (s *Simulator) Run(ctx context.Context, sim Simulation) (*Timeline, error) {
	seq := sim.Sequence
	contact, err := findContact(ctx, s.Store, sim.Contact)
	if err != nil {
		return nil, err
	}
	start := sim.Start.UTC()
	if sim.For <= 0 {
		sim.For = DefaultSimulation
	}
	until := start.Add(sim.For)

	state, entry, err := s.entry(ctx, seq, contact.ID, start)
	if err != nil {
		return nil, err
	}
	facts, err := s.Store.LoadFacts(ctx, contact.ID, seq.Needs().Facts(), state.Started)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	for _, e := range sim.Events {
		facts.AddEvent(e.Event, e.At, e.Properties)
	}
	zone, zoneFrom := sequence.ContactZone(facts.Contact, s.DefaultZone, &s.zones)
	// Decide finds the zone itself, as the engine's decisions do, so that
	// its reasons say where the zone came from.
	in := sequence.Input{Sequence: seq, State: state, Facts: facts, Now: start, DefaultZone: s.DefaultZone, Zones: &s.zones, Window: s.Window}
	if s.Cap > 0 {
		period := s.CapPeriod
		if period == 0 {
			period = 24 * time.Hour
		}
		sent, err := s.Store.RecentSends(ctx, contact.ID, start.Add(-period))
		if err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
		in.Cap = sequence.Cap{Limit: s.Cap, Period: period, Sent: sent}
	}
	moments, err := sequence.Simulate(in, until)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	t := NewTimeline(seq, contact, zone, moments, sim.Events)
	t.ZoneFrom, t.Start, t.Until, t.Entry = zoneFrom, start, until, entry
	return t, nil
}

// entry returns the state the simulation starts from, and says which: the
// contact's active enrollment in the sequence when they are in it (on this
// version), else a new one starting now, noting when the entry rules would
// refuse it.
func (s *Simulator) entry(ctx context.Context, seq *sequence.Sequence, contactID int64, start time.Time) (sequence.State, string, error) {
	fresh := sequence.State{Started: start}
	enrollments, err := s.Store.ContactEnrollments(ctx, contactID)
	if err != nil {
		return fresh, "", fmt.Errorf("simulate: %w", err)
	}
	var past []sequence.Past
	for _, e := range enrollments {
		if e.Sequence != seq.ID {
			continue
		}
		if e.Status == nurture.EnrollmentActive && e.Version == seq.Version {
			var st sequence.State
			if err := json.Unmarshal(e.State, &st); err == nil && !st.Started.IsZero() {
				where := "before its first step"
				if st.Step != "" {
					where = "at step " + st.Step
				}
				return st, fmt.Sprintf("goes on with enrollment %d (started %s), %s", e.ID, st.Started.Format(time.RFC3339), where), nil
			}
		}
		p := sequence.Past{Started: e.Started}
		if e.Status != nurture.EnrollmentActive {
			p.Ended = e.Ended
			if p.Ended.IsZero() {
				p.Ended = e.Updated
			}
		}
		past = append(past, p)
	}
	if ok, why := seq.CanEnter(past, start); !ok {
		return fresh, "a new enrollment, which the entry rules would refuse today (" + why + ")", nil
	}
	return fresh, "a new enrollment", nil
}

// contactFinder finds contacts in the three ways a request may name one.
type contactFinder interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
}

// findContact finds the contact raw names: an address, user:ID, a number
// (Nurture's id) or other text (the product's user id).
func findContact(ctx context.Context, store contactFinder, raw string) (*nurture.Contact, error) {
	ref, err := parseContactArg(raw)
	if err != nil {
		return nil, err
	}
	var c *nurture.Contact
	switch {
	case ref.userID != "":
		c, err = store.ContactByExternalID(ctx, ref.userID)
	case ref.email != "":
		c, err = store.ContactByEmail(ctx, ref.email)
	default:
		c, err = store.Contact(ctx, ref.id)
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		notFound := notFoundBy(ref)
		var e *nurture.Error
		if errors.As(notFound, &e) {
			e.Field = "contact"
		}
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("find the contact: %w", err)
	}
	return c, nil
}

// parseContactArg reads how a simulation names its contact.
func parseContactArg(raw string) (contactRef, error) {
	s := strings.TrimSpace(raw)
	if err := checkText("contact", s); err != nil {
		return contactRef{}, err
	}
	switch {
	case s == "":
		return contactRef{}, nurture.FieldError("contact", "is required: the product's userId, an email address or Nurture's id of the contact")
	case strings.HasPrefix(s, userPrefix):
		if s == userPrefix {
			return contactRef{}, nurture.FieldError("contact", "names no user: write user:{userId}")
		}
		return contactRef{userID: strings.TrimPrefix(s, userPrefix)}, nil
	case strings.Contains(s, "@"):
		email, err := nurture.NormalizeEmail(s)
		if err != nil {
			return contactRef{}, nurture.FieldError("contact", "is not an email address: %s", clip(s, 100))
		}
		return contactRef{email: email}, nil
	case strings.Trim(s, "0123456789") == "":
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return contactRef{}, nurture.FieldError("contact", "is not a contact's id (a positive whole number)")
		}
		return contactRef{id: id}, nil
	}
	return contactRef{userID: s}, nil
}

// NewTimeline writes the moments of a simulation of seq for contact, in
// zone, with the events it assumed, as a timeline.
func NewTimeline(seq *sequence.Sequence, contact *nurture.Contact, zone *time.Location, moments []sequence.Moment, events []HypotheticalEvent) *Timeline {
	if zone == nil {
		zone = time.UTC
	}
	t := &Timeline{Sequence: seq.ID, Version: seq.Version, Topic: seq.Topic, Zone: zone.String(),
		Contact: timelineContact{ID: contact.ID, UserID: contact.ExternalID, Email: contact.Email}}
	local := func(at time.Time) string { return at.In(zone).Format(localLayout) }
	ev := 0
	for _, m := range moments {
		for ; ev < len(events) && !events[ev].At.After(m.At); ev++ {
			e := events[ev]
			t.Steps = append(t.Steps, TimelineEntry{At: e.At, Local: local(e.At), Kind: "event", Event: e.Event, Properties: e.Properties})
		}
		d := m.Decision
		te := TimelineEntry{At: m.At, Local: local(m.At), Kind: string(d.Action), Step: d.State.Step, Reason: d.Reason}
		for _, r := range d.Trail {
			te.Trail = append(te.Trail, timelineRecord{Step: r.Step, Kind: string(r.Kind), Detail: r.Detail})
		}
		switch {
		case d.Action == sequence.ActSend && d.Email != nil:
			t.Emails++
			te.Step, te.Template, te.Subject, te.Topic, te.Why = d.Email.Step, d.Email.Template, d.Email.Subject, d.Email.Topic, d.Email.Reasons
		case d.Action == sequence.ActWait:
			until := d.Until
			te.Until = &until
		}
		t.Steps = append(t.Steps, te)
	}
	last := moments[len(moments)-1:]
	switch {
	case len(last) == 1 && last[0].Decision.Action.Final():
		t.Outcome = string(last[0].Decision.Action)
		if r := last[0].Decision.Reason; r != "" {
			t.Outcome += ": " + r
		}
	default:
		t.Outcome = "still active at the end of the simulation"
	}
	for ; ev < len(events); ev++ {
		e := events[ev]
		t.Steps = append(t.Steps, TimelineEntry{At: e.At, Local: local(e.At), Kind: "event", Event: e.Event, Properties: e.Properties})
	}
	return t
}
