package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// sequenceDef is a sequence written back in the form of its file (the
// README's "Sequences"): the same keys, conditions in their text form,
// durations as 2d or 36h. Loaded as a sequence file, it gives the same
// sequence, of the same version.
type sequenceDef struct {
	ID         string        `json:"id"`
	Name       string        `json:"name,omitempty"`
	Topic      nurture.Topic `json:"topic"`
	Trigger    eventDef      `json:"trigger"`
	Entry      any           `json:"entry"` // "once" or {"again_after": "90d"}
	Exit       *exitDef      `json:"exit,omitempty"`
	Goal       *goalDef      `json:"goal,omitempty"`
	SendWindow any           `json:"send_window,omitempty"`
	Steps      []stepDef     `json:"steps"`
}

// eventDef is an event with conditions on its properties, or a condition
// (a trigger, a wait_until).
type eventDef struct {
	Event     string         `json:"event,omitempty"`
	Where     map[string]any `json:"where,omitempty"`
	Condition string         `json:"condition,omitempty"`
}

type exitDef struct {
	Events []any  `json:"events,omitempty"` // a name, or {"event", "where"}
	If     string `json:"if,omitempty"`
}

type goalDef struct {
	Event    string         `json:"event"`
	Where    map[string]any `json:"where,omitempty"`
	Within   string         `json:"within"`
	Continue bool           `json:"continue,omitempty"`
}

type windowDef struct {
	Days []string `json:"days,omitempty"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

// stepDef is one step: its id, what it does under the key of its kind,
// and where it goes next when that is not the following step.
type stepDef struct {
	ID        string        `json:"id"`
	Send      any           `json:"send,omitempty"` // a template's name, or sendDef
	Wait      any           `json:"wait,omitempty"` // a duration, or {"since_start"} or {"until"}
	WaitUntil *waitUntilDef `json:"wait_until,omitempty"`
	Branch    *branchDef    `json:"branch,omitempty"`
	// Exit is the reason of an exit step, or null when it gives none.
	Exit json.RawMessage `json:"exit,omitempty"`
	Next string          `json:"next,omitempty"`
}

type sendDef struct {
	Template   string        `json:"template,omitempty"`
	Subject    string        `json:"subject,omitempty"`
	Topic      nurture.Topic `json:"topic,omitempty"`
	SendWindow any           `json:"send_window,omitempty"`
	Choose     []lessonDef   `json:"choose,omitempty"`
	NoneLeft   string        `json:"none_left,omitempty"`
}

type lessonDef struct {
	Feature    string   `json:"feature"`
	Template   string   `json:"template"`
	Roles      []string `json:"roles,omitempty"`
	Industries []string `json:"industries,omitempty"`
}

type waitUntilDef struct {
	eventDef
	Timeout   string `json:"timeout"`
	Then      string `json:"then,omitempty"`
	OnTimeout string `json:"on_timeout,omitempty"`
}

type branchDef struct {
	If   string `json:"if"`
	Then string `json:"then,omitempty"`
	Else string `json:"else,omitempty"`
}

func newSequenceDef(s *sequence.Sequence) sequenceDef {
	d := sequenceDef{ID: s.ID, Name: s.Name, Topic: s.Topic, Entry: "once"}
	switch {
	case s.Trigger.Event != nil:
		d.Trigger = newEventDef(*s.Trigger.Event)
	case s.Trigger.Condition != nil:
		d.Trigger = eventDef{Condition: s.Trigger.Condition.String()}
	}
	if s.Entry.AgainAfter > 0 {
		d.Entry = map[string]string{"again_after": nurture.FormatDuration(s.Entry.AgainAfter)}
	}
	if len(s.Exit.Events) > 0 || s.Exit.If != nil {
		e := &exitDef{}
		for _, m := range s.Exit.Events {
			if len(m.Where) == 0 {
				e.Events = append(e.Events, m.Event)
			} else {
				e.Events = append(e.Events, newEventDef(m))
			}
		}
		if s.Exit.If != nil {
			e.If = s.Exit.If.String()
		}
		d.Exit = e
	}
	if g := s.Goal; g != nil {
		d.Goal = &goalDef{Event: g.Event, Where: whereDef(g.Where), Within: nurture.FormatDuration(g.Within), Continue: g.Continue}
	}
	if s.Window != nil {
		d.SendWindow = newWindowDef(*s.Window)
	}
	d.Steps = make([]stepDef, len(s.Steps))
	for i := range s.Steps {
		d.Steps[i] = newStepDef(s, &s.Steps[i])
	}
	return d
}

func newEventDef(m sequence.EventMatch) eventDef {
	return eventDef{Event: m.Event, Where: whereDef(m.Where)}
}

// whereDef writes conditions on properties as the map a file gives them
// in: {"plan": {"in": ["trial", "free"]}, "seats": {"gt": 3, "lt": 10}}.
func whereDef(where []nurture.Compare) map[string]any {
	if len(where) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, w := range where {
		name := strings.Join(w.Field.Path, ".")
		ops, _ := out[name].(map[string]any)
		if ops == nil {
			ops = map[string]any{}
			out[name] = ops
		}
		ops[string(w.Op)] = w.Value
	}
	return out
}

// newWindowDef writes a send window: "any", or its days and hours.
func newWindowDef(w sequence.Window) any {
	if w.AnyTime() {
		return "any"
	}
	def := windowDef{From: clock(w.From), To: clock(w.To)}
	if w.To == 0 {
		def.To = "24:00"
	}
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if w.Days[d] {
			def.Days = append(def.Days, strings.ToLower(d.String()[:3]))
		}
	}
	return def
}

func clock(mins int) string { return fmt.Sprintf("%02d:%02d", mins/60, mins%60) }

func newStepDef(s *sequence.Sequence, st *sequence.Step) stepDef {
	d := stepDef{ID: st.ID, Next: st.Next}
	switch st.Kind {
	case sequence.KindSend:
		d.Send = newSendDef(s, st.Send)
	case sequence.KindWait:
		switch w := st.Wait; {
		case w.UntilWindow:
			d.Wait = map[string]string{"until": "send_window"}
		case w.SinceStart > 0:
			d.Wait = map[string]string{"since_start": nurture.FormatDuration(w.SinceStart)}
		default:
			d.Wait = nurture.FormatDuration(w.For)
		}
	case sequence.KindWaitUntil:
		w := st.WaitUntil
		wd := &waitUntilDef{Timeout: nurture.FormatDuration(w.Timeout), Then: w.Then, OnTimeout: w.OnTimeout}
		switch {
		case w.Event != nil:
			wd.eventDef = newEventDef(*w.Event)
		case w.Condition != nil:
			wd.Condition = w.Condition.String()
		}
		d.WaitUntil = wd
	case sequence.KindBranch:
		d.Branch = &branchDef{If: st.Branch.If.String(), Then: st.Branch.Then, Else: st.Branch.Else}
	case sequence.KindExit:
		d.Exit = json.RawMessage("null")
		if st.ExitReason != "" {
			d.Exit, _ = json.Marshal(st.ExitReason) // a string always marshals
		}
	}
	return d
}

func newSendDef(s *sequence.Sequence, send *sequence.Send) any {
	d := sendDef{Template: send.Template, Subject: send.Subject, NoneLeft: send.NoneLeft}
	if send.Topic != s.Topic {
		d.Topic = send.Topic
	}
	if send.Window != nil {
		d.SendWindow = newWindowDef(*send.Window)
	}
	for _, l := range send.Choose {
		d.Choose = append(d.Choose, lessonDef(l))
	}
	if d.Subject == "" && d.Topic == "" && d.SendWindow == nil && d.Choose == nil {
		return d.Template
	}
	return d
}
