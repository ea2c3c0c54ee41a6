package sequence

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
)

// State is where an enrollment stands between two decisions: what the
// engine stores with it. A new enrollment is the zero State with Started
// set: it stands before the first step.
type State struct {
	// Started is when the contact entered the sequence (the trigger's time).
	Started time.Time
	// Step is the id of the step it stands on; "" before the first.
	Step string
	// Entered is when it entered Step: waits count from it.
	Entered time.Time
	// Visits counts how many times it entered each step (a loop enters a
	// step again): the run of a send, for its message's dedupe key.
	Visits map[string]int
	// Sent lists what this enrollment sent, oldest first.
	Sent []Sent
	// Why holds the reasons gathered since the last send (branches taken,
	// waits ended, postponements): the next email carries them.
	Why []string
	// Converted is when the goal was reached, for a goal with continue:
	// true; zero until then.
	Converted time.Time
	// Done is true once the last step has sent its email: the next
	// decision completes the enrollment.
	Done bool
}

// Sent is one email an enrollment sent.
type Sent struct {
	Step     string
	Template string
	At       time.Time
}

func (s State) clone() State {
	s.Visits = maps.Clone(s.Visits)
	if s.Visits == nil {
		s.Visits = map[string]int{}
	}
	s.Sent = slices.Clone(s.Sent)
	s.Why = slices.Clone(s.Why)
	return s
}

// Cap is the frequency cap and what counts against it.
type Cap struct {
	// Limit is how many emails other than transactional ones a contact may
	// get in Period; 0 means no cap.
	Limit int
	// Period is the cap's rolling window; 24 hours when zero.
	Period time.Duration
	// Sent holds when the contact's recent emails other than transactional
	// ones went, or are due to go, from every sequence and campaign, in any
	// order: at least those of the last Period.
	Sent []time.Time
}

func (c Cap) period() time.Duration {
	if c.Period <= 0 {
		return 24 * time.Hour
	}
	return c.Period
}

// next returns the first moment at or after t when one more email keeps
// the cap, and how many emails the Period before t holds.
func (c Cap) next(t time.Time) (time.Time, int) {
	if c.Limit <= 0 {
		return t, 0
	}
	p := c.period()
	var in []time.Time
	for _, s := range c.Sent {
		if s.After(t.Add(-p)) && !s.After(t) {
			in = append(in, s)
		}
	}
	if len(in) < c.Limit {
		return t, len(in)
	}
	slices.SortFunc(in, time.Time.Compare)
	// Once the (len-Limit)th oldest has left the window, Limit-1 remain.
	return in[len(in)-c.Limit].Add(p), len(in)
}

// Input is everything a decision depends on.
type Input struct {
	// Sequence is the version the enrollment is on.
	Sequence *Sequence
	State    State
	// Facts are the contact's, filled for what the sequence reads
	// (Sequence.Needs). Decide sets their Now and Sequence on a copy, and
	// changes nothing in them.
	Facts *nurture.Facts
	Now   time.Time
	// Zone is the contact's time zone; when nil, ContactZone finds it from
	// the facts' contact, with DefaultZone (UTC when nil) as the last
	// resort and Zones as the cache (optional).
	Zone        *time.Location
	DefaultZone *time.Location
	Zones       *ZoneCache
	// Window is the send window when neither the sequence nor the step
	// sets one; the zero Window is any time.
	Window Window
	Cap    Cap
}

// Action is what a decision says to do.
type Action string

// The actions of a decision.
const (
	// ActSend: create the message for Email now, and store State (which
	// stands on the step after the send); then decide again at once.
	ActSend Action = "send"
	// ActWait: store State and decide again at Until, or sooner when one of
	// WakeOn happens (or, with WakeOnTraits, WakeOnHits, when the contact's
	// traits change or they open or click).
	ActWait Action = "wait"
	// ActExit, ActConverted, ActCompleted: the enrollment is over, for
	// Reason.
	ActExit      Action = "exit"
	ActConverted Action = "converted"
	ActCompleted Action = "completed"
)

// Final reports whether the enrollment ends with this action.
func (a Action) Final() bool {
	return a == ActExit || a == ActConverted || a == ActCompleted
}

// Decision is the answer of Decide.
type Decision struct {
	Action Action
	// Email is what to send, for ActSend.
	Email *Email
	// Until is when to decide again: the end of a wait, or the moment a
	// postponed send may go; Now after a send.
	Until time.Time
	// WakeOn are the event keys (nurture.EventKey) that may change the
	// answer before Until: the exit events, the goal, what a wait_until
	// waits for. WakeOnTraits and WakeOnHits say the same of the contact's
	// traits and of their opens and clicks.
	WakeOn       []string
	WakeOnTraits bool
	WakeOnHits   bool
	// Reason says why, for people: what it waits for, why a send was
	// postponed, why it ended.
	Reason string
	// Converted is true when the goal was reached in this decision (with
	// continue: true the enrollment goes on, and Action says what next).
	Converted bool
	// State is the enrollment's state after the decision, to store.
	State State
	// Trail is what happened on the way, step by step, for the history and
	// the per-step figures.
	Trail []Record
}

// Email is an email a decision sends.
type Email struct {
	Step     string
	Template string
	Subject  string // "" for the template's own
	Topic    nurture.Topic
	// Run is how many times the enrollment entered the step: 1, or more in
	// a loop. The message's dedupe key is seq:<enrollment>:<step> for run 1
	// and seq:<enrollment>:<step>:<run> after.
	Run int
	// Reasons are the branch decisions, condition values, waits and
	// postponements that led to this email, to store with the message.
	Reasons []string
}

// RecordKind is what happened at a step.
type RecordKind string

// The kinds of records.
const (
	RecEntered   RecordKind = "entered"
	RecSent      RecordKind = "sent"
	RecSkipped   RecordKind = "skipped"
	RecPostponed RecordKind = "postponed"
	RecBranched  RecordKind = "branched"
	RecWaited    RecordKind = "waited"    // a wait ended
	RecEvent     RecordKind = "event"     // a wait_until's event or condition came first
	RecTimedOut  RecordKind = "timed_out" // a wait_until's timeout came first
	RecConverted RecordKind = "converted"
	RecExited    RecordKind = "exited"
	RecCompleted RecordKind = "completed"
)

// Record is one thing that happened to an enrollment.
type Record struct {
	Step   string // "" for the enrollment as a whole
	Kind   RecordKind
	At     time.Time
	Detail string
}

// decider holds one decision in the making.
type decider struct {
	in    Input
	seq   *Sequence
	f     nurture.Facts
	zone  *time.Location
	where string // where the zone came from
	st    State
	d     Decision
}

// Decide says what an enrollment does next. It checks, in this order:
// unsubscribed from the sequence's topic or suppressed (exit), the goal
// (converted), the exit events and the exit condition (exit); then walks
// the steps from the one the enrollment stands on, through every step that
// takes no time (branches, skipped sends, ended waits), until a send, a
// wait or the end. A send outside the send window, or past the frequency
// cap, is postponed to the next moment both allow, never dropped: the
// enrollment waits on the send step and the decision is made again then,
// on the facts of then.
//
// The engine calls it when an enrollment is due (its Until has come) or
// woken (an event of its WakeOn, a change of traits, a hit), and applies
// the decision in one transaction: store State, append Trail to the
// history, schedule Until, index WakeOn, and for ActSend insert the message
// with Email.Reasons. After ActSend it decides again at once (the next step
// may be another send, which then counts the first against the cap).
func Decide(in Input) (Decision, error) {
	if in.Sequence == nil || in.Facts == nil {
		return Decision{}, nurture.Errorf(nurture.CodeInvalid, "decide: no sequence or no facts")
	}
	if in.State.Started.IsZero() || in.Now.IsZero() {
		return Decision{}, nurture.Errorf(nurture.CodeInvalid, "decide: the enrollment has no start time, or the decision no time")
	}
	dc := &decider{in: in, seq: in.Sequence, f: *in.Facts, st: in.State.clone()}
	dc.f.Now, dc.f.Sequence, dc.f.SequenceSince = in.Now, in.Sequence.ID, in.State.Started
	dc.zone, dc.where = in.Zone, "given"
	if dc.zone == nil {
		dc.zone, dc.where = ContactZone(in.Facts.Contact, in.DefaultZone, in.Zones)
	}
	if dc.st.Step != "" {
		if _, ok := dc.seq.Step(dc.st.Step); !ok {
			return Decision{}, nurture.Errorf(nurture.CodeInvalid, "decide: version %s of sequence %s has no step %q", dc.seq.Version, dc.seq.ID, dc.st.Step)
		}
	}
	if done := dc.checks(); done {
		return dc.finish(), nil
	}
	if dc.st.Done {
		dc.end(ActCompleted, "went through every step", dc.st.Entered)
		return dc.finish(), nil
	}
	if dc.st.Step == "" {
		if len(dc.seq.Steps) == 0 {
			dc.end(ActCompleted, "the sequence has no steps", dc.st.Started)
			return dc.finish(), nil
		}
		dc.enter(dc.seq.Steps[0].ID, dc.st.Started)
	}
	// Validation refuses loops without a wait; the bound keeps a bad
	// sequence built by hand from spinning.
	for range 4*len(dc.seq.Steps) + 8 {
		if dc.step() {
			return dc.finish(), nil
		}
	}
	return Decision{}, nurture.Errorf(nurture.CodeInvalid, "decide: sequence %s loops without waiting at step %q", dc.seq.ID, dc.st.Step)
}

// maxWhy is how many reasons an enrollment keeps between two sends: a
// loop that waits and branches without sending keeps the latest.
const maxWhy = 50

func (dc *decider) finish() Decision {
	if n := len(dc.st.Why); n > maxWhy {
		dc.st.Why = slices.Clone(dc.st.Why[n-maxWhy:])
	}
	if !dc.d.Until.IsZero() {
		dc.d.Until = dc.d.Until.UTC()
	}
	dc.d.State = dc.st
	if !dc.d.Action.Final() {
		dc.wakeOn()
	}
	return dc.d
}

func (dc *decider) record(step string, kind RecordKind, at time.Time, detail string) {
	dc.d.Trail = append(dc.d.Trail, Record{Step: step, Kind: kind, At: at.UTC(), Detail: detail})
}

func (dc *decider) end(a Action, reason string, at time.Time) {
	dc.d.Action, dc.d.Reason = a, reason
	kind := map[Action]RecordKind{ActExit: RecExited, ActConverted: RecConverted, ActCompleted: RecCompleted}[a]
	dc.record(dc.st.Step, kind, at, reason)
}

// enter moves the enrollment onto step id at time at.
func (dc *decider) enter(id string, at time.Time) {
	dc.st.Step, dc.st.Entered = id, at.UTC()
	dc.st.Visits[id]++
	dc.record(id, RecEntered, at, "")
}

// advance leaves the current step for target ("" is the end) at time at,
// and reports whether the enrollment completed.
func (dc *decider) advance(target string, at time.Time) bool {
	if target == "" || target == End {
		dc.end(ActCompleted, "went through every step", at)
		return true
	}
	dc.enter(target, at)
	return false
}

func (dc *decider) local(t time.Time) string {
	return t.In(dc.zone).Format("Mon 2006-01-02 15:04 MST")
}

// checks applies what ends an enrollment whatever step it is on, and
// reports whether it ended.
func (dc *decider) checks() bool {
	f, seq, now := &dc.f, dc.seq, dc.in.Now
	if f.Suppressed {
		dc.end(ActExit, "the address is suppressed", now)
		return true
	}
	if f.OptedOut(seq.Topic) {
		dc.end(ActExit, "unsubscribed from "+string(seq.Topic), now)
		return true
	}
	var goalAt time.Time
	reached := false
	if g := seq.Goal; g != nil && dc.st.Converted.IsZero() {
		if at, ok := g.first(f, dc.st.Started, true); ok && !at.After(dc.st.Started.Add(g.Within)) {
			goalAt, reached = at, true
		}
	}
	var exitAt time.Time
	var exitBy string
	for _, m := range seq.Exit.Events {
		if at, ok := m.first(f, dc.st.Started, true); ok && (exitBy == "" || at.Before(exitAt)) {
			exitAt, exitBy = at, m.String()
		}
	}
	if reached && (exitBy == "" || !exitAt.Before(goalAt)) {
		reason := fmt.Sprintf("goal %s reached on %s", seq.Goal.EventMatch, dc.local(goalAt))
		if !seq.Goal.Continue {
			dc.end(ActConverted, reason, goalAt)
			return true
		}
		dc.st.Converted, dc.d.Converted = goalAt, true
		dc.record("", RecConverted, goalAt, reason+"; the sequence goes on (continue: true)")
	}
	if exitBy != "" {
		dc.end(ActExit, fmt.Sprintf("exit event %s on %s", exitBy, dc.local(exitAt)), exitAt)
		return true
	}
	if seq.Exit.If != nil {
		if ok, notes := f.Explain(seq.Exit.If); ok {
			dc.end(ActExit, fmt.Sprintf("exit condition %s holds (%s)", seq.Exit.If, strings.Join(notes, "; ")), now)
			return true
		}
	}
	return false
}

// step carries out the step the enrollment stands on, and reports whether
// the decision is made.
func (dc *decider) step() bool {
	i := dc.seq.index[dc.st.Step]
	s := &dc.seq.Steps[i]
	now := dc.in.Now
	switch s.Kind {
	case KindSend:
		return dc.send(i, s)
	case KindWait:
		deadline, what := dc.waitDeadline(s.Wait)
		if now.Before(deadline) {
			dc.d.Action, dc.d.Until = ActWait, deadline
			dc.d.Reason = fmt.Sprintf("%s: %s, until %s", s.ID, what, dc.local(deadline))
			return true
		}
		at := maxTime(deadline, dc.st.Entered)
		dc.record(s.ID, RecWaited, at, what)
		return dc.advance(dc.seq.after(i), at)
	case KindWaitUntil:
		return dc.waitUntil(i, s)
	case KindBranch:
		ok, notes := dc.f.Explain(s.Branch.If)
		target := s.Branch.Else
		if ok {
			target = s.Branch.Then
		}
		target = dc.seq.orNext(i, target)
		why := fmt.Sprintf("%s: %s is %v", s.ID, s.Branch.If, ok)
		if len(notes) > 0 {
			why += " (" + strings.Join(notes, "; ") + ")"
		}
		why += " → " + orEnd(target)
		dc.st.Why = append(dc.st.Why, why)
		dc.record(s.ID, RecBranched, dc.st.Entered, why)
		return dc.advance(target, dc.st.Entered)
	case KindExit:
		reason := s.ExitReason
		if reason == "" {
			reason = "exit step " + s.ID
		}
		dc.end(ActExit, reason, dc.st.Entered)
		return true
	}
	return false
}

func orEnd(target string) string {
	if target == "" || target == End {
		return "the end"
	}
	return target
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// window returns the send window of a send step.
func (dc *decider) window(s *Send) Window {
	switch {
	case s != nil && s.AnyTime:
		return Window{}
	case s != nil && s.Window != nil:
		return *s.Window
	case dc.seq.Window != nil:
		return *dc.seq.Window
	}
	return dc.in.Window
}

func (dc *decider) waitDeadline(w *Wait) (time.Time, string) {
	switch {
	case w.For > 0:
		return dc.st.Entered.Add(w.For), "wait " + nurture.FormatDuration(w.For)
	case w.SinceStart > 0:
		return dc.st.Started.Add(w.SinceStart), "wait until " + nurture.FormatDuration(w.SinceStart) + " after the start"
	}
	win := dc.window(nil)
	return win.Next(dc.st.Entered, dc.zone), fmt.Sprintf("wait for the send window (%s, %s)", win, dc.zone)
}

func (dc *decider) waitUntil(i int, s *Step) bool {
	w, now := s.WaitUntil, dc.in.Now
	deadline := dc.st.Entered.Add(w.Timeout)
	if w.Event != nil {
		if at, ok := w.Event.first(&dc.f, dc.st.Entered, false); ok && at.Before(deadline) {
			why := fmt.Sprintf("%s: %s came on %s, before the timeout", s.ID, w.Event, dc.local(at))
			dc.st.Why = append(dc.st.Why, why)
			dc.record(s.ID, RecEvent, at, why)
			return dc.advance(dc.seq.orNext(i, w.Then), at)
		}
	} else if ok, notes := dc.f.Explain(w.Condition); ok {
		why := fmt.Sprintf("%s: %s holds (%s)", s.ID, w.Condition, strings.Join(notes, "; "))
		dc.st.Why = append(dc.st.Why, why)
		at := maxTime(dc.st.Entered, now)
		dc.record(s.ID, RecEvent, at, why)
		return dc.advance(dc.seq.orNext(i, w.Then), at)
	}
	if !now.Before(deadline) {
		why := fmt.Sprintf("%s: no %s within %s", s.ID, waitedFor(w), nurture.FormatDuration(w.Timeout))
		dc.st.Why = append(dc.st.Why, why)
		dc.record(s.ID, RecTimedOut, deadline, why)
		return dc.advance(dc.seq.orNext(i, w.OnTimeout), deadline)
	}
	dc.d.Action, dc.d.Until = ActWait, deadline
	dc.d.Reason = fmt.Sprintf("%s: waiting for %s until %s", s.ID, waitedFor(w), dc.local(deadline))
	return true
}

func waitedFor(w *WaitUntil) string {
	if w.Event != nil {
		return w.Event.String()
	}
	return w.Condition.String()
}

func (dc *decider) send(i int, s *Step) bool {
	snd, now := s.Send, dc.in.Now
	if snd.Topic != dc.seq.Topic && snd.Topic != nurture.TopicTransactional && dc.f.OptedOut(snd.Topic) {
		why := fmt.Sprintf("%s: skipped, opted out of %s", s.ID, snd.Topic)
		dc.st.Why = append(dc.st.Why, why)
		dc.record(s.ID, RecSkipped, dc.st.Entered, "opted out of "+string(snd.Topic))
		return dc.advance(dc.seq.after(i), dc.st.Entered)
	}
	template, chose := snd.Template, ""
	if len(snd.Choose) > 0 {
		l, why, ok := choose(snd.Choose, &dc.f, dc.st)
		if !ok {
			dc.st.Why = append(dc.st.Why, s.ID+": skipped, "+why)
			dc.record(s.ID, RecSkipped, dc.st.Entered, why)
			return dc.advance(dc.seq.orNext(i, snd.NoneLeft), dc.st.Entered)
		}
		template, chose = l.Template, why
	}
	at, why := dc.allowedAt(now, dc.window(snd), snd.Topic != nurture.TopicTransactional)
	if at.After(now) {
		reason := fmt.Sprintf("%s: postponed to %s: %s", s.ID, dc.local(at), why)
		dc.d.Action, dc.d.Until, dc.d.Reason = ActWait, at, reason
		dc.record(s.ID, RecPostponed, now, why)
		if !slices.Contains(dc.st.Why, reason) {
			dc.st.Why = append(dc.st.Why, reason)
		}
		return true
	}
	reasons := dc.st.Why
	if chose != "" {
		reasons = append(reasons, s.ID+": "+chose)
	}
	dc.d.Action, dc.d.Until = ActSend, now
	dc.d.Email = &Email{Step: s.ID, Template: template, Subject: snd.Subject, Topic: snd.Topic, Run: dc.st.Visits[s.ID], Reasons: reasons}
	dc.record(s.ID, RecSent, now, template)
	dc.st.Sent = append(dc.st.Sent, Sent{Step: s.ID, Template: template, At: now})
	dc.st.Why = nil
	if next := dc.seq.after(i); next != "" && next != End {
		dc.enter(next, now)
	} else {
		// The last step sent: the enrollment completes when decided again.
		dc.st.Done, dc.st.Entered = true, now
	}
	return true
}

// allowedAt returns the first moment at or after t when the window is open
// and, when capped, the frequency cap has room, and why it is later than t.
func (dc *decider) allowedAt(t time.Time, w Window, capped bool) (time.Time, string) {
	var why []string
	for range 64 {
		open := w.Next(t, dc.zone)
		if !open.Equal(t) && len(why) == 0 {
			why = append(why, fmt.Sprintf("quiet hours: %s is outside the send window (%s, time zone %s from the %s)",
				t.In(dc.zone).Format("Mon 15:04"), w, dc.zone, dc.where))
		}
		next := open
		if capped {
			var n int
			if next, n = dc.in.Cap.next(open); !next.Equal(open) && !slices.ContainsFunc(why, func(s string) bool { return strings.HasPrefix(s, "frequency cap") }) {
				why = append(why, fmt.Sprintf("frequency cap: %d emails in the %s before %s (the cap is %d)",
					n, nurture.FormatDuration(dc.in.Cap.period()), dc.local(open), dc.in.Cap.Limit))
			}
		}
		if next.Equal(open) {
			return open, strings.Join(why, "; ")
		}
		t = next
	}
	return t, strings.Join(why, "; ")
}

// wakeOn fills what may change the answer of a waiting enrollment.
func (dc *decider) wakeOn() {
	seq := dc.seq
	add := func(keys ...string) {
		for _, k := range keys {
			if !slices.Contains(dc.d.WakeOn, k) {
				dc.d.WakeOn = append(dc.d.WakeOn, k)
			}
		}
	}
	cond := func(c nurture.Condition) {
		if c == nil {
			return
		}
		r := nurture.Refs(c)
		add(r.Events...)
		dc.d.WakeOnTraits = dc.d.WakeOnTraits || r.Traits || r.Company
		dc.d.WakeOnHits = dc.d.WakeOnHits || r.Engagement
	}
	for _, m := range seq.Exit.Events {
		add(m.Key())
	}
	cond(seq.Exit.If)
	if g := seq.Goal; g != nil && dc.st.Converted.IsZero() && dc.in.Now.Before(dc.st.Started.Add(g.Within)) {
		add(g.Key())
	}
	if s, ok := seq.Step(dc.st.Step); ok && s.Kind == KindWaitUntil {
		if s.WaitUntil.Event != nil {
			add(s.WaitUntil.Event.Key())
		}
		cond(s.WaitUntil.Condition)
	}
	slices.Sort(dc.d.WakeOn)
}
