package nurture

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ParseConditionValue parses a condition as YAML or JSON decoders give it:
// text (the text form, see ParseCondition), or a map:
//
//	and: [COND, ...]            every one holds (also all:)
//	or: [COND, ...]             at least one holds (also any:)
//	not: COND                   COND does not hold
//	traits.NAME: VALUE          the trait equals VALUE; a list: is one of them
//	traits.NAME: {OP: VALUE}    OP is eq, neq, in, contains, gt, gte, lt, lte or exists;
//	                            several operators must all hold
//	company.NAME: ...           the same for a company field
//	did: EVENT                  did EVENT at least once
//	did: {event: EVENT, where: {PROPERTY: VALUE or {OP: VALUE}}, at_least: N, within: 7d}
//	opened: STEP                a person opened the email of this sequence's STEP
//	opened: {step: STEP, within: 7d}, {topic: TOPIC}, {template: NAME}, {any: true}
//	opened: {step: STEP, sequence: SEQUENCE}   the email of a step of another sequence
//	clicked: ...                the same for clicks
//	subscribed: TOPIC           the contact may get email of TOPIC
//
// A map with several keys holds when each of them does. Maps are unordered,
// so their keys are taken in sorted order. Errors are *ConditionError,
// whose Path leads to the mistake within v.
func ParseConditionValue(v any) (Condition, error) {
	c, err := parseValueAt(v, nil, 0)
	if err != nil {
		return nil, err
	}
	// Its text form is what logs, answers and a round trip show: a
	// condition whose text ParseCondition would refuse is refused here
	// too (names of invalid UTF-8 grow as they are escaped).
	if c != nil && len(c.String()) > MaxConditionText {
		return nil, valueErr(nil, "is longer than %d bytes once written as text", MaxConditionText)
	}
	return c, nil
}

// ParseWhere parses conditions on an event's properties, as a map of
// property names to a value or to {OP: VALUE}, in the form Did.Where takes
// (the where of ParseConditionValue's did).
func ParseWhere(v any) ([]Compare, error) {
	return parseWhereAt(v, nil)
}

// at returns a copy of path with elem added: paths are kept by errors.
func at(path []any, elem any) []any {
	return append(slices.Clip(path), elem)
}

func valueErr(path []any, format string, args ...any) error {
	return &ConditionError{Path: slices.Clone(path), Offset: -1, Message: fmt.Sprintf(format, args...)}
}

func parseValueAt(v any, path []any, depth int) (Condition, error) {
	if depth >= MaxConditionDepth {
		return nil, valueErr(path, "nests deeper than %d levels", MaxConditionDepth)
	}
	switch v := v.(type) {
	case string:
		c, err := ParseCondition(v)
		if err != nil {
			var ce *ConditionError
			if errors.As(err, &ce) {
				ce.Path = slices.Clone(path)
			}
			return nil, err
		}
		return c, nil
	case map[string]any:
		if len(v) == 0 {
			return nil, valueErr(path, "is empty: %s", wantConditionMap)
		}
		keys := sortedKeys(v)
		if len(keys) == 1 {
			return parseEntry(keys[0], v[keys[0]], path, depth)
		}
		all := make(All, 0, len(keys))
		for _, k := range keys {
			c, err := parseEntry(k, v[k], path, depth)
			if err != nil {
				return nil, err
			}
			all = append(all, c)
		}
		return all, nil
	case nil:
		return nil, valueErr(path, "is empty: %s", wantConditionMap)
	case []any:
		return nil, valueErr(path, "is a list: join conditions with and: [...] or or: [...]")
	}
	return nil, valueErr(path, "is %s: %s", describeValue(v), wantConditionMap)
}

const wantConditionMap = "want a condition, as text (traits.plan == \"trial\") or a map with and, or, not, did, opened, clicked, subscribed, traits.NAME or company.NAME"

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func parseEntry(key string, v any, path []any, depth int) (Condition, error) {
	here := at(path, key)
	switch key {
	case "and", "all", "or", "any":
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return nil, valueErr(here, "wants a list of at least one condition")
		}
		out := make([]Condition, len(list))
		for i, e := range list {
			c, err := parseValueAt(e, at(here, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		if len(out) == 1 {
			return out[0], nil
		}
		if key == "and" || key == "all" {
			return All(out), nil
		}
		return Any(out), nil
	case "not":
		c, err := parseValueAt(v, here, depth+1)
		if err != nil {
			return nil, err
		}
		return Not{c}, nil
	case "did":
		return parseDidValue(v, here)
	case "opened", "clicked":
		return parseEngagedValue(key, v, here)
	case "subscribed":
		s, ok := v.(string)
		if !ok || !Topic(s).Valid() {
			return nil, valueErr(here, "wants a topic: onboarding, education, product, marketing or transactional")
		}
		return Subscribed{Topic: Topic(s)}, nil
	}
	scope, rest, _ := strings.Cut(key, ".")
	if scope != ScopeTraits && scope != ScopeCompany {
		if strings.Contains(key, " ") {
			return nil, valueErr(here, "is not a condition key; to write a condition as text, make it the value, not a key")
		}
		return nil, valueErr(here, "unknown condition %q: %s", key, wantConditionMap)
	}
	f, err := splitField(scope, rest, here)
	if err != nil {
		return nil, err
	}
	return parseCompares(f, v, here)
}

// splitField reads "plan" or "address.city" as the path of a field.
func splitField(scope, rest string, path []any) (Field, error) {
	if rest == "" {
		return Field{}, valueErr(path, "names no field: write %s.NAME, as in %s.plan", scope, scope)
	}
	parts := strings.Split(rest, ".")
	for _, p := range parts {
		if p == "" {
			return Field{}, valueErr(path, "has an empty name between dots")
		}
		if strings.ContainsAny(p, "=<>!\"()") {
			return Field{}, valueErr(path, "is not a field name; to write a condition as text, make it the value, not a key")
		}
	}
	return Field{Scope: scope, Path: parts}, nil
}

// parseCompares reads what a field is compared with: a value (eq), a list
// (in), or a map of operators.
func parseCompares(f Field, v any, path []any) (Condition, error) {
	list, err := comparesOf(f, v, path)
	if err != nil {
		return nil, err
	}
	if len(list) == 1 {
		return wrapExists(list[0]), nil
	}
	all := make(All, len(list))
	for i, c := range list {
		all[i] = wrapExists(c)
	}
	return all, nil
}

// wrapExists writes "exists: false" as not exists, the one form the text
// has for it, so that a tree prints and parses back the same.
func wrapExists(c Compare) Condition {
	if b, ok := c.Value.(bool); ok && c.Op == OpExists && !b {
		c.Value = true
		return Not{c}
	}
	return c
}

func comparesOf(f Field, v any, path []any) ([]Compare, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil, valueErr(path, "wants a value or operators such as {gte: 20}")
		}
		var out []Compare
		// Operators in their documented order, so that the tree does not
		// depend on the order of a map.
		for _, o := range ops {
			ov, ok := x[string(o.op)]
			if !ok {
				continue
			}
			val, err := operandValue(o.op, ov, at(path, string(o.op)))
			if err != nil {
				return nil, err
			}
			out = append(out, Compare{Field: f, Op: o.op, Value: val})
		}
		for _, k := range sortedKeys(x) {
			if !knownOp(k) {
				return nil, valueErr(at(path, k), "unknown operator %q: want one of %s", k, opNames())
			}
		}
		return out, nil
	case []any:
		val, err := operandValue(OpIn, x, path)
		if err != nil {
			return nil, err
		}
		return []Compare{{Field: f, Op: OpIn, Value: val}}, nil
	}
	val, err := operandValue(OpEq, v, path)
	if err != nil {
		return nil, err
	}
	return []Compare{{Field: f, Op: OpEq, Value: val}}, nil
}

// operandValue converts a decoded value to the form Compare holds and
// checks that it suits op.
func operandValue(op Op, v any, path []any) (any, error) {
	val, err := plainValue(v, op == OpIn || op == OpContains, path)
	if err != nil {
		return nil, err
	}
	if err := checkOperand(op, val); err != nil {
		return nil, valueErr(path, "%s", err.Error())
	}
	return val, nil
}

// plainValue turns the numbers of any decoder into float64, and lists into
// []any of plain values.
func plainValue(v any, list bool, path []any) (any, error) {
	switch x := v.(type) {
	case string, bool, nil:
		return x, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, valueErr(path, "%s is not a number", x)
		}
		return f, nil
	case []any:
		if !list {
			return nil, valueErr(path, "is a list: only in and contains take a list")
		}
		out := make([]any, len(x))
		for i, e := range x {
			pv, err := plainValue(e, false, at(path, i))
			if err != nil {
				return nil, err
			}
			if err := checkScalar(pv); err != nil {
				return nil, valueErr(at(path, i), "%s", err.Error())
			}
			out[i] = pv
		}
		return out, nil
	}
	return nil, valueErr(path, "is %s: want text, a number or true/false", describeValue(v))
}

func describeValue(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case string:
		return "text"
	case bool:
		return "true/false"
	case nil:
		return "empty"
	}
	return "a number"
}

func parseWhereAt(v any, path []any) ([]Compare, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, valueErr(path, "wants a map of property names to values, such as {plan: pro, seats: {gt: 3}}")
	}
	var out []Compare
	for _, k := range sortedKeys(m) {
		here := at(path, k)
		f, err := splitField(ScopeProperties, k, here)
		if err != nil {
			return nil, err
		}
		list, err := comparesOf(f, m[k], here)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if b, ok := c.Value.(bool); ok && c.Op == OpExists && !b {
				return nil, valueErr(at(here, "exists"), "exists: false is not supported on properties")
			}
		}
		out = append(out, list...)
	}
	return out, nil
}

func parseDidValue(v any, path []any) (Condition, error) {
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, valueErr(path, "wants the name of an event")
		}
		return Did{Event: s, AtLeast: 1}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, valueErr(path, "wants an event name or {event: NAME, where: ..., at_least: N, within: 7d}")
	}
	d := Did{AtLeast: 1}
	for _, k := range sortedKeys(m) {
		here := at(path, k)
		switch k {
		case "event":
			s, ok := m[k].(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, valueErr(here, "wants the name of an event")
			}
			d.Event = s
		case "where":
			w, err := parseWhereAt(m[k], here)
			if err != nil {
				return nil, err
			}
			d.Where = w
		case "at_least":
			n, err := plainValue(m[k], false, here)
			f, ok := n.(float64)
			if err != nil || !ok || f != math.Trunc(f) || f < 1 || f > maxAtLeast {
				return nil, valueErr(here, "wants a whole number from 1 to %d", maxAtLeast)
			}
			d.AtLeast = int(f)
		case "within":
			dur, err := durationValue(m[k], here)
			if err != nil {
				return nil, err
			}
			d.Within = dur
		default:
			return nil, valueErr(here, "unknown key %q of did: want event, where, at_least or within", k)
		}
	}
	if d.Event == "" {
		return nil, valueErr(at(path, "event"), "is required: the name of the event")
	}
	return d, nil
}

func durationValue(v any, path []any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, valueErr(path, "wants a duration such as 7d, 36h or 90m")
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, valueErr(path, "%s", err.Error())
	}
	return d, nil
}

func parseEngagedValue(verb string, v any, path []any) (Condition, error) {
	e := Engaged{Kind: HitOpen}
	if verb == "clicked" {
		e.Kind = HitClick
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return nil, valueErr(path, "wants the id of a step of this sequence")
		}
		e.Scope, e.Name = EngagedStep, s
		return e, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, valueErr(path, "wants a step id, or {step: ID}, {topic: TOPIC}, {template: NAME} or {any: true}, with an optional within: 7d")
	}
	for _, k := range sortedKeys(m) {
		here := at(path, k)
		switch k {
		case EngagedStep, EngagedTopic, EngagedTemplate, EngagedAny:
			if e.Scope != "" {
				return nil, valueErr(here, "%s and %s are both given: choose one", e.Scope, k)
			}
			if k == EngagedAny {
				if b, ok := m[k].(bool); !ok || !b {
					return nil, valueErr(here, "wants true: any email")
				}
				e.Scope = k
				continue
			}
			s, ok := m[k].(string)
			if !ok || s == "" {
				return nil, valueErr(here, "wants a name")
			}
			if k == EngagedTopic && !Topic(s).Valid() {
				return nil, valueErr(here, "unknown topic %q: want onboarding, education, product, marketing or transactional", s)
			}
			e.Scope, e.Name = k, s
		case "sequence":
			s, ok := m[k].(string)
			if !ok || s == "" {
				return nil, valueErr(here, "wants the id of a sequence")
			}
			e.Sequence = s
		case "within":
			dur, err := durationValue(m[k], here)
			if err != nil {
				return nil, err
			}
			e.Within = dur
		default:
			return nil, valueErr(here, "unknown key %q of %s: want step, sequence, topic, template, any or within", k, verb)
		}
	}
	if e.Scope == "" {
		return nil, valueErr(path, "names no email: give step, topic, template or any")
	}
	if e.Sequence != "" && e.Scope != EngagedStep {
		return nil, valueErr(at(path, "sequence"), "names the sequence of a step: give step too, not %s", e.Scope)
	}
	return e, nil
}
