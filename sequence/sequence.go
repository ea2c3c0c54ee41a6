package sequence

import (
	"slices"
	"time"

	"github.com/nurture-email/nurture"
)

// Templates is what sequences need to know of the email templates: which
// exist, and the topic each declares. *templates.Set satisfies it.
type Templates interface {
	Names() []string
	Topic(name string) (nurture.Topic, bool)
}

// SubjectChecker is implemented by templates that can check a step's
// subject override, a text template on the email's data (templates.Set):
// when the Templates given to Parse have it, a subject that would not
// render is an error of the file.
type SubjectChecker interface {
	CheckSubject(subject string) error
}

// Sequence is one parsed and checked sequence file. It never changes after
// Parse returns it.
type Sequence struct {
	ID    string
	Name  string // for people; may be empty
	Topic nurture.Topic
	// File is where it was read from, for messages.
	File string
	// Version is the hash of its normalised content (see the package
	// comment): the same for the same sequence however it is written.
	Version string

	Trigger Trigger
	Entry   Entry
	Exit    Exit
	Goal    *Goal   // nil: no goal
	Window  *Window // nil: the engine's default send window
	Steps   []Step

	index            map[string]int // step id -> position in Steps
	idLine, idColumn int            // where the id is written, for duplicates across files
}

// Trigger is what enrolls a contact: an event (with conditions on its
// properties), or a condition on the contact becoming true.
type Trigger struct {
	Event     *EventMatch
	Condition nurture.Condition
}

// EventMatch names an event and, optionally, conditions its properties
// must meet.
type EventMatch struct {
	Event string
	Where []nurture.Compare
}

// Key returns the event's key (nurture.EventKey of its name).
func (m EventMatch) Key() string { return nurture.EventKey(m.Event) }

// Matches reports whether an event called name, with these properties, is
// one m describes.
func (m EventMatch) Matches(name string, props map[string]any) bool {
	return nurture.EventKey(name) == m.Key() && nurture.MatchWhere(m.Where, props)
}

// String returns m as a condition's text writes it: did NAME [where ...].
func (m EventMatch) String() string {
	return nurture.Did{Event: m.Event, Where: m.Where, AtLeast: 1}.String()[len("did "):]
}

// first returns the earliest occurrence in f of the event m describes that
// is after from (or at it, when inclusive) and not after f.Now.
func (m EventMatch) first(f *nurture.Facts, from time.Time, inclusive bool) (time.Time, bool) {
	ef := f.Events[m.Key()]
	if ef == nil {
		return time.Time{}, false
	}
	var best time.Time
	found := false
	for _, o := range ef.Occurrences {
		if o.At.After(f.Now) || o.At.Before(from) || (!inclusive && o.At.Equal(from)) {
			continue
		}
		if !nurture.MatchWhere(m.Where, o.Properties) {
			continue
		}
		if !found || o.At.Before(best) {
			best, found = o.At, true
		}
	}
	return best, found
}

// Entry says whether a contact may be enrolled again.
type Entry struct {
	// AgainAfter is how long after the end of their last enrollment a
	// contact may enter again; zero means once per contact, ever.
	AgainAfter time.Duration
}

// Exit lists what ends an enrollment early. Unsubscribing from the
// sequence's topic (or an address becoming suppressed) always does.
type Exit struct {
	Events []EventMatch
	If     nurture.Condition // exit as soon as it holds; nil: never
}

// Goal is the conversion a sequence works for: an event within a time
// after enrollment. Reaching it ends the enrollment as converted, unless
// Continue.
type Goal struct {
	EventMatch
	Within   time.Duration
	Continue bool
}

// End is the jump target that ends the enrollment as completed (then: end,
// next: end, none_left: end); no step may be called end.
const End = "end"

// StepKind is what a step does.
type StepKind string

// The kinds of steps.
const (
	KindSend      StepKind = "send"
	KindWait      StepKind = "wait"
	KindWaitUntil StepKind = "wait_until"
	KindBranch    StepKind = "branch"
	KindExit      StepKind = "exit"
)

// Step is one step of a sequence. Exactly one of Send, Wait, WaitUntil,
// Branch and ExitReason applies, as Kind says.
type Step struct {
	ID   string
	Kind StepKind
	// Next is the step that follows, when not the one after it in the
	// file ("" for that one; past the last step the enrollment completes).
	Next string

	Send      *Send
	Wait      *Wait
	WaitUntil *WaitUntil
	Branch    *Branch
	// ExitReason is the reason an exit step records.
	ExitReason string
}

// Send sends one email: a template, or the first lesson Choose picks.
type Send struct {
	Template string
	Subject  string        // replaces the template's subject when set
	Topic    nurture.Topic // the template's topic (the sequence's, unless the step says otherwise)
	// Window replaces the sequence's send window for this step; AnyTime
	// sends it whenever it comes (a welcome email right after the sign-up).
	Window  *Window
	AnyTime bool

	Choose []Lesson
	// NoneLeft is where to go when Choose finds no lesson left ("": the
	// next step).
	NoneLeft string
}

// Lesson is one choice of a choose step: the email that teaches Feature,
// for contacts who have not used it yet.
type Lesson struct {
	Feature    string // the event that says the feature was used
	Template   string
	Roles      []string // preferred for contacts whose role, department or title says one of these
	Industries []string // preferred for contacts of these industries
}

// Wait waits: For after entering the step, until SinceStart after the
// enrollment began, or until the send window opens.
type Wait struct {
	For         time.Duration
	SinceStart  time.Duration
	UntilWindow bool
}

// WaitUntil waits for an event or a condition, at most Timeout, and goes
// on to Then or OnTimeout, whichever came first ("" for either: the next
// step). A condition already true passes at once.
type WaitUntil struct {
	Event     *EventMatch
	Condition nurture.Condition
	Timeout   time.Duration
	Then      string
	OnTimeout string
}

// Branch goes to Then when If holds, else to Else ("" for either: the next
// step).
type Branch struct {
	If   nurture.Condition
	Then string
	Else string
}

// Step returns the step with the given id.
func (s *Sequence) Step(id string) (*Step, bool) {
	i, ok := s.index[id]
	if !ok {
		return nil, false
	}
	return &s.Steps[i], true
}

// after returns the id of the step that follows the one at position i when
// it does not jump, or "" past the end.
func (s *Sequence) after(i int) string {
	if s.Steps[i].Next != "" {
		return s.Steps[i].Next
	}
	if i+1 < len(s.Steps) {
		return s.Steps[i+1].ID
	}
	return ""
}

// orNext returns target, or the step after the one at i when target is "".
func (s *Sequence) orNext(i int, target string) string {
	if target != "" {
		return target
	}
	return s.after(i)
}

// Templates returns the names of every template the sequence may send,
// sorted.
func (s *Sequence) Templates() []string {
	var out []string
	for _, st := range s.Steps {
		if st.Send == nil {
			continue
		}
		if st.Send.Template != "" && !slices.Contains(out, st.Send.Template) {
			out = append(out, st.Send.Template)
		}
		for _, l := range st.Send.Choose {
			if !slices.Contains(out, l.Template) {
				out = append(out, l.Template)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TriggeredBy reports whether an event called name with these properties
// enrolls contacts in the sequence (entry rules aside).
func (s *Sequence) TriggeredBy(name string, props map[string]any) bool {
	return s.Trigger.Event != nil && s.Trigger.Event.Matches(name, props)
}

// Needs is what an enrollment's facts must hold for Decide to see all the
// sequence reads, so that the store loads that and no more.
type Needs struct {
	// ConditionRefs is what the conditions read (branches, waits, the exit
	// condition, a condition trigger), with the lessons' features among the
	// events (their counts suffice).
	nurture.ConditionRefs
	// Since are the keys of the events whose occurrences since the
	// enrollment started must be loaded, with times and properties: the exit
	// events, the goal, and what wait_until steps wait for.
	Since []string
	// Emails reports whether the contact's emails are read (engagement
	// conditions, or a choose step that skips lessons already sent).
	Emails bool
}

// Needs returns what the sequence reads.
func (s *Sequence) Needs() Needs {
	var conds []nurture.Condition
	var since, features []string
	emails, industries := false, false // industries: a lesson matches the company's
	add := func(list *[]string, k string) {
		if !slices.Contains(*list, k) {
			*list = append(*list, k)
		}
	}
	if s.Trigger.Condition != nil {
		conds = append(conds, s.Trigger.Condition)
	}
	if s.Exit.If != nil {
		conds = append(conds, s.Exit.If)
	}
	for _, m := range s.Exit.Events {
		add(&since, m.Key())
	}
	if s.Goal != nil {
		add(&since, s.Goal.Key())
	}
	for _, st := range s.Steps {
		switch {
		case st.Branch != nil:
			conds = append(conds, st.Branch.If)
		case st.WaitUntil != nil && st.WaitUntil.Event != nil:
			add(&since, st.WaitUntil.Event.Key())
		case st.WaitUntil != nil:
			conds = append(conds, st.WaitUntil.Condition)
		case st.Send != nil:
			for _, l := range st.Send.Choose {
				emails = true
				add(&features, nurture.EventKey(l.Feature))
				industries = industries || len(l.Industries) > 0
			}
		}
	}
	refs := nurture.Refs(nurture.All(conds))
	refs.Company = refs.Company || industries
	for _, f := range features {
		add(&refs.Events, f)
	}
	slices.Sort(refs.Events)
	slices.Sort(since)
	return Needs{ConditionRefs: refs, Since: since, Emails: emails || refs.Engagement}
}

// Past is an earlier enrollment of a contact in a sequence, for the entry
// rules.
type Past struct {
	Started time.Time
	Ended   time.Time // zero while it is still active
}

// CanEnter applies the entry rules: a contact never enrolled may enter; one
// still enrolled may not; one enrolled before may enter again only when
// the sequence allows it and AgainAfter has passed since their last
// enrollment ended. The reason says why not.
func (s *Sequence) CanEnter(past []Past, now time.Time) (bool, string) {
	if len(past) == 0 {
		return true, ""
	}
	var last time.Time
	for _, p := range past {
		if p.Ended.IsZero() {
			return false, "already enrolled"
		}
		if p.Ended.After(last) {
			last = p.Ended
		}
	}
	if s.Entry.AgainAfter == 0 {
		return false, "enrolled before (entry: once)"
	}
	if next := last.Add(s.Entry.AgainAfter); now.Before(next) {
		return false, "enrolled before; may enter again from " + next.UTC().Format(time.RFC3339)
	}
	return true, ""
}

// CanMove reports whether an enrollment of version from standing on step
// may move to version to: the step must still exist there, of the same
// kind, so that what the enrollment waits for keeps its meaning. Steps
// before and after it may change. The reason says why not.
func CanMove(from, to *Sequence, step string) (bool, string) {
	if from.ID != to.ID {
		return false, "another sequence"
	}
	if from.Version == to.Version {
		return true, ""
	}
	if step == "" {
		return true, ""
	}
	old, ok := from.Step(step)
	if !ok {
		return false, "step " + step + " is not in version " + from.Version
	}
	now, ok := to.Step(step)
	if !ok {
		return false, "step " + step + " is gone in version " + to.Version
	}
	if now.Kind != old.Kind {
		return false, "step " + step + " is a " + string(now.Kind) + " step in version " + to.Version + ", not a " + string(old.Kind) + " step"
	}
	return true, ""
}
