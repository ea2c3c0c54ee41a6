package nurture

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Condition is a yes-or-no question about one contact: their profile and
// custom traits, their company, what they did in the product, what they did
// with our emails, and their subscriptions. Sequences ask it of one contact
// at a time (Facts.Eval); campaign segments will ask it of every contact at
// once, compiled to SQL by the store. Both back ends walk the same tree, so
// the node types are few, closed (the interface cannot be implemented
// outside this package) and plain data.
//
// A condition is written in a short text form (ParseCondition):
//
//	traits.plan == "trial" and company.size >= 20 and not did demo_booked
//
// or, in YAML and JSON, as maps (ParseConditionValue):
//
//	and:
//	  - traits.plan: trial
//	  - company.size: {gte: 20}
//	  - not: {did: demo_booked}
//
// String returns the text form; parsing it gives the same tree back.
type Condition interface {
	// String returns the condition in its canonical text form.
	String() string
	isCondition()
}

// All holds when every one of its conditions does ("and").
type All []Condition

// Any holds when at least one of its conditions does ("or").
type Any []Condition

// Not holds when its condition does not.
type Not struct{ C Condition }

// Op is a comparison operator of a Compare.
type Op string

// The comparison operators. Text comparisons ignore case; gt, gte, lt and
// lte compare numbers, or dates and times written as RFC 3339 or
// 2006-01-02. See Compare for what a missing value gives.
const (
	OpEq       Op = "eq"
	OpNeq      Op = "neq"
	OpIn       Op = "in"
	OpContains Op = "contains"
	OpGt       Op = "gt"
	OpGte      Op = "gte"
	OpLt       Op = "lt"
	OpLte      Op = "lte"
	OpExists   Op = "exists"
)

type opInfo struct {
	op     Op
	symbol string
}

// ops lists the operators with their text-form symbols, in the order error
// messages name them.
var ops = []opInfo{
	{OpEq, "=="}, {OpNeq, "!="}, {OpIn, "in"}, {OpContains, "contains"},
	{OpGt, ">"}, {OpGte, ">="}, {OpLt, "<"}, {OpLte, "<="}, {OpExists, "exists"},
}

func (o Op) symbol() string {
	for _, x := range ops {
		if x.op == o {
			return x.symbol
		}
	}
	return string(o)
}

func knownOp(name string) bool {
	return slices.ContainsFunc(ops, func(o opInfo) bool { return string(o.op) == name })
}

// opNames is the list of operators for error messages.
func opNames() string {
	names := make([]string, len(ops))
	for i, x := range ops {
		names[i] = string(x.op)
	}
	return strings.Join(names, ", ")
}

// Field scopes: where a Compare reads its value.
const (
	ScopeTraits     = "traits"     // the contact's profile and custom traits
	ScopeCompany    = "company"    // the contact's company: its record (CompanyRecordFacts), else the profile (CompanyFacts)
	ScopeProperties = "properties" // an event's properties (only inside Did.Where)
)

// Field names a value: a scope and a path within it (traits.plan is
// {traits, [plan]}; traits.address.city is {traits, [address, city]}).
type Field struct {
	Scope string
	Path  []string
}

// String returns the field as the text form writes it: properties without
// their scope, names that are not plain words in double quotes.
func (f Field) String() string {
	var b strings.Builder
	if f.Scope != ScopeProperties {
		b.WriteString(f.Scope)
	}
	for i, p := range f.Path {
		if i > 0 || f.Scope != ScopeProperties {
			b.WriteByte('.')
		}
		if isWord(p) {
			b.WriteString(p)
		} else {
			b.WriteString(strconv.Quote(p))
		}
	}
	return b.String()
}

// Compare holds when the field's value compares to Value as Op says.
//
// Value is a string, a float64 or a bool; for OpIn a []any of those, and
// for OpContains one of those or a []any of them (the field contains one of
// them); for OpExists a bool (true: the field has a value that is not
// blank). A field
// with no value (never sent, null or blank text) satisfies only neq and
// exists false: "the plan is not trial" is true of a contact without a
// plan. Comparing values of different kinds (a number with a word) is
// false, except that text that spells a number compares as that number.
type Compare struct {
	Field Field
	Op    Op
	Value any
}

// Did holds when the contact did Event (a track event, named without regard
// to case, spaces, '_', '-' and '.') at least AtLeast times (1 when zero),
// counting only the occurrences whose properties satisfy every comparison
// of Where, and, when Within is set, that happened within Within before
// now. "Did not" is Not{Did{...}}.
type Did struct {
	Event   string
	Where   []Compare
	AtLeast int
	Within  time.Duration
}

// Engagement scopes: which emails an Engaged looks at.
const (
	EngagedStep     = "step"     // the email a step sent: of the sequence asking, or of Engaged.Sequence
	EngagedTopic    = "topic"    // any email of a topic
	EngagedTemplate = "template" // any email made from a template
	EngagedAny      = "any"      // any email at all
)

// Engaged holds when a person (never a machine: image proxies, privacy
// protection and link scanners are left out) opened or clicked one of the
// emails Scope and Name choose, within Within before now when it is set.
// An opened condition is also met by a human click: a reader who clicked
// opened the email, even when their client blocked the pixel.
type Engaged struct {
	Kind  HitKind // HitOpen or HitClick
	Scope string  // EngagedStep, EngagedTopic, EngagedTemplate or EngagedAny
	Name  string  // the step id, topic or template name; empty for EngagedAny
	// Sequence names, for EngagedStep, the sequence whose step Name is:
	// the emails of that step in any enrollment, which a campaign segment
	// can ask about. Empty: the step of the sequence asking, in its current
	// enrollment.
	Sequence string
	Within   time.Duration
}

// Subscribed holds when the contact may get email of Topic: they have not
// opted out of it and their address is not suppressed.
type Subscribed struct {
	Topic Topic
}

func (All) isCondition()        {}
func (Any) isCondition()        {}
func (Not) isCondition()        {}
func (Compare) isCondition()    {}
func (Did) isCondition()        {}
func (Engaged) isCondition()    {}
func (Subscribed) isCondition() {}

func (c All) String() string { return joinConditions(c, " and ") }
func (c Any) String() string { return joinConditions(c, " or ") }

func joinConditions(cs []Condition, sep string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = operand(c)
	}
	return strings.Join(parts, sep)
}

// operand writes c as an operand of and, or and not: compound conditions in
// parentheses, so that the text parses back into the same tree.
func operand(c Condition) string {
	switch c.(type) {
	case All, Any:
		return "(" + c.String() + ")"
	}
	return c.String()
}

func (c Not) String() string { return "not " + operand(c.C) }

func (c Compare) String() string {
	if c.Op == OpExists {
		if b, _ := c.Value.(bool); !b {
			return "not " + c.Field.String() + " exists"
		}
		return c.Field.String() + " exists"
	}
	return c.Field.String() + " " + c.Op.symbol() + " " + formatValue(c.Value)
}

func (c Did) String() string {
	var b strings.Builder
	b.WriteString("did ")
	b.WriteString(formatName(c.Event))
	switch len(c.Where) {
	case 0:
	case 1:
		b.WriteString(" where ")
		b.WriteString(c.Where[0].String())
	default:
		b.WriteString(" where (")
		for i, w := range c.Where {
			if i > 0 {
				b.WriteString(" and ")
			}
			b.WriteString(w.String())
		}
		b.WriteString(")")
	}
	if c.AtLeast > 1 {
		b.WriteString(" at least ")
		b.WriteString(strconv.Itoa(c.AtLeast))
		b.WriteString(" times")
	}
	if c.Within > 0 {
		b.WriteString(" within ")
		b.WriteString(FormatDuration(c.Within))
	}
	return b.String()
}

func (c Engaged) String() string {
	s := verbOf(c.Kind) + " " + c.emails()
	if c.Within > 0 {
		s += " within " + FormatDuration(c.Within)
	}
	return s
}

// emails writes which emails c looks at, as the text form does: any
// email, step NAME [in SEQUENCE], topic NAME or template NAME.
func (c Engaged) emails() string {
	if c.Scope == EngagedAny {
		return "any email"
	}
	s := c.Scope + " " + formatName(c.Name)
	if c.Scope == EngagedStep && c.Sequence != "" {
		s += " in " + formatName(c.Sequence)
	}
	return s
}

func (c Subscribed) String() string { return "subscribed to " + formatName(string(c.Topic)) }

// formatValue writes a comparison's value in the text form.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}

// formatName writes an event, step, topic or template name: bare when it
// is a plain word that is not a keyword, quoted otherwise.
func formatName(s string) string {
	if isWord(s) && !keywords[s] {
		return s
	}
	return strconv.Quote(s)
}

// isWord reports whether s can be written without quotes: a letter or '_'
// then letters, digits, '_' and '-'.
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// Walk calls fn for c and every condition inside it, parents first.
func Walk(c Condition, fn func(Condition)) {
	if c == nil {
		return
	}
	fn(c)
	switch c := c.(type) {
	case All:
		for _, x := range c {
			Walk(x, fn)
		}
	case Any:
		for _, x := range c {
			Walk(x, fn)
		}
	case Not:
		Walk(c.C, fn)
	}
}

// ConditionRefs is what a condition reads, so that whoever fills Facts for
// it loads only that, and knows which changes can change its answer.
type ConditionRefs struct {
	// Events are the event keys (EventKey) of the Did conditions, sorted.
	Events []string
	// Traits and Company report whether it reads traits or company fields
	// (an identify call can change its answer).
	Traits, Company bool
	// Engagement reports whether it reads opens and clicks.
	Engagement bool
	// Topics are the topics of its Subscribed conditions, sorted.
	Topics []Topic
	// Steps are the step ids of the sequence asking that its Engaged
	// conditions name, sorted.
	Steps []string
	// Lookback is the longest Within of its Did conditions that have one;
	// EventHistory reports whether one of them counts occurrences (a Where
	// or an AtLeast above 1 without a Within), so needs more than totals.
	Lookback     time.Duration
	EventHistory bool
}

// Refs returns what c reads.
func Refs(c Condition) ConditionRefs {
	var r ConditionRefs
	Walk(c, func(c Condition) {
		switch c := c.(type) {
		case Compare:
			if c.Field.Scope == ScopeCompany {
				r.Company = true
			} else {
				r.Traits = true
			}
		case Did:
			if k := EventKey(c.Event); !slices.Contains(r.Events, k) {
				r.Events = append(r.Events, k)
			}
			r.Lookback = max(r.Lookback, c.Within)
			if c.Within == 0 && (len(c.Where) > 0 || c.AtLeast > 1) {
				r.EventHistory = true
			}
		case Engaged:
			r.Engagement = true
			if c.Scope == EngagedStep && c.Sequence == "" && !slices.Contains(r.Steps, c.Name) {
				r.Steps = append(r.Steps, c.Name)
			}
		case Subscribed:
			if !slices.Contains(r.Topics, c.Topic) {
				r.Topics = append(r.Topics, c.Topic)
			}
		}
	})
	slices.Sort(r.Events)
	slices.Sort(r.Steps)
	slices.Sort(r.Topics)
	return r
}

// EventKey is the form of an event name that conditions compare: lower
// case, without spaces, '_', '-' and '.', so that "Setup Completed",
// setup_completed and setup-completed are one event (the templates' did
// function compares names the same way).
func EventKey(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\t':
			return -1
		}
		return unicode.ToLower(r)
	}, name)
}
