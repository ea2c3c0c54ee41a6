package sequence

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/nurture-email/nurture"
)

// Limits of a sequence file.
const (
	// MaxFileSize is the largest sequence file read, in bytes.
	MaxFileSize = 256 << 10
	// MaxSteps is the most steps a sequence may have.
	MaxSteps = 200
	// maxSubject is the longest subject override, in characters: inboxes
	// show far less.
	maxSubject = 200
)

// idPattern is what sequence and step ids look like: they go into message
// dedupe keys, URLs and metrics labels.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

const idRule = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 64"

// The file format, key by key. A sequence file is one YAML document:
//
//	id: onboarding                 # required; lower-case letters, digits, - and _
//	name: Onboarding               # optional, for people
//	topic: onboarding              # required: onboarding, education, product or marketing
//	trigger:                       # required, one of:
//	  event: signed_up             #   an event, with optional conditions on its properties:
//	  where: {plan: trial}         #   (where: PROPERTY: VALUE or {OP: VALUE})
//	  condition: COND              #   or a condition on the contact becoming true
//	entry: once                    # the default; or {again_after: 90d}
//	exit:                          # optional; unsubscribing from the topic always exits
//	  events: [demo_booked, {event: plan_changed, where: {plan: pro}}]
//	  if: COND                     # exit as soon as it holds
//	goal: {event: activated, where: ..., within: 30d, continue: false}
//	send_window: {days: weekdays, from: "09:00", to: "17:00"}   # in the contact's time zone
//	steps:                         # required, in order; each has an id and one of:
//	  - {id: ID, send: TEMPLATE}
//	  - {id: ID, send: {template: T, subject: S, topic: T, send_window: any|{...}}}
//	  - {id: ID, send: {choose: [{feature: EVENT, template: T, roles: [...], industries: [...]}], none_left: ID}}
//	  - {id: ID, wait: 2d}         # or {for: 2d}, {until: send_window}, {since_start: 10d}
//	  - {id: ID, wait_until: {event: E, where: ..., timeout: 3d, then: ID, on_timeout: ID}}
//	  - {id: ID, wait_until: {condition: COND, timeout: 3d, then: ID, on_timeout: ID}}
//	  - {id: ID, branch: {if: COND, then: ID, else: ID}}
//	  - {id: ID, exit: REASON}
//	                               # send and wait steps may say next: ID (default: the step below)
//
// COND is a condition, as text or as a map (nurture.ParseConditionValue).

var topKeys = []string{"id", "name", "topic", "trigger", "entry", "exit", "goal", "send_window", "steps"}

// Parse reads one sequence file. file names it in errors; tmpl is the
// email templates it is checked against (nil: not checked). Every mistake
// is reported, as Errors.
func Parse(file string, src []byte, tmpl Templates) (*Sequence, error) {
	r := &reader{file: file}
	if len(src) > MaxFileSize {
		return nil, Errors{{File: file, Message: fmt.Sprintf("is %d bytes; a sequence file may have at most %d", len(src), MaxFileSize)}}
	}
	f, perr := parseYAML(src)
	if perr != nil {
		r.yamlError(perr)
		return nil, r.errs
	}
	var body ast.Node
	for i, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, ok := d.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			r.fail(d.Body, nil, "a file holds one sequence: move document %d to a file of its own", i+1)
			break
		}
		body = d.Body
	}
	if body == nil {
		return nil, Errors{{File: file, Message: "is empty: want a sequence with id, topic, trigger and steps"}}
	}
	p := &seqParser{reader: r, tmpl: tmpl}
	seq := p.sequence(body)
	if len(r.errs) > 0 {
		r.errs.sort()
		return nil, r.errs
	}
	seq.File = file
	seq.Version = version(seq)
	return seq, nil
}

// parseYAML parses a file into YAML nodes. The parser is a dependency fed
// by operators' files: a bug in it must be an error that names the file,
// not a crash at start.
func parseYAML(src []byte) (f *ast.File, err error) {
	defer func() {
		if v := recover(); v != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file: %v", v)
		}
	}()
	return parser.ParseBytes(src, 0)
}

// seqParser reads the parts of a sequence.
type seqParser struct {
	*reader
	tmpl  Templates
	seq   *Sequence
	jumps []jump // step references, checked once every id is known
}

// jump is a reference to a step id, where it was written.
type jump struct {
	target string
	node   ast.Node
	path   []any
}

func (p *seqParser) sequence(n ast.Node) *Sequence {
	m := p.mapping(n, nil, "a sequence: a map with id, topic, trigger and steps", topKeys...)
	s := &Sequence{index: map[string]int{}}
	p.seq = s
	if m == nil {
		return s
	}
	if v, ok := p.required(m, "id", "the sequence's id, such as onboarding"); ok {
		s.ID, _ = p.id(v, at(nil, "id"))
		s.idLine, s.idColumn = position(v)
	}
	if v, ok := m.get("name"); ok {
		s.Name, _ = p.text(v, at(nil, "name"), "a name for people")
	}
	if v, ok := p.required(m, "topic", "the topic its emails are about: onboarding, education, product or marketing"); ok {
		s.Topic, _ = p.topic(v, at(nil, "topic"), false)
	}
	if v, ok := p.required(m, "trigger", "what enrolls a contact: {event: NAME} or {condition: COND}"); ok {
		s.Trigger = p.trigger(v, at(nil, "trigger"))
	}
	if v, ok := m.get("entry"); ok {
		s.Entry = p.entry(v, at(nil, "entry"))
	}
	if v, ok := m.get("exit"); ok {
		s.Exit = p.exit(v, at(nil, "exit"))
	}
	if v, ok := m.get("goal"); ok {
		s.Goal = p.goal(v, at(nil, "goal"))
	}
	if v, ok := m.get("send_window"); ok {
		s.Window, _ = p.window(v, at(nil, "send_window"))
	}
	if v, ok := p.required(m, "steps", "the list of steps"); ok {
		p.steps(v, at(nil, "steps"))
	}
	return s
}

func (p *seqParser) id(n ast.Node, path []any) (string, bool) {
	s, ok := p.text(n, path, "an id")
	if !ok {
		return "", false
	}
	if !idPattern.MatchString(s) {
		p.fail(n, path, "%q is not an id: use %s characters", s, idRule)
		return "", false
	}
	return s, true
}

// topic reads a topic; transactional is refused for a sequence (mail that
// cannot be unsubscribed from is no lifecycle mail) but allowed for a step.
func (p *seqParser) topic(n ast.Node, path []any, step bool) (nurture.Topic, bool) {
	s, ok := p.text(n, path, "a topic")
	if !ok {
		return "", false
	}
	t := nurture.Topic(s)
	if !t.Valid() {
		p.fail(n, path, "unknown topic %q: want onboarding, education, product or marketing", s)
		return "", false
	}
	if t == nurture.TopicTransactional && !step {
		p.fail(n, path, "a sequence cannot be transactional: its recipients must be able to unsubscribe from it")
		return "", false
	}
	return t, true
}

func (p *seqParser) duration(n ast.Node, path []any) (time.Duration, bool) {
	s, ok := p.text(n, path, "a duration such as 2d, 36h or 90m")
	if !ok {
		return 0, false
	}
	d, err := nurture.ParseDuration(s)
	if err != nil {
		p.fail(n, path, "%v", err)
		return 0, false
	}
	return d, true
}

// eventMatch reads {event: NAME, where: ...} from a map that may hold other
// keys too (goal, wait_until), or a bare event name when bare is set.
func (p *seqParser) eventMatch(n ast.Node, m *mapping, path []any) (*EventMatch, bool) {
	if m == nil {
		name, ok := p.text(n, path, "an event name")
		if !ok {
			return nil, false
		}
		return &EventMatch{Event: name}, true
	}
	v, ok := m.get("event")
	if !ok {
		return nil, false
	}
	name, ok := p.text(v, at(path, "event"), "an event name")
	if !ok {
		return nil, false
	}
	em := &EventMatch{Event: name}
	if w, ok := m.get("where"); ok {
		if em.Where, ok = p.where(w, at(path, "where")); !ok {
			return nil, false
		}
	}
	return em, true
}

func (p *seqParser) trigger(n ast.Node, path []any) Trigger {
	m := p.mapping(n, path, "a trigger: {event: NAME} or {condition: COND}", "event", "where", "condition")
	if m == nil {
		return Trigger{}
	}
	var t Trigger
	switch {
	case m.has("event") && m.has("condition"):
		v, _ := m.get("condition")
		p.fail(v, at(path, "condition"), "a trigger is an event or a condition, not both")
	case m.has("event"):
		t.Event, _ = p.eventMatch(n, m, path)
	case m.has("condition"):
		if m.has("where") {
			v, _ := m.get("where")
			p.fail(v, at(path, "where"), "where filters an event's properties: it goes with event, not condition")
		}
		v, _ := m.get("condition")
		t.Condition, _ = p.condition(v, at(path, "condition"))
	default:
		p.fail(m.node, path, "want event: NAME or condition: COND")
	}
	return t
}

func (p *seqParser) entry(n ast.Node, path []any) Entry {
	if s, ok := n.(*ast.StringNode); ok {
		if s.Value != "once" {
			p.fail(n, path, "want once, or {again_after: 90d}")
		}
		return Entry{}
	}
	m := p.mapping(n, path, "once, or {again_after: 90d}", "again_after")
	if m == nil {
		return Entry{}
	}
	var e Entry
	if v, ok := p.required(m, "again_after", "how long after the end of an enrollment a contact may enter again"); ok {
		e.AgainAfter, _ = p.duration(v, at(path, "again_after"))
	}
	return e
}

func (p *seqParser) exit(n ast.Node, path []any) Exit {
	m := p.mapping(n, path, "exit rules: {events: [...], if: COND}", "events", "if")
	if m == nil {
		return Exit{}
	}
	var e Exit
	if v, ok := m.get("events"); ok {
		items, _ := p.list(v, at(path, "events"), "a list of events", true)
		for i, it := range items {
			here := at(at(path, "events"), i)
			if _, isMap := it.(*ast.MappingNode); isMap {
				em := p.mapping(it, here, "an event: NAME or {event: NAME, where: ...}", "event", "where")
				if em == nil {
					continue
				}
				if _, ok := p.required(em, "event", "the event's name"); !ok {
					continue
				}
				if x, ok := p.eventMatch(it, em, here); ok {
					e.Events = append(e.Events, *x)
				}
				continue
			}
			if x, ok := p.eventMatch(it, nil, here); ok {
				e.Events = append(e.Events, *x)
			}
		}
	}
	if v, ok := m.get("if"); ok {
		e.If, _ = p.condition(v, at(path, "if"))
	}
	return e
}

func (p *seqParser) goal(n ast.Node, path []any) *Goal {
	m := p.mapping(n, path, "a goal: {event: NAME, within: 30d}", "event", "where", "within", "continue")
	if m == nil {
		return nil
	}
	g := &Goal{}
	if _, ok := p.required(m, "event", "the event that means the goal is reached, such as activated"); ok {
		if em, ok := p.eventMatch(n, m, path); ok {
			g.EventMatch = *em
		}
	}
	if v, ok := p.required(m, "within", "how long after enrolling the goal counts, such as 30d"); ok {
		g.Within, _ = p.duration(v, at(path, "within"))
	}
	if v, ok := m.get("continue"); ok {
		g.Continue, _ = p.boolean(v, at(path, "continue"))
	}
	return g
}

// window reads a send window, or any (every moment).
func (p *seqParser) window(n ast.Node, path []any) (*Window, bool) {
	if s, ok := n.(*ast.StringNode); ok && (s.Value == "any" || s.Value == "any time") {
		return &Window{}, true
	}
	m := p.mapping(n, path, `a send window: {days: weekdays, from: "09:00", to: "17:00"}, or any`, "days", "from", "to")
	if m == nil {
		return nil, false
	}
	w := &Window{To: 24 * 60}
	ok := true
	if v, has := m.get("days"); has {
		items, good := p.list(v, at(path, "days"), "days: a list such as [mon, tue] or weekdays", true)
		var names []string
		for i, it := range items {
			here := at(at(path, "days"), i)
			s, good := p.text(it, here, "a day")
			if good {
				if _, err := parseDays([]string{s}); err != nil {
					p.fail(it, here, "%v", err)
					good = false
				}
			}
			if !good {
				ok = false
				continue
			}
			names = append(names, s)
		}
		w.Days, _ = parseDays(names)
		ok = ok && good
	}
	for _, k := range []string{"from", "to"} {
		v, has := m.get(k)
		if !has {
			continue
		}
		s, good := p.text(v, at(path, k), `a time of day such as "09:00"`)
		if !good {
			ok = false
			continue
		}
		mins, err := parseClock(s, k == "to")
		if err != nil {
			p.fail(v, at(path, k), "%v", err)
			ok = false
			continue
		}
		if k == "from" {
			w.From = mins
		} else {
			w.To = mins
		}
	}
	if ok && w.From >= w.end() {
		v, _ := m.get("to")
		p.fail(v, at(path, "to"), "the window ends before it starts; quiet hours across midnight are a window such as from \"08:00\" to \"21:00\"")
		return nil, false
	}
	return w, ok
}

var stepKinds = []string{string(KindSend), string(KindWait), string(KindWaitUntil), string(KindBranch), string(KindExit)}

func (p *seqParser) steps(n ast.Node, path []any) {
	items, ok := p.list(n, path, "a list of steps", false)
	if !ok {
		return
	}
	if len(items) == 0 {
		p.fail(n, path, "has no steps")
		return
	}
	if len(items) > MaxSteps {
		p.fail(n, path, "has %d steps; a sequence may have at most %d", len(items), MaxSteps)
		return
	}
	seq := p.seq
	nodes := make([]ast.Node, 0, len(items))
	var broken []bool // steps with a mistake of their own: the loop check passes over them
	for i, it := range items {
		here := at(path, i)
		before := len(p.errs)
		st, ok := p.step(it, here)
		if !ok {
			continue
		}
		if j, dup := seq.index[st.ID]; dup {
			p.fail(it, at(here, "id"), "step id %q is already the id of steps[%d]", st.ID, j)
			continue
		}
		seq.index[st.ID] = len(seq.Steps)
		seq.Steps = append(seq.Steps, st)
		nodes = append(nodes, it)
		broken = append(broken, len(p.errs) > before)
	}
	unknown := false
	for _, j := range p.jumps {
		if _, ok := seq.index[j.target]; !ok {
			unknown = true
			msg := fmt.Sprintf("unknown step %q", j.target)
			if s := suggest(j.target, slices.Sorted(maps.Keys(seq.index))); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			p.fail(j.node, j.path, "%s", msg)
		}
	}
	if !unknown {
		p.checkLoops(nodes, broken, path)
	}
}

// ref reads a step id that a step jumps to; it is checked once every step
// is known.
func (p *seqParser) ref(n ast.Node, path []any) string {
	s, ok := p.text(n, path, "the id of a step, or end")
	if !ok {
		return ""
	}
	if s == End {
		return s
	}
	p.jumps = append(p.jumps, jump{target: s, node: n, path: path})
	return s
}

// step reads one step; it reports whether the step has a usable id (the
// step may still have mistakes: they are recorded).
func (p *seqParser) step(n ast.Node, path []any) (Step, bool) {
	m := p.mapping(n, path, "a step: {id: ID, send|wait|wait_until|branch|exit: ...}", append([]string{"id", "next"}, stepKinds...)...)
	if m == nil {
		return Step{}, false
	}
	var st Step
	ok := false
	if v, has := p.required(m, "id", "the step's id, unique in the sequence"); has {
		st.ID, ok = p.id(v, at(path, "id"))
		if st.ID == End {
			p.fail(v, at(path, "id"), "end is the target that ends the sequence: call the step something else")
			ok = false
		}
	}
	var kinds []string
	for _, k := range stepKinds {
		if m.has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		p.fail(m.node, path, "says nothing to do: give one of send, wait, wait_until, branch or exit")
		return st, ok
	case 1:
	default:
		v, _ := m.get(kinds[1])
		p.fail(v, at(path, kinds[1]), "a step does one thing: %s and %s are both given (make two steps)", kinds[0], kinds[1])
		return st, ok
	}
	st.Kind = StepKind(kinds[0])
	v, _ := m.get(kinds[0])
	here := at(path, kinds[0])
	switch st.Kind {
	case KindSend:
		st.Send = p.send(v, here)
	case KindWait:
		st.Wait = p.wait(v, here)
	case KindWaitUntil:
		st.WaitUntil = p.waitUntil(v, here)
	case KindBranch:
		st.Branch = p.branch(v, here)
	case KindExit:
		if _, null := v.(*ast.NullNode); !null && v != nil {
			st.ExitReason, _ = p.text(v, here, "the reason to record, or nothing")
		}
	}
	if nv, has := m.get("next"); has {
		switch st.Kind {
		case KindSend, KindWait:
			st.Next = p.ref(nv, at(path, "next"))
		case KindBranch:
			p.fail(nv, at(path, "next"), "a branch goes to its then or else: next is not used")
		case KindWaitUntil:
			p.fail(nv, at(path, "next"), "a wait_until goes to its then or on_timeout: next is not used")
		case KindExit:
			p.fail(nv, at(path, "next"), "an exit step ends the enrollment: next is not used")
		}
	}
	return st, ok
}

func (p *seqParser) send(n ast.Node, path []any) *Send {
	s := &Send{Topic: p.seq.Topic}
	if str, ok := n.(*ast.StringNode); ok {
		s.Template = str.Value
		p.template(n, path, s.Template, s.Topic, false)
		return s
	}
	m := p.mapping(n, path, "a template name, or {template: NAME, subject: ..., topic: ...} or {choose: [...]}",
		"template", "subject", "topic", "send_window", "choose", "none_left")
	if m == nil {
		return s
	}
	topicGiven := false
	if v, ok := m.get("topic"); ok {
		if t, ok := p.topic(v, at(path, "topic"), true); ok {
			s.Topic, topicGiven = t, true
		}
	}
	if v, ok := m.get("subject"); ok {
		s.Subject, _ = p.text(v, at(path, "subject"), "a subject line")
		if strings.ContainsAny(s.Subject, "\r\n") {
			p.fail(v, at(path, "subject"), "a subject is one line")
		} else if n := utf8.RuneCountInString(s.Subject); n > maxSubject {
			p.fail(v, at(path, "subject"), "is %d characters; a subject may have at most %d", n, maxSubject)
		} else if c, ok := p.tmpl.(SubjectChecker); ok && s.Subject != "" {
			if err := c.CheckSubject(s.Subject); err != nil {
				p.fail(v, at(path, "subject"), "%v", err)
			}
		}
	}
	if v, ok := m.get("send_window"); ok {
		if w, ok := p.window(v, at(path, "send_window")); ok {
			s.Window = w
			s.AnyTime = w.AnyTime()
		}
	}
	switch {
	case m.has("template") && m.has("choose"):
		v, _ := m.get("choose")
		p.fail(v, at(path, "choose"), "a send has a template or a choose list, not both")
	case m.has("template"):
		v, _ := m.get("template")
		if name, ok := p.text(v, at(path, "template"), "a template name"); ok {
			s.Template = name
			p.template(v, at(path, "template"), name, s.Topic, topicGiven)
		}
		if v, ok := m.get("none_left"); ok {
			p.fail(v, at(path, "none_left"), "none_left goes with choose")
		}
	case m.has("choose"):
		v, _ := m.get("choose")
		s.Choose = p.choose(v, at(path, "choose"), s.Topic, topicGiven)
		if v, ok := m.get("none_left"); ok {
			s.NoneLeft = p.ref(v, at(path, "none_left"))
		}
	default:
		p.fail(m.node, path, "names no email: give template: NAME or choose: [...]")
	}
	return s
}

// template checks that name is a template whose topic is topic.
func (p *seqParser) template(n ast.Node, path []any, name string, topic nurture.Topic, topicGiven bool) {
	if p.tmpl == nil {
		return
	}
	got, ok := p.tmpl.Topic(name)
	if !ok {
		msg := fmt.Sprintf("unknown template %q", name)
		if s := suggest(name, p.tmpl.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		p.fail(n, path, "%s", msg)
		return
	}
	if got == topic {
		return
	}
	if topicGiven {
		p.fail(n, path, "template %q is about %s, not %s as this send says", name, got, topic)
		return
	}
	p.fail(n, path, "template %q is about %s, not %s (the sequence's topic): an unsubscribe from %s would not stop it. "+
		"If that is meant, say so with topic: %s in this send", name, got, topic, topic, got)
}

func (p *seqParser) choose(n ast.Node, path []any, topic nurture.Topic, topicGiven bool) []Lesson {
	items, ok := p.list(n, path, "a list of lessons: {feature: EVENT, template: NAME}", false)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.fail(n, path, "has no lessons")
		return nil
	}
	var out []Lesson
	seen := map[string]int{}
	for i, it := range items {
		here := at(path, i)
		m := p.mapping(it, here, "a lesson: {feature: EVENT, template: NAME, roles: [...], industries: [...]}", "feature", "template", "roles", "industries")
		if m == nil {
			continue
		}
		var l Lesson
		if v, ok := p.required(m, "feature", "the event that says the feature was used, such as report_created"); ok {
			l.Feature, _ = p.text(v, at(here, "feature"), "an event name")
		}
		if v, ok := p.required(m, "template", "the template that teaches the feature"); ok {
			if name, ok := p.text(v, at(here, "template"), "a template name"); ok {
				l.Template = name
				if j, dup := seen[name]; dup {
					p.fail(v, at(here, "template"), "template %q is already lesson [%d]", name, j)
				}
				seen[name] = i
				p.template(v, at(here, "template"), name, topic, topicGiven)
			}
		}
		for _, k := range []string{"roles", "industries"} {
			v, ok := m.get(k)
			if !ok {
				continue
			}
			vals, _ := p.list(v, at(here, k), "a list of words", true)
			var words []string
			for j, x := range vals {
				if s, ok := p.text(x, at(at(here, k), j), "a word"); ok {
					words = append(words, s)
				}
			}
			if k == "roles" {
				l.Roles = words
			} else {
				l.Industries = words
			}
		}
		out = append(out, l)
	}
	return out
}

func (p *seqParser) wait(n ast.Node, path []any) *Wait {
	w := &Wait{}
	if _, ok := n.(*ast.StringNode); ok {
		w.For, _ = p.duration(n, path)
		return w
	}
	m := p.mapping(n, path, "a duration such as 2d, or {for: 2d}, {until: send_window} or {since_start: 10d}", "for", "until", "since_start")
	if m == nil {
		return w
	}
	if len(m.keys) != 1 {
		p.fail(m.node, path, "want one of for, until or since_start")
		return w
	}
	e := m.keys[0]
	here := at(path, e.key)
	switch e.key {
	case "for":
		w.For, _ = p.duration(e.value, here)
	case "since_start":
		w.SinceStart, _ = p.duration(e.value, here)
	case "until":
		if s, ok := p.text(e.value, here, "send_window"); ok {
			if s != "send_window" {
				p.fail(e.value, here, "want send_window (the next opening of the send window)")
			}
			w.UntilWindow = true
		}
	}
	return w
}

func (p *seqParser) waitUntil(n ast.Node, path []any) *WaitUntil {
	m := p.mapping(n, path, "{event: NAME or condition: COND, timeout: 3d, then: ID, on_timeout: ID}",
		"event", "where", "condition", "timeout", "then", "on_timeout")
	w := &WaitUntil{}
	if m == nil {
		return w
	}
	switch {
	case m.has("event") && m.has("condition"):
		v, _ := m.get("condition")
		p.fail(v, at(path, "condition"), "wait for an event or a condition, not both")
	case m.has("event"):
		w.Event, _ = p.eventMatch(n, m, path)
	case m.has("condition"):
		if v, ok := m.get("where"); ok {
			p.fail(v, at(path, "where"), "where filters an event's properties: it goes with event, not condition")
		}
		v, _ := m.get("condition")
		w.Condition, _ = p.condition(v, at(path, "condition"))
	default:
		p.fail(m.node, path, "waits for nothing: give event: NAME or condition: COND")
	}
	if v, ok := p.required(m, "timeout", "how long to wait at most, such as 3d"); ok {
		w.Timeout, _ = p.duration(v, at(path, "timeout"))
	}
	if v, ok := m.get("then"); ok {
		w.Then = p.ref(v, at(path, "then"))
	}
	if v, ok := m.get("on_timeout"); ok {
		w.OnTimeout = p.ref(v, at(path, "on_timeout"))
	}
	return w
}

func (p *seqParser) branch(n ast.Node, path []any) *Branch {
	m := p.mapping(n, path, "{if: COND, then: ID, else: ID}", "if", "then", "else")
	b := &Branch{}
	if m == nil {
		return b
	}
	if v, ok := p.required(m, "if", "the condition"); ok {
		b.If, _ = p.condition(v, at(path, "if"))
	}
	if v, ok := m.get("then"); ok {
		b.Then = p.ref(v, at(path, "then"))
	}
	if v, ok := m.get("else"); ok {
		b.Else = p.ref(v, at(path, "else"))
	}
	if b.Then == "" && b.Else == "" && !m.has("then") && !m.has("else") {
		p.fail(m.node, path, "goes nowhere: give then: ID, else: ID or both (the other is the next step)")
	}
	return b
}

// edge is a way from one step to another, and whether taking it takes
// time for certain.
type edge struct {
	to    int
	waits bool
}

// edges returns where step i may go next.
func (s *Sequence) edges(i int) []edge {
	st := &s.Steps[i]
	var out []edge
	add := func(id string, waits bool) {
		if id == "" {
			return
		}
		if j, ok := s.index[id]; ok {
			out = append(out, edge{j, waits})
		}
	}
	switch st.Kind {
	case KindSend:
		add(s.after(i), false)
		if len(st.Send.Choose) > 0 {
			add(s.orNext(i, st.Send.NoneLeft), false)
		}
	case KindWait:
		// Only a wait of a duration takes time for certain: since_start has
		// passed after the date, and an open send window passes at once.
		add(s.after(i), st.Wait.For > 0)
	case KindWaitUntil:
		// Each pass waits for a new occurrence of an event; a condition
		// already true passes at once.
		add(s.orNext(i, st.WaitUntil.Then), st.WaitUntil.Event != nil)
		add(s.orNext(i, st.WaitUntil.OnTimeout), true)
	case KindBranch:
		add(s.orNext(i, st.Branch.Then), false)
		add(s.orNext(i, st.Branch.Else), false)
	}
	return out
}

// checkLoops reports a loop of steps that can go round without waiting:
// it would send or decide without end.
func (p *seqParser) checkLoops(nodes []ast.Node, broken []bool, path []any) {
	s := p.seq
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(s.Steps))
	var stack []int
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onPath
		stack = append(stack, i)
		for _, e := range s.edges(i) {
			if e.waits {
				continue
			}
			switch state[e.to] {
			case onPath:
				start := slices.Index(stack, e.to)
				var ids []string
				for _, k := range stack[start:] {
					ids = append(ids, s.Steps[k].ID)
				}
				ids = append(ids, s.Steps[e.to].ID)
				p.fail(nodes[e.to], at(path, e.to), "the steps %s loop without a wait: put a wait of a duration (wait: 1d) or a wait_until an event in the loop",
					strings.Join(ids, " → "))
				return true
			case unseen:
				if visit(e.to) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return false
	}
	for i := range s.Steps {
		if broken[i] {
			// What a step with a mistake does is not known: no loop is
			// reported through it.
			state[i] = done
		}
	}
	for i := range s.Steps {
		if state[i] == unseen && visit(i) {
			return
		}
	}
}

// Set is the sequences of a directory, by id.
type Set struct {
	seqs map[string]*Sequence
	ids  []string
}

// Load reads and checks every *.yaml and *.yml file at the root of fsys
// against tmpl, and reports every mistake of every file at once (as
// Errors), including two files with the same id.
func Load(fsys fs.FS, tmpl Templates) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read the sequences: %w", err)
	}
	set := &Set{seqs: map[string]*Sequence{}}
	var errs Errors
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (path.Ext(name) != ".yaml" && path.Ext(name) != ".yml") {
			continue
		}
		info, err := e.Info()
		if err == nil && info.Size() > MaxFileSize {
			errs = append(errs, &Error{File: name, Message: fmt.Sprintf("is %d bytes; a sequence file may have at most %d", info.Size(), MaxFileSize)})
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &Error{File: name, Message: err.Error()})
			continue
		}
		seq, err := Parse(name, src, tmpl)
		if err != nil {
			var es Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
			} else {
				errs = append(errs, &Error{File: name, Message: err.Error()})
			}
			continue
		}
		if other, dup := set.seqs[seq.ID]; dup {
			errs = append(errs, &Error{File: name, Line: seq.idLine, Column: seq.idColumn, Field: "id",
				Message: fmt.Sprintf("sequence %q is already defined in %s", seq.ID, other.File)})
			continue
		}
		set.seqs[seq.ID] = seq
		set.ids = append(set.ids, seq.ID)
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	slices.Sort(set.ids)
	return set, nil
}

// Get returns the sequence with the given id.
func (s *Set) Get(id string) (*Sequence, bool) {
	seq, ok := s.seqs[id]
	return seq, ok
}

// All returns the sequences, sorted by id.
func (s *Set) All() []*Sequence {
	out := make([]*Sequence, len(s.ids))
	for i, id := range s.ids {
		out[i] = s.seqs[id]
	}
	return out
}

// TriggeredBy returns the sequences an event called name, with these
// properties, enrolls contacts in (entry rules aside), sorted by id.
func (s *Set) TriggeredBy(name string, props map[string]any) []*Sequence {
	var out []*Sequence
	for _, id := range s.ids {
		if s.seqs[id].TriggeredBy(name, props) {
			out = append(out, s.seqs[id])
		}
	}
	return out
}
