package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// Sequences is what the sequences pages need: the sequences in use, what
// each did, and the simulation of one for a contact.
type Sequences struct {
	// Set is the sequences in use; *sequence.Set satisfies it. Required.
	Set SequenceSet
	// Stats counts what a sequence did (*postgres.DB); nil: no funnel.
	Stats SequenceStatsStore
	// Simulator runs the simulation POST /v1/sequences/{id}/simulate
	// runs; nil: no simulation form.
	Simulator Simulator
	// StatsWait is how long a page waits for a new count of the funnel
	// before it answers with the last one, or none (see
	// sequence_funnel.go); default 80 ms.
	StatsWait time.Duration
	// StatsMaxAge is how long a count of the funnel is shown before it is
	// counted again; default a minute.
	StatsMaxAge time.Duration

	funnels funnelCache
}

// SequenceSet is the sequences in use.
type SequenceSet interface {
	All() []*sequence.Sequence
	Get(id string) (*sequence.Sequence, bool)
}

// SequenceStatsStore counts what a sequence did.
type SequenceStatsStore interface {
	SequenceStats(ctx context.Context, sequenceID string) (*nurture.SequenceStats, error)
}

// Simulator runs seq for the contact named by contact (Nurture's id, an
// address, user:ID or the product's user id) from now for the duration
// given, on the real data and a virtual clock, writing nothing. A contact
// not found is a not_found error about the field contact.
type Simulator interface {
	Simulate(ctx context.Context, seq *sequence.Sequence, contact string, until time.Duration) (*Timeline, error)
}

// Timeline is what a simulation says a contact would get.
type Timeline struct {
	ContactID    int64
	ContactEmail string
	// Zone is the time zone the emails are planned in, and ZoneFrom
	// where it came from (the timezone trait, the country, the default).
	Zone, ZoneFrom string
	Start, Until   time.Time
	// Entry says how the simulation begins (a new enrollment, the one the
	// contact is in...).
	Entry   string
	Moments []Moment
	Emails  int
	Outcome string
}

// Moment is one line of a timeline: a decision (an email, a wait, the
// end) or an event the simulation assumed.
type Moment struct {
	At    time.Time
	Local string // At in the contact's time zone
	// Kind is send, wait, exit, converted, completed, or event.
	Kind     string
	Step     string
	Template string
	Subject  string
	// Reason says what a wait waits for, or why the enrollment ended.
	Reason string
	// Why are the branches taken and the waits that ended on the way.
	Why   []string
	Event string
	Until time.Time // when a wait ends at the latest
}

// simulateLimit is the longest simulation the form accepts, as the API.
const simulateLimit = 366 * 24 * time.Hour

// sequenceRoutes adds the sequences pages to g.
func (k *Console) sequenceRoutes(g *gin.RouterGroup) {
	g.GET("/sequences", k.sequencesPage)
	g.GET("/sequences/:id", k.sequencePage)
}

// sequenceRow is one sequence of the list.
type sequenceRow struct {
	ID, Name, Version, Trigger, Entry, Topic, File string
	Short                                          string // the version's first 12 characters
	Steps                                          int
}

func newSequenceRow(s *sequence.Sequence) sequenceRow {
	short := s.Version
	if len(short) > 12 {
		short = short[:12]
	}
	return sequenceRow{ID: s.ID, Name: s.Name, Version: s.Version, Short: short, Trigger: triggerText(s.Trigger),
		Entry: entryText(s.Entry), Topic: string(s.Topic), File: s.File, Steps: len(s.Steps)}
}

// sequencesPage lists the sequences in use.
func (k *Console) sequencesPage(c *gin.Context) {
	var rows []sequenceRow
	for _, s := range k.cfg.Sequences.Set.All() {
		rows = append(rows, newSequenceRow(s))
	}
	k.show(c, http.StatusOK, "sequences.html", "sequences", "Sequences", rows)
}

// sequenceView is what the page of one sequence shows.
type sequenceView struct {
	sequenceRow
	Exit, Goal, Window string
	Plan               []stepView // the steps, in order
	Funnel             []Bar      // nil without Stats, or before the first count
	CountedAt          time.Time  // when the funnel was counted
	Counting           bool       // a count is under way
	HasStats           bool       // the funnel is counted for this sequence
	Outcomes           []Bar
	StepStats          []stepStatsRow
	CanSimulate        bool
	LinkTemplates      bool // the templates pages are served: link the emails to their previews
	Form               simulateForm
	Timeline           *Timeline
	SimError           string
}

// simulateForm is the simulation form as filled in.
type simulateForm struct {
	Contact, Until string
}

// stepView is one step, as people read it.
type stepView struct {
	N         int
	ID        string
	Kind      string
	Does      string   // what it does, in a sentence
	Details   []string // the conditions, subject, window...
	Templates []string // the templates it may send
	Then      string   // where it goes next, when not the following step
}

// stepStatsRow is a step's line of the funnel table.
type stepStatsRow struct {
	Step, Kind                                              string
	Entered, Sent, Opened, Clicked, Unsubscribed, Converted int64
	Skipped, Postponed                                      int64
}

// sequencePage shows a sequence: its rules, its steps in order, its funnel,
// and the simulation for a contact when the form asks for one.
func (k *Console) sequencePage(c *gin.Context) {
	seq, ok := k.cfg.Sequences.Set.Get(c.Param("id"))
	if !ok {
		k.errorPage(c, http.StatusNotFound, "There is no sequence with this id.")
		return
	}
	v := sequenceView{sequenceRow: newSequenceRow(seq), Exit: exitText(seq.Exit), Goal: goalText(seq.Goal), Window: "the engine's default",
		CanSimulate: k.cfg.Sequences.Simulator != nil, LinkTemplates: k.cfg.Templates != nil}
	if seq.Window != nil {
		v.Window = seq.Window.String()
	}
	for i := range seq.Steps {
		v.Plan = append(v.Plan, describeStep(seq, i))
	}
	if s := k.cfg.Sequences; s.Stats != nil {
		counts, err := s.funnels.get(c.Request.Context(), k, seq.ID, s)
		if err != nil {
			k.fail(c, err)
			return
		}
		v.HasStats, v.Counting, v.CountedAt = true, counts.Counting, counts.At
		if counts.Stats != nil {
			v.Funnel, v.Outcomes, v.StepStats = funnel(seq, counts.Stats)
		}
	}
	status := http.StatusOK
	if _, asked := c.GetQuery("contact"); asked && v.CanSimulate {
		v.Form = simulateForm{Contact: strings.TrimSpace(c.Query("contact")), Until: strings.TrimSpace(c.Query("until"))}
		t, err := k.simulate(c.Request.Context(), seq, v.Form)
		if err != nil {
			var msg string
			status, msg = errorStatus(err)
			if status == http.StatusInternalServerError {
				k.cfg.Logger.Error("console: simulate", "sequence", seq.ID, "err", err)
			}
			v.SimError = msg
		}
		v.Timeline = t
	}
	k.show(c, status, "sequence.html", "sequences", sequenceTitle(seq), v)
}

// simulate checks the form and runs the simulation it asks for.
func (k *Console) simulate(ctx context.Context, seq *sequence.Sequence, f simulateForm) (*Timeline, error) {
	if f.Contact == "" {
		return nil, nurture.FieldError("contact", "is required: a contact's id or email address")
	}
	until := 30 * 24 * time.Hour
	if f.Until != "" {
		d, err := nurture.ParseDuration(f.Until)
		if err != nil {
			return nil, nurture.FieldError("until", "%v: write a duration such as 30d", err)
		}
		if d > simulateLimit {
			return nil, nurture.FieldError("until", "is longer than 366d")
		}
		until = d
	}
	return k.cfg.Sequences.Simulator.Simulate(ctx, seq, f.Contact, until)
}

// sequenceTitle names a sequence for people.
func sequenceTitle(s *sequence.Sequence) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// funnel is the overall funnel of a sequence (entered, sent, opened,
// clicked, converted), its enrollments by outcome, and a line per step.
func funnel(seq *sequence.Sequence, st *nurture.SequenceStats) (bars, outcomes []Bar, rows []stepStatsRow) {
	byStep := map[string]nurture.StepStats{}
	for _, s := range st.Steps {
		byStep[s.Step] = s
	}
	var sent, opened, clicked int64
	row := func(id, kind string) stepStatsRow {
		s := byStep[id]
		delete(byStep, id)
		sent, opened, clicked = sent+s.Sent, opened+s.Opened, clicked+s.Clicked
		return stepStatsRow{Step: id, Kind: kind, Entered: s.Entered, Sent: s.Sent, Opened: s.Opened, Clicked: s.Clicked,
			Unsubscribed: s.Unsubscribed, Converted: s.ConversionsAfter, Skipped: sum(s.Skipped), Postponed: sum(s.Postponed)}
	}
	for _, s := range seq.Steps {
		rows = append(rows, row(s.ID, string(s.Kind)))
	}
	for _, s := range st.Steps { // steps of older versions, in the store's order
		if _, left := byStep[s.Step]; left {
			rows = append(rows, row(s.Step, "(older version)"))
		}
	}
	bars = []Bar{{"Entered", st.Enrolled}, {"Sent", sent}, {"Opened", opened}, {"Clicked", clicked}, {"Converted", st.Converted}}
	var exited int64
	for _, n := range st.Exited {
		exited += n
	}
	outcomes = []Bar{{"Active", st.Active}, {"Completed", st.Completed}, {"Exited early", exited}, {"Failed", st.Failed}}
	return bars, outcomes, rows
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// triggerText says what enrolls a contact.
func triggerText(t sequence.Trigger) string {
	switch {
	case t.Event != nil:
		return "on the event " + t.Event.String()
	case t.Condition != nil:
		return "when " + t.Condition.String()
	}
	return "—"
}

// entryText says whether a contact may enter again.
func entryText(e sequence.Entry) string {
	if e.AgainAfter == 0 {
		return "once per contact"
	}
	return "again " + nurture.FormatDuration(e.AgainAfter) + " after the last enrollment ended"
}

// exitText lists what ends an enrollment early.
func exitText(e sequence.Exit) string {
	parts := []string{"an unsubscribe from its topic"}
	for _, m := range e.Events {
		parts = append(parts, "the event "+m.String())
	}
	if e.If != nil {
		parts = append(parts, "as soon as "+e.If.String())
	}
	return strings.Join(parts, "; ")
}

// goalText says what counts as a conversion.
func goalText(g *sequence.Goal) string {
	if g == nil {
		return "none"
	}
	s := "the event " + g.String() + " within " + nurture.FormatDuration(g.Within) + " of enrolling"
	if g.Continue {
		s += " (the sequence goes on after it)"
	} else {
		s += " (the enrollment ends there)"
	}
	return s
}

// describeStep writes the step at position i of seq for people.
func describeStep(seq *sequence.Sequence, i int) stepView {
	st := seq.Steps[i]
	v := stepView{N: i + 1, ID: st.ID, Kind: string(st.Kind)}
	target := func(id string) string {
		if id == sequence.End {
			return "the end (completed)"
		}
		return id
	}
	following := func(id string) string {
		if id != "" {
			return target(id)
		}
		if i+1 < len(seq.Steps) {
			return seq.Steps[i+1].ID
		}
		return "the end (completed)"
	}
	switch st.Kind {
	case sequence.KindSend:
		s := st.Send
		if len(s.Choose) > 0 {
			v.Does = "Sends the first lesson the contact has not had, of the feature they have not used yet"
			for _, l := range s.Choose {
				d := "lesson " + l.Template + " for the feature " + l.Feature
				if len(l.Roles) > 0 {
					d += ", preferred for " + strings.Join(l.Roles, ", ")
				}
				if len(l.Industries) > 0 {
					d += ", preferred in " + strings.Join(l.Industries, ", ")
				}
				v.Details = append(v.Details, d)
				v.Templates = append(v.Templates, l.Template)
			}
			if s.NoneLeft != "" {
				v.Details = append(v.Details, "with no lesson left: go to "+target(s.NoneLeft))
			}
		} else {
			v.Does = "Sends the email " + s.Template
			v.Templates = []string{s.Template}
		}
		if s.Topic != "" && s.Topic != seq.Topic {
			v.Details = append(v.Details, "topic "+string(s.Topic))
		}
		if s.Subject != "" {
			v.Details = append(v.Details, "subject: "+s.Subject)
		}
		switch {
		case s.AnyTime:
			v.Details = append(v.Details, "sent whenever it comes, outside any send window")
		case s.Window != nil:
			v.Details = append(v.Details, "send window "+s.Window.String())
		}
	case sequence.KindWait:
		w := st.Wait
		switch {
		case w.For > 0:
			v.Does = "Waits " + nurture.FormatDuration(w.For)
		case w.SinceStart > 0:
			v.Does = "Waits until " + nurture.FormatDuration(w.SinceStart) + " after the enrollment began"
		case w.UntilWindow:
			v.Does = "Waits until the send window opens"
		default:
			v.Does = "Waits"
		}
	case sequence.KindWaitUntil:
		w := st.WaitUntil
		what := ""
		switch {
		case w.Event != nil:
			what = "the event " + w.Event.String()
		case w.Condition != nil:
			what = w.Condition.String()
		}
		v.Does = "Waits for " + what + ", at most " + nurture.FormatDuration(w.Timeout)
		v.Details = append(v.Details, "when it comes: go to "+following(w.Then), "on timeout: go to "+following(w.OnTimeout))
	case sequence.KindBranch:
		b := st.Branch
		cond := ""
		if b.If != nil {
			cond = b.If.String()
		}
		v.Does = "Branches on " + cond
		v.Details = append(v.Details, "if it holds: go to "+following(b.Then), "otherwise: go to "+following(b.Else))
	case sequence.KindExit:
		v.Does = "Ends the enrollment"
		if st.ExitReason != "" {
			v.Does += " (" + st.ExitReason + ")"
		}
	}
	if st.Next != "" {
		v.Then = target(st.Next)
	}
	return v
}
