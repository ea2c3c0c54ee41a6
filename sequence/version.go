package sequence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/nurture-email/nurture"
)

// version returns the content version of s: the first 12 hex digits of the
// SHA-256 of its normalised content (every setting, conditions in their
// canonical text form, durations in seconds, JSON with sorted keys). How
// the file is written (comments, spacing, key order, quotes, 36h or 1d12h)
// does not change it; what the sequence does does. The templates' own
// content is not part of it: editing a template changes the emails, not
// the sequence.
func version(s *Sequence) string {
	b, err := json.Marshal(canonical(s))
	if err != nil {
		// Only plain values go in: it cannot fail.
		panic("sequence: version: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func condText(c nurture.Condition) string {
	if c == nil {
		return ""
	}
	return c.String()
}

func eventText(m *EventMatch) string {
	if m == nil {
		return ""
	}
	return m.String()
}

func windowText(w *Window) string {
	if w == nil {
		return ""
	}
	return w.String()
}

func canonical(s *Sequence) map[string]any {
	out := map[string]any{
		"id": s.ID, "name": s.Name, "topic": s.Topic,
		"trigger":     map[string]any{"event": eventText(s.Trigger.Event), "condition": condText(s.Trigger.Condition)},
		"entry":       seconds(s.Entry.AgainAfter),
		"send_window": windowText(s.Window),
	}
	var exits []string
	for _, m := range s.Exit.Events {
		exits = append(exits, m.String())
	}
	out["exit"] = map[string]any{"events": exits, "if": condText(s.Exit.If)}
	if g := s.Goal; g != nil {
		out["goal"] = map[string]any{"event": g.String(), "within": seconds(g.Within), "continue": g.Continue}
	}
	steps := make([]map[string]any, len(s.Steps))
	for i, st := range s.Steps {
		m := map[string]any{"id": st.ID, "kind": st.Kind, "next": st.Next}
		switch {
		case st.Send != nil:
			var lessons []map[string]any
			for _, l := range st.Send.Choose {
				lessons = append(lessons, map[string]any{"feature": l.Feature, "template": l.Template, "roles": l.Roles, "industries": l.Industries})
			}
			m["send"] = map[string]any{"template": st.Send.Template, "subject": st.Send.Subject, "topic": st.Send.Topic,
				"window": windowText(st.Send.Window), "any_time": st.Send.AnyTime, "choose": lessons, "none_left": st.Send.NoneLeft}
		case st.Wait != nil:
			m["wait"] = map[string]any{"for": seconds(st.Wait.For), "since_start": seconds(st.Wait.SinceStart), "until_window": st.Wait.UntilWindow}
		case st.WaitUntil != nil:
			w := st.WaitUntil
			m["wait_until"] = map[string]any{"event": eventText(w.Event), "condition": condText(w.Condition), "timeout": seconds(w.Timeout),
				"then": w.Then, "on_timeout": w.OnTimeout}
		case st.Branch != nil:
			m["branch"] = map[string]any{"if": condText(st.Branch.If), "then": st.Branch.Then, "else": st.Branch.Else}
		default:
			m["exit"] = st.ExitReason
		}
		steps[i] = m
	}
	out["steps"] = steps
	return out
}
