package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// StatsStore counts what a sequence did.
type StatsStore interface {
	SequenceStats(ctx context.Context, sequenceID string) (*nurture.SequenceStats, error)
}

type sequenceStatsJSON struct {
	Sequence  string `json:"sequence"`
	Enrolled  int64  `json:"enrolled"`
	Active    int64  `json:"active"`
	Converted int64  `json:"converted"`
	// ConversionRate is Converted over Enrolled, 0 without enrollments.
	ConversionRate float64          `json:"conversionRate"`
	Completed      int64            `json:"completed"`
	Failed         int64            `json:"failed"`
	Exited         map[string]int64 `json:"exited"`
	Steps          []stepStatsJSON  `json:"steps"`
}

type stepStatsJSON struct {
	Step             string           `json:"step"`
	Kind             string           `json:"kind"`
	Entered          int64            `json:"entered"`
	Sent             int64            `json:"sent"`
	Skipped          map[string]int64 `json:"skipped"`
	Postponed        map[string]int64 `json:"postponed"`
	Opened           int64            `json:"opened"`
	Clicked          int64            `json:"clicked"`
	Unsubscribed     int64            `json:"unsubscribed"`
	ConversionsAfter int64            `json:"conversionsAfter"`
}

// sequenceStats serves GET /v1/sequences/{id}/stats: enrollments by
// outcome, the conversion rate, and per step of the sequence in use (in
// its order) what happened there and to its emails. Steps of older
// versions that the file no longer has come last.
func (a *API) sequenceStats(c *gin.Context) {
	seq, ok := a.sequence(c)
	if !ok {
		return
	}
	st, err := a.cfg.Sequences.Stats.SequenceStats(c.Request.Context(), seq.ID)
	if err != nil {
		fail(c, err)
		return
	}
	out := sequenceStatsJSON{Sequence: seq.ID, Enrolled: st.Enrolled, Active: st.Active, Converted: st.Converted,
		Completed: st.Completed, Failed: st.Failed, Exited: st.Exited, Steps: []stepStatsJSON{}}
	if out.Exited == nil {
		out.Exited = map[string]int64{}
	}
	if st.Enrolled > 0 {
		out.ConversionRate = float64(st.Converted) / float64(st.Enrolled)
	}
	byStep := map[string]nurture.StepStats{}
	for _, s := range st.Steps {
		byStep[s.Step] = s
	}
	row := func(id, kind string) stepStatsJSON {
		s := byStep[id]
		delete(byStep, id)
		r := stepStatsJSON{Step: id, Kind: kind, Entered: s.Entered, Sent: s.Sent, Skipped: s.Skipped, Postponed: s.Postponed,
			Opened: s.Opened, Clicked: s.Clicked, Unsubscribed: s.Unsubscribed, ConversionsAfter: s.ConversionsAfter}
		if r.Skipped == nil {
			r.Skipped = map[string]int64{}
		}
		if r.Postponed == nil {
			r.Postponed = map[string]int64{}
		}
		return r
	}
	for _, s := range seq.Steps {
		out.Steps = append(out.Steps, row(s.ID, string(s.Kind)))
	}
	for _, s := range st.Steps {
		if _, left := byStep[s.Step]; left {
			out.Steps = append(out.Steps, row(s.Step, ""))
		}
	}
	c.JSON(http.StatusOK, out)
}
