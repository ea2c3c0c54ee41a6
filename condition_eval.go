package nurture

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Eval reports whether c holds for the contact of f at f.Now. A nil
// condition holds.
func (f *Facts) Eval(c Condition) bool {
	ok, _ := f.Explain(c)
	return ok
}

// Explain is Eval that also says why: one note for each value it looked
// at, in the order it looked, such as `traits.role is "Engineering"` or
// `did setup_completed: 0 times`. And and or stop at the first answer that
// decides, as Eval does, so the notes are the values that decided.
func (f *Facts) Explain(c Condition) (bool, []string) {
	var notes []string
	ok := f.eval(c, &notes)
	return ok, notes
}

func (f *Facts) eval(c Condition, notes *[]string) bool {
	switch c := c.(type) {
	case nil:
		return true
	case All:
		for _, x := range c {
			if !f.eval(x, notes) {
				return false
			}
		}
		return true
	case Any:
		for _, x := range c {
			if f.eval(x, notes) {
				return true
			}
		}
		return false
	case Not:
		return !f.eval(c.C, notes)
	case Compare:
		v, ok := f.fieldValue(c.Field)
		if ok {
			*notes = append(*notes, fmt.Sprintf("%s is %s", c.Field, noteValue(plain(v))))
		} else {
			*notes = append(*notes, c.Field.String()+" has no value")
		}
		return compare(c.Op, v, ok, c.Value)
	case Did:
		n, total := f.countEvent(c)
		note := fmt.Sprintf("did %s: %d %s", formatName(c.Event), n, plural(n, "time", "times"))
		if len(c.Where) > 0 || c.Within > 0 {
			note += fmt.Sprintf(" that match (of %d in all)", total)
		}
		*notes = append(*notes, note)
		return n >= int64(max(c.AtLeast, 1))
	case Engaged:
		human, machine := f.countHits(c)
		what := plural(human, "open or click", "opens or clicks")
		if c.Kind == HitClick {
			what = plural(human, "click", "clicks")
		}
		note := fmt.Sprintf("%s %s: %d human %s", verbOf(c.Kind), c.emails(), human, what)
		if machine > 0 {
			note += fmt.Sprintf(" (%d by machines or scanners left out)", machine)
		}
		*notes = append(*notes, note)
		return human > 0
	case Subscribed:
		switch {
		case f.Suppressed:
			*notes = append(*notes, "the address is suppressed")
			return false
		case c.Topic != TopicTransactional && f.OptedOut(c.Topic):
			*notes = append(*notes, "opted out of "+string(c.Topic))
			return false
		}
		*notes = append(*notes, "subscribed to "+string(c.Topic))
		return true
	}
	return false
}

func verbOf(k HitKind) string {
	if k == HitClick {
		return "clicked"
	}
	return "opened"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (f *Facts) fieldValue(fl Field) (any, bool) {
	switch fl.Scope {
	case ScopeTraits:
		return traitValue(f.Contact, fl.Path)
	case ScopeCompany:
		if v, ok := lookupPath(f.Company, fl.Path); ok {
			return v, true
		}
		// What the record lacks, the contact's profile may say.
		if len(fl.Path) != 1 || !slices.Contains(profileCompanyFields, fl.Path[0]) {
			return nil, false
		}
		return lookupPath(CompanyFacts(f.Contact), fl.Path)
	}
	return nil, false
}

// countEvent returns how many occurrences of d's event up to f.Now match
// its Where and Within, and how many happened in all up to f.Now.
func (f *Facts) countEvent(d Did) (matching, total int64) {
	ef := f.Events[EventKey(d.Event)]
	if ef == nil {
		return 0, 0
	}
	var future int64
	for _, o := range ef.Occurrences {
		if o.At.After(f.Now) {
			future++
			continue
		}
		if d.Within > 0 && !o.At.After(f.Now.Add(-d.Within)) {
			continue
		}
		if MatchWhere(d.Where, o.Properties) {
			matching++
		}
	}
	total = max(ef.Count, int64(len(ef.Occurrences))) - future
	if len(d.Where) == 0 && d.Within == 0 {
		// Without a filter the total is the answer, including the
		// occurrences the store did not load.
		return total, total
	}
	return matching, total
}

// countHits counts the human opens or clicks of the emails e names, and the
// machine and bot ones left out.
func (f *Facts) countHits(e Engaged) (human, machine int64) {
	for _, m := range f.Emails {
		switch e.Scope {
		case EngagedStep:
			if e.Sequence != "" {
				// A named sequence's step, in any enrollment.
				if m.Sequence != e.Sequence || m.Step != e.Name {
					continue
				}
			} else if m.Sequence != f.Sequence || m.Step != e.Name || m.SentAt.Before(f.SequenceSince) {
				continue
			}
		case EngagedTopic:
			if m.Topic != Topic(e.Name) {
				continue
			}
		case EngagedTemplate:
			if m.Template != e.Name {
				continue
			}
		case EngagedAny:
		}
		for _, h := range m.Hits {
			if h.At.After(f.Now) || e.Within > 0 && !h.At.After(f.Now.Add(-e.Within)) {
				continue
			}
			if e.Kind == HitClick && h.Kind != HitClick {
				continue
			}
			if h.Class == ClassHuman {
				human++
			} else {
				machine++
			}
		}
	}
	return human, machine
}

// MatchWhere reports whether an event's properties satisfy every one of
// the comparisons (as Did.Where holds them).
func MatchWhere(where []Compare, props map[string]any) bool {
	for _, w := range where {
		v, ok := lookupPath(props, w.Field.Path)
		if !compare(w.Op, v, ok, w.Value) {
			return false
		}
	}
	return true
}

// plain turns the numbers of any decoder into float64 and blank text into
// nil, so that values compare alike wherever they came from.
func plain(v any) any {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil
		}
		return strings.TrimSpace(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// compare applies op to a field's value (present or not) and an operand.
func compare(op Op, value any, present bool, operand any) bool {
	value = plain(value)
	if value == nil {
		present = false
	}
	if op == OpExists {
		want, _ := operand.(bool)
		return present == want
	}
	if !present {
		return op == OpNeq
	}
	switch op {
	case OpEq:
		return equal(value, operand)
	case OpNeq:
		return !equal(value, operand)
	case OpIn:
		list, _ := operand.([]any)
		for _, e := range list {
			if equal(value, e) {
				return true
			}
		}
		return false
	case OpContains:
		if list, ok := operand.([]any); ok {
			for _, e := range list {
				if compare(OpContains, value, true, e) {
					return true
				}
			}
			return false
		}
		switch v := value.(type) {
		case string:
			s, ok := operand.(string)
			if !ok {
				s = formatValue(operand)
			}
			return strings.Contains(strings.ToLower(v), strings.ToLower(s))
		case []any:
			for _, e := range v {
				if equal(plain(e), operand) {
					return true
				}
			}
		}
		return false
	case OpGt, OpGte, OpLt, OpLte:
		c, ok := order(value, operand)
		if !ok {
			return false
		}
		switch op {
		case OpGt:
			return c > 0
		case OpGte:
			return c >= 0
		case OpLt:
			return c < 0
		}
		return c <= 0
	}
	return false
}

// number reads a number, or text that spells one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// equal compares a field's value with an operand: numbers as numbers (text
// that spells a number included, when either side is a number), text
// without regard to case.
func equal(value, operand any) bool {
	_, vNum := value.(float64)
	_, oNum := operand.(float64)
	if vNum || oNum {
		a, ok1 := number(value)
		b, ok2 := number(operand)
		return ok1 && ok2 && a == b
	}
	switch v := value.(type) {
	case string:
		switch o := operand.(type) {
		case string:
			return strings.EqualFold(v, strings.TrimSpace(o))
		case bool:
			return strings.EqualFold(v, strconv.FormatBool(o))
		}
	case bool:
		switch o := operand.(type) {
		case bool:
			return v == o
		case string:
			return strings.EqualFold(strconv.FormatBool(v), strings.TrimSpace(o))
		}
	}
	return false
}

// order compares a field's value with an operand as numbers or as times:
// -1, 0 or 1, and whether they could be compared at all.
func order(value, operand any) (int, bool) {
	if b, ok := operand.(float64); ok {
		a, ok := number(value)
		if !ok {
			return 0, false
		}
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	}
	bs, _ := operand.(string)
	as, _ := value.(string)
	b, ok1 := parseTimeValue(bs)
	a, ok2 := parseTimeValue(as)
	if !ok1 || !ok2 {
		return 0, false
	}
	return a.Compare(b), true
}

// parseTimeValue reads a date or a time as products send them: RFC 3339,
// or a date (2006-01-02, midnight UTC), or a time without zone (UTC).
func parseTimeValue(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// maxNoteValue is the most of a value an explanation shows, in bytes:
// explanations are stored with every message.
const maxNoteValue = 120

// noteValue writes a value for an explanation, as JSON writes it, cut to
// maxNoteValue bytes.
func noteValue(v any) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > maxNoteValue {
		cut := maxNoteValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
