package nurture

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a condition, so that a file or a request cannot make the parser
// or the evaluator work without end.
const (
	// MaxConditionText is the longest text form accepted, in bytes.
	MaxConditionText = 8 << 10
	// MaxConditionDepth is how deeply conditions may nest (and, or, not,
	// parentheses).
	MaxConditionDepth = 32
	// maxAtLeast bounds "at least N times".
	maxAtLeast = 1_000_000
)

// ConditionError is a mistake in a condition: where it is and what is
// wrong. Path leads from the value given to ParseConditionValue to the
// mistake (map keys as strings, list indexes as ints); when the mistake is
// inside a text form, Offset is its byte offset in that text, else -1.
type ConditionError struct {
	Path    []any
	Offset  int
	Message string
}

// Field returns Path written as a field name: and[1].traits.plan.gt.
func (e *ConditionError) Field() string {
	return FormatPath(e.Path)
}

func (e *ConditionError) Error() string {
	msg := e.Message
	if e.Offset >= 0 {
		msg = fmt.Sprintf("%s (at character %d)", msg, e.Offset+1)
	}
	if f := e.Field(); f != "" {
		return f + ": " + msg
	}
	return msg
}

// Unwrap returns the domain error it stands for: invalid input, about
// Field.
func (e *ConditionError) Unwrap() error {
	return &Error{Code: CodeInvalid, Field: e.Field(), Message: e.Message}
}

// FormatPath writes a path of map keys (strings) and list indexes (ints)
// as a field name: steps[3].branch.if.
func FormatPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

// keywords are the words of the text form that cannot be bare names.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "did": true, "where": true, "at": true, "least": true,
	"times": true, "time": true, "within": true, "opened": true, "clicked": true, "subscribed": true,
	"to": true, "in": true, "contains": true, "exists": true, "true": true, "false": true, "null": true,
}

// ParseCondition parses the text form of a condition:
//
//	condition  = or
//	or         = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | "(" condition ")" | compare | did | engaged | subscribed
//	compare    = field ( op value | "in" list | "contains" ( value | list ) | "exists" )
//	field      = ("traits" | "company") "." name { "." name }
//	op         = "==" | "!=" | ">" | ">=" | "<" | "<="
//	value      = "text" | number | true | false
//	list       = "[" value { "," value } "]"
//	did        = "did" name [ "where" ( prop | "(" prop { "and" prop } ")" ) ]
//	             [ "at" "least" N "times" ] [ "within" duration ]
//	prop       = name { "." name } ( op value | "in" list | "contains" ( value | list ) | "exists" )
//	engaged    = ( "opened" | "clicked" ) emails [ "within" duration ]
//	emails     = "step" name [ "in" name ] | "topic" name | "template" name | "any" "email"
//	subscribed = "subscribed" [ "to" ] topic
//
// A name is a word (letters, digits, '_' and '-', not starting with a
// digit) or text in double quotes; durations are written as 30m, 36h, 2d,
// 1w or 1d12h. Text uses Go's double-quoted syntax. For example:
//
//	traits.plan == "trial" and not did demo_booked
//	company.size >= 20 or traits.role contains "founder"
//	did report_created where format == "pdf" at least 3 times within 30d
//	clicked step welcome within 7d and subscribed to education
func ParseCondition(text string) (Condition, error) {
	if len(text) > MaxConditionText {
		return nil, &ConditionError{Offset: -1, Message: fmt.Sprintf("is longer than %d bytes", MaxConditionText)}
	}
	p := &condParser{src: text}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == tokEOF {
		return nil, p.errAt(p.peek(), "is empty: want a condition such as traits.plan == \"trial\"")
	}
	c, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, fmt.Sprintf("unexpected %s after a complete condition: join conditions with and or or", t.describe()))
	}
	return c, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokNumber
	tokDuration
	tokOp     // == != > >= < <=
	tokPunct  // ( ) [ ] , .
	tokSymbol // anything else, kept to be reported
)

type token struct {
	kind tokKind
	text string // as written (the unquoted value for strings)
	num  float64
	dur  time.Duration
	off  int
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of the condition"
	case tokString:
		return strconv.Quote(t.text)
	}
	return "\"" + t.text + "\""
}

func (t token) is(word string) bool { return t.kind == tokWord && t.text == word }

type condParser struct {
	src  string
	toks []token
	pos  int
}

func (p *condParser) errAt(t token, msg string) error {
	return &ConditionError{Offset: t.off, Message: msg}
}

func (p *condParser) peek() token { return p.toks[p.pos] }

func (p *condParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func isWordStart(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isWordPart(r rune) bool {
	return isWordStart(r) || r == '-' || r >= '0' && r <= '9'
}

// lex splits the text into tokens.
func (p *condParser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return &ConditionError{Offset: i, Message: "text has no closing \""}
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return &ConditionError{Offset: i, Message: fmt.Sprintf("%s is not valid text in double quotes", s[i:j+1])}
			}
			p.toks = append(p.toks, token{kind: tokString, text: v, off: i})
			i = j + 1
		case isDigit(c) || (c == '-' || c == '+' || c == '.') && i+1 < len(s) && (isDigit(s[i+1]) || s[i+1] == '.'):
			t, n, err := lexNumber(s, i)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, t)
			i = n
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			switch op {
			case "=":
				return &ConditionError{Offset: i, Message: "a single = does not compare: write =="}
			case "!":
				return &ConditionError{Offset: i, Message: "! is not an operator: write != to compare, or not before a condition"}
			}
			p.toks = append(p.toks, token{kind: tokOp, text: op, off: i})
			i += len(op)
		case strings.IndexByte("()[],.", c) >= 0:
			p.toks = append(p.toks, token{kind: tokPunct, text: string(c), off: i})
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !isWordStart(r) {
				if r == utf8.RuneError && size == 1 {
					return &ConditionError{Offset: i, Message: "is not valid UTF-8"}
				}
				return &ConditionError{Offset: i, Message: fmt.Sprintf("unexpected %q", r)}
			}
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !isWordPart(r) {
					break
				}
				j += size
			}
			p.toks = append(p.toks, token{kind: tokWord, text: s[i:j], off: i})
			i = j
		}
	}
	p.toks = append(p.toks, token{kind: tokEOF, off: len(s)})
	return nil
}

// lexNumber reads a number, or a duration (digits followed by units), at i.
func lexNumber(s string, i int) (token, int, error) {
	j := i
	if s[j] == '-' || s[j] == '+' {
		j++
	}
	plain := j == i // no sign, no fraction, no exponent: may be a duration
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '.' {
		plain = false
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j+1 < len(s) && (s[j] == 'e' || s[j] == 'E') && (isDigit(s[j+1]) || (s[j+1] == '-' || s[j+1] == '+') && j+2 < len(s) && isDigit(s[j+2])) {
		plain = false
		j += 2
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (isWordStart(rune(s[j]))) {
		k := j
		for k < len(s) && (isWordStart(rune(s[k])) || isDigit(s[k])) {
			k++
		}
		if !plain {
			return token{}, 0, &ConditionError{Offset: i, Message: fmt.Sprintf("%q is neither a number nor a duration such as 7d", s[i:k])}
		}
		d, err := ParseDuration(s[i:k])
		if err != nil {
			return token{}, 0, &ConditionError{Offset: i, Message: err.Error()}
		}
		return token{kind: tokDuration, text: s[i:k], dur: d, off: i}, k, nil
	}
	f, err := strconv.ParseFloat(s[i:j], 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, 0, &ConditionError{Offset: i, Message: fmt.Sprintf("%q is not a number", s[i:j])}
	}
	return token{kind: tokNumber, text: s[i:j], num: f, off: i}, j, nil
}

func (p *condParser) parseOr(depth int) (Condition, error) {
	first, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	list := Any{first}
	for p.peek().is("or") {
		p.next()
		c, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if len(list) == 1 {
		return first, nil
	}
	return list, nil
}

func (p *condParser) parseAnd(depth int) (Condition, error) {
	first, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	list := All{first}
	for p.peek().is("and") {
		p.next()
		c, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if len(list) == 1 {
		return first, nil
	}
	return list, nil
}

const wantCondition = "want a condition: traits.NAME, company.NAME, did, opened, clicked, subscribed, not or ("

func (p *condParser) parseUnary(depth int) (Condition, error) {
	if depth >= MaxConditionDepth {
		return nil, p.errAt(p.peek(), fmt.Sprintf("nests deeper than %d levels", MaxConditionDepth))
	}
	t := p.peek()
	switch {
	case t.is("not"):
		p.next()
		c, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return Not{c}, nil
	case t.kind == tokPunct && t.text == "(":
		p.next()
		c, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if closing := p.next(); closing.kind != tokPunct || closing.text != ")" {
			return nil, p.errAt(closing, fmt.Sprintf("want ) to close the ( at character %d, not %s", t.off+1, closing.describe()))
		}
		return c, nil
	case t.is("did"):
		p.next()
		return p.parseDid()
	case t.is("opened"), t.is("clicked"):
		p.next()
		return p.parseEngaged(t)
	case t.is("subscribed"):
		p.next()
		return p.parseSubscribed()
	case t.is(ScopeTraits), t.is(ScopeCompany):
		p.next()
		f, err := p.parseFieldPath(Field{Scope: t.text}, true)
		if err != nil {
			return nil, err
		}
		return p.parseComparison(f, t)
	case t.kind == tokEOF:
		return nil, p.errAt(t, "ends too early: "+wantCondition)
	case t.kind == tokWord && !keywords[t.text]:
		return nil, p.errAt(t, fmt.Sprintf("unknown field %q: %s (custom traits are traits.%s)", t.text, wantCondition, t.text))
	}
	return nil, p.errAt(t, fmt.Sprintf("unexpected %s: %s", t.describe(), wantCondition))
}

// parseFieldPath reads ".name.name..." after a scope (needDot) or a whole
// property path.
func (p *condParser) parseFieldPath(f Field, needDot bool) (Field, error) {
	for {
		if needDot {
			if t := p.peek(); t.kind != tokPunct || t.text != "." {
				if len(f.Path) == 0 {
					return f, p.errAt(t, fmt.Sprintf("want .NAME after %s, as in %s.plan", f.Scope, f.Scope))
				}
				return f, nil
			}
			p.next()
		}
		needDot = true
		t := p.next()
		if (t.kind != tokWord && t.kind != tokString) || t.text == "" {
			return f, p.errAt(t, fmt.Sprintf("want a name, not %s", t.describe()))
		}
		f.Path = append(f.Path, t.text)
	}
}

func (p *condParser) parseComparison(f Field, start token) (Condition, error) {
	t := p.next()
	var op Op
	switch {
	case t.kind == tokOp:
		for _, x := range ops {
			if x.symbol == t.text {
				op = x.op
			}
		}
	case t.is("in"):
		op = OpIn
	case t.is("contains"):
		op = OpContains
	case t.is("exists"):
		return Compare{Field: f, Op: OpExists, Value: true}, nil
	default:
		return nil, p.errAt(t, fmt.Sprintf("want an operator after %s (==, !=, >, >=, <, <=, in, contains or exists), not %s", f, t.describe()))
	}
	vt := p.peek()
	// contains takes a value, or a list of values of which one must be in.
	list := op == OpIn || op == OpContains && vt.kind == tokPunct && vt.text == "["
	v, err := p.parseValue(list)
	if err != nil {
		return nil, err
	}
	if err := checkOperand(op, v); err != nil {
		return nil, p.errAt(vt, err.Error())
	}
	return Compare{Field: f, Op: op, Value: v}, nil
}

// parseValue reads a value: a list when list is set, else a scalar.
func (p *condParser) parseValue(list bool) (any, error) {
	t := p.next()
	if list {
		if t.kind != tokPunct || t.text != "[" {
			return nil, p.errAt(t, fmt.Sprintf("want a list such as [\"a\", \"b\"] after in, not %s", t.describe()))
		}
		var out []any
		for {
			v, err := p.parseValue(false)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			sep := p.next()
			if sep.kind == tokPunct && sep.text == "]" {
				return out, nil
			}
			if sep.kind != tokPunct || sep.text != "," {
				return nil, p.errAt(sep, fmt.Sprintf("want , or ] in the list, not %s", sep.describe()))
			}
		}
	}
	switch {
	case t.kind == tokString:
		return t.text, nil
	case t.kind == tokNumber:
		return t.num, nil
	case t.is("true"):
		return true, nil
	case t.is("false"):
		return false, nil
	case t.kind == tokWord:
		return nil, p.errAt(t, fmt.Sprintf("want a value: text goes in double quotes (\"%s\")", t.text))
	}
	return nil, p.errAt(t, fmt.Sprintf("want a value such as \"trial\", 20 or true, not %s", t.describe()))
}

// checkOperand says what is wrong with v as the operand of op, if anything.
func checkOperand(op Op, v any) error {
	switch op {
	case OpGt, OpGte, OpLt, OpLte:
		switch v := v.(type) {
		case float64:
			return nil
		case string:
			if _, ok := parseTimeValue(v); ok {
				return nil
			}
		}
		return fmt.Errorf("%s compares numbers and dates: want a number or a date such as \"2025-01-31\", not %s", op.symbol(), formatValue(v))
	case OpIn, OpContains:
		list, ok := v.([]any)
		if !ok && op == OpContains {
			return checkScalar(v)
		}
		if !ok || len(list) == 0 {
			return fmt.Errorf("%s wants a list of values such as [\"a\", \"b\"]", op.symbol())
		}
		for _, e := range list {
			if err := checkScalar(e); err != nil {
				return err
			}
		}
		return nil
	case OpExists:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("exists wants true or false")
		}
		return nil
	}
	return checkScalar(v)
}

func checkScalar(v any) error {
	switch v := v.(type) {
	case string, bool:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("want a finite number")
		}
		return nil
	case nil:
		return fmt.Errorf("null is not a value to compare with: to ask for a missing value, use exists")
	}
	return fmt.Errorf("want text, a number or true/false, not a list or a map")
}

func (p *condParser) parseName(what string) (string, token, error) {
	t := p.next()
	if t.kind == tokString && t.text != "" {
		return t.text, t, nil
	}
	if t.kind != tokWord || keywords[t.text] {
		return "", t, p.errAt(t, fmt.Sprintf("want %s, not %s", what, t.describe()))
	}
	name := t.text
	// Dotted event names (order.completed) are common; take them whole.
	for p.peek().kind == tokPunct && p.peek().text == "." && p.toks[p.pos+1].kind == tokWord {
		p.next()
		name += "." + p.next().text
	}
	return name, t, nil
}

func (p *condParser) parseDid() (Condition, error) {
	name, _, err := p.parseName("the name of an event, such as did signed_up")
	if err != nil {
		return nil, err
	}
	d := Did{Event: name, AtLeast: 1}
	seen := map[string]bool{}
	for {
		t := p.peek()
		if t.kind != tokWord || t.text != "where" && t.text != "at" && t.text != "within" {
			return d, nil
		}
		if seen[t.text] {
			return nil, p.errAt(t, fmt.Sprintf("%s is given twice", t.text))
		}
		seen[t.text] = true
		p.next()
		switch t.text {
		case "where":
			if d.Where, err = p.parseWhere(); err != nil {
				return nil, err
			}
		case "at":
			if l := p.next(); !l.is("least") {
				return nil, p.errAt(l, "want at least N times")
			}
			n := p.next()
			if n.kind != tokNumber || n.num != math.Trunc(n.num) || n.num < 1 || n.num > maxAtLeast {
				return nil, p.errAt(n, fmt.Sprintf("want a whole number from 1 to %d after at least", maxAtLeast))
			}
			if u := p.next(); !u.is("times") && !u.is("time") {
				return nil, p.errAt(u, fmt.Sprintf("want times after at least %s", n.text))
			}
			d.AtLeast = int(n.num)
		case "within":
			w := p.next()
			if w.kind != tokDuration {
				return nil, p.errAt(w, fmt.Sprintf("want a duration such as 7d or 36h after within, not %s", w.describe()))
			}
			d.Within = w.dur
		}
	}
}

func (p *condParser) parseWhere() ([]Compare, error) {
	one := func() (Compare, error) {
		t := p.peek()
		f, err := p.parseFieldPath(Field{Scope: ScopeProperties}, false)
		if err != nil {
			return Compare{}, err
		}
		c, err := p.parseComparison(f, t)
		if err != nil {
			return Compare{}, err
		}
		return c.(Compare), nil
	}
	open := p.peek()
	if open.kind != tokPunct || open.text != "(" {
		c, err := one()
		return []Compare{c}, err
	}
	p.next()
	var out []Compare
	for {
		c, err := one()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		t := p.next()
		if t.kind == tokPunct && t.text == ")" {
			return out, nil
		}
		if !t.is("and") {
			return nil, p.errAt(t, fmt.Sprintf("want and or ) between the conditions on properties, not %s (or is not supported there)", t.describe()))
		}
	}
}

func (p *condParser) parseEngaged(verb token) (Condition, error) {
	kind := HitOpen
	if verb.text == "clicked" {
		kind = HitClick
	}
	s := p.next()
	var e Engaged
	switch {
	case s.is(EngagedAny):
		if t := p.next(); !t.is("email") {
			return nil, p.errAt(t, fmt.Sprintf("want email after any, as in %s any email, not %s", verb.text, t.describe()))
		}
		e = Engaged{Kind: kind, Scope: EngagedAny}
	case s.is(EngagedStep), s.is(EngagedTopic), s.is(EngagedTemplate):
		name, nt, err := p.parseName("a " + s.text + " name")
		if err != nil {
			return nil, err
		}
		if s.text == EngagedTopic && !Topic(name).Valid() {
			return nil, p.errAt(nt, fmt.Sprintf("unknown topic %q: want onboarding, education, product, marketing or transactional", name))
		}
		e = Engaged{Kind: kind, Scope: s.text, Name: name}
		if s.text == EngagedStep && p.peek().is("in") {
			p.next()
			if e.Sequence, _, err = p.parseName("a sequence id after in, as in " + verb.text + " step welcome in onboarding"); err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.errAt(s, fmt.Sprintf("want step, topic or template (or any email) after %s, as in %s step welcome", verb.text, verb.text))
	}
	if p.peek().is("within") {
		p.next()
		w := p.next()
		if w.kind != tokDuration {
			return nil, p.errAt(w, fmt.Sprintf("want a duration such as 7d after within, not %s", w.describe()))
		}
		e.Within = w.dur
	}
	return e, nil
}

func (p *condParser) parseSubscribed() (Condition, error) {
	if p.peek().is("to") {
		p.next()
	}
	name, t, err := p.parseName("a topic, as in subscribed to education")
	if err != nil {
		return nil, err
	}
	if !Topic(name).Valid() {
		return nil, p.errAt(t, fmt.Sprintf("unknown topic %q: want onboarding, education, product, marketing or transactional", name))
	}
	return Subscribed{Topic: Topic(name)}, nil
}
