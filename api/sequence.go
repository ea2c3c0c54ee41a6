package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Sequences is what the sequence endpoints need: GET /v1/sequences and
// /v1/sequences/{id}, and POST /v1/sequences/{id}/simulate with a
// Simulator. They answer keys of scope admin.
type Sequences struct {
	Set SequenceSet // required: the sequences in use
	// Simulator serves POST /v1/sequences/{id}/simulate; nil: not served.
	Simulator *Simulator
	// Enrollments serves POST /v1/sequences/{id}/enrollments, DELETE
	// /v1/sequences/{id}/enrollments/{enrollment} and GET
	// /v1/contacts/{id}/enrollments (sequence_enrollment.go); nil: not
	// served.
	Enrollments EnrollmentStore
	// Stats serves GET /v1/sequences/{id}/stats; nil: not served.
	Stats StatsStore
}

// SequenceSet is the sequences in use; *sequence.Set satisfies it.
type SequenceSet interface {
	All() []*sequence.Sequence
	Get(id string) (*sequence.Sequence, bool)
}

// sequenceSummaryJSON is one sequence in GET /v1/sequences.
type sequenceSummaryJSON struct {
	ID      string        `json:"id"`
	Name    string        `json:"name,omitempty"`
	Topic   nurture.Topic `json:"topic"`
	Version string        `json:"version"`
	// Trigger says what enrolls a contact, as the condition language
	// writes it: "event signed_up where plan == \"trial\"" or
	// "condition traits.plan == \"trial\"".
	Trigger string `json:"trigger"`
	Steps   int    `json:"steps"`
	File    string `json:"file"`
}

// sequenceJSON is GET /v1/sequences/{id}: the summary, and the definition
// in the form of a sequence file (YAML is a superset of JSON: saved as
// a .yaml file, the definition loads as the same sequence, of the same
// version).
type sequenceJSON struct {
	sequenceSummaryJSON
	Definition sequenceDef `json:"definition"`
}

func newSequenceSummary(s *sequence.Sequence) sequenceSummaryJSON {
	return sequenceSummaryJSON{ID: s.ID, Name: s.Name, Topic: s.Topic, Version: s.Version,
		Trigger: triggerSummary(s.Trigger), Steps: len(s.Steps), File: s.File}
}

func triggerSummary(t sequence.Trigger) string {
	switch {
	case t.Event != nil:
		return "event " + t.Event.String()
	case t.Condition != nil:
		return "condition " + t.Condition.String()
	}
	return ""
}

// listSequences serves GET /v1/sequences: every sequence in use, by id.
func (a *API) listSequences(c *gin.Context) {
	all := a.cfg.Sequences.Set.All()
	out := make([]sequenceSummaryJSON, len(all))
	for i, s := range all {
		out[i] = newSequenceSummary(s)
	}
	c.JSON(http.StatusOK, gin.H{"sequences": out})
}

// getSequence serves GET /v1/sequences/{id}.
func (a *API) getSequence(c *gin.Context) {
	s, ok := a.sequence(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, sequenceJSON{sequenceSummaryJSON: newSequenceSummary(s), Definition: newSequenceDef(s)})
}

// sequence finds the sequence the path names; when there is none it has
// answered 404, naming the id.
func (a *API) sequence(c *gin.Context) (*sequence.Sequence, bool) {
	id := c.Param("id")
	s, ok := a.cfg.Sequences.Set.Get(id)
	if !ok {
		fail(c, nurture.Errorf(nurture.CodeNotFound, "no sequence has the id %q", clip(id, 100)))
		return nil, false
	}
	return s, true
}

// clip cuts s at n bytes (on a rune boundary), so that an answer never
// echoes a huge value.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// simulateKeys are the keys of a simulation request.
var simulateKeys = []string{"contact", "events", "until"}

// simulate serves POST /v1/sequences/{id}/simulate with
// {"contact": "ada@example.com", "events": [...], "until": "30d"}: the
// timeline the contact would get, on a virtual clock, writing nothing.
func (a *API) simulate(c *gin.Context) {
	seq, ok := a.sequence(c)
	if !ok {
		return
	}
	data, err := readBody(c.Request, a.cfg.MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return
	}
	sim, err := parseSimulation(data, a.cfg.Clock.Now().UTC())
	if err != nil {
		fail(c, err)
		return
	}
	sim.Sequence = seq
	t, err := a.cfg.Sequences.Simulator.Run(c.Request.Context(), sim)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// parseSimulation reads the body of a simulation request.
func parseSimulation(data []byte, now time.Time) (Simulation, error) {
	sim := Simulation{Start: now, For: DefaultSimulation}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return sim, nurture.Errorf(nurture.CodeInvalid, "the body is not a JSON object such as {\"contact\": \"ada@example.com\", \"until\": \"30d\"}")
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(simulateKeys, k) {
			return sim, nurture.FieldError(clip(k, 50), "is not a key of a simulation: want %s", strings.Join(simulateKeys, ", "))
		}
	}
	raw, ok := m["contact"]
	if !ok {
		return sim, nurture.FieldError("contact", "is required: the product's userId, an email address or Nurture's id of the contact")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &sim.Contact); err != nil {
		if json.Unmarshal(raw, &n) != nil {
			return sim, nurture.FieldError("contact", "is not a string: give the product's userId, an email address or Nurture's id")
		}
		sim.Contact = n.String() // a number is Nurture's id
	}
	if raw, ok := m["until"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return sim, nurture.FieldError("until", "is not a string: give how long to simulate, such as 30d")
		}
		d, err := nurture.ParseDuration(s)
		if err != nil {
			return sim, nurture.FieldError("until", "%v", err)
		}
		if d > MaxSimulation {
			return sim, nurture.FieldError("until", "is longer than %s: simulate at most %d days", s, MaxSimulation/(24*time.Hour))
		}
		sim.For = d
	}
	if raw, ok := m["events"]; ok && string(raw) != "null" {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return sim, nurture.FieldError("events", "is not a list of events such as [{\"event\": \"setup_completed\", \"after\": \"2d\"}]")
		}
		events, err := ParseHypotheticalEventList("events", items, now)
		if err != nil {
			return sim, err
		}
		sim.Events = events
	}
	if _, err := parseContactArg(sim.Contact); err != nil {
		return sim, err
	}
	return sim, nil
}
