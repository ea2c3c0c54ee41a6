package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Sequences is what the sequence endpoints need: GET /v1/sequences and
// /v1/sequences/{id}. They answer keys of scope admin.
type Sequences struct {
	Set SequenceSet // required: the sequences in use
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
