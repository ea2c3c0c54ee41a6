package sequence

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/nurture-email/nurture"
)

// Error is one mistake in a sequence file: where it is, the field it
// concerns as a path from the top of the file (steps[2].branch.if), and
// what is wrong.
type Error struct {
	File    string
	Line    int // 1-based; 0 when the mistake is about the whole file
	Column  int
	Field   string
	Message string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Field != "" {
		return loc + ": " + e.Field + ": " + e.Message
	}
	return loc + ": " + e.Message
}

// Unwrap returns the domain error it stands for: invalid input about
// Field.
func (e *Error) Unwrap() error {
	return &nurture.Error{Code: nurture.CodeInvalid, Field: e.Field, Message: e.Message}
}

// Errors is every mistake found, sorted by file and position.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the mistakes, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// maxValueDepth bounds how deeply values may nest in a file.
const maxValueDepth = 64

// reader turns YAML nodes into values, recording every mistake with its
// position.
type reader struct {
	file string
	errs Errors
}

func position(n ast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && m.Values[0].Key != nil && !m.IsFlowStyle {
			return position(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return position(m.Key)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (r *reader) failAt(line, col int, path []any, format string, args ...any) {
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Column: col, Field: nurture.FormatPath(path), Message: fmt.Sprintf(format, args...)})
}

func (r *reader) fail(n ast.Node, path []any, format string, args ...any) {
	line, col := position(n)
	r.failAt(line, col, path, format, args...)
}

// yamlError records an error of the YAML parser at its position.
func (r *reader) yamlError(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line, col := 0, 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
		r.failAt(line, col, nil, "%s", ye.GetMessage())
		return
	}
	r.failAt(0, 0, nil, "%v", err)
}

// unwrap returns the node a value stands for; anchors, aliases, tags and
// merge keys are refused, so that what a reviewer reads is what runs (and
// no alias can multiply a file's size).
func (r *reader) unwrap(n ast.Node, path []any) (ast.Node, bool) {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		r.fail(n, path, "anchors and aliases (& and *) are not supported: write the value out")
		return nil, false
	case *ast.TagNode:
		r.fail(n, path, "tags (!!) are not supported")
		return nil, false
	case *ast.MergeKeyNode:
		r.fail(n, path, "merge keys (<<) are not supported")
		return nil, false
	}
	return n, true
}

// entry is one key of a map, with its nodes.
type entry struct {
	key   string
	keyN  ast.Node
	value ast.Node
}

// mapping is a map of a file, its keys checked against what is allowed.
type mapping struct {
	node ast.Node
	path []any
	keys []entry
}

func (m *mapping) get(key string) (ast.Node, bool) {
	for _, e := range m.keys {
		if e.key == key {
			return e.value, true
		}
	}
	return nil, false
}

func (m *mapping) has(key string) bool {
	_, ok := m.get(key)
	return ok
}

// entries returns the keys of a map node in file order.
func (r *reader) entries(n ast.Node, path []any) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	out := make([]entry, 0, len(values))
	for _, v := range values {
		k, ok := r.unwrap(v.Key, path)
		if !ok {
			continue
		}
		var key string
		switch k := k.(type) {
		case *ast.StringNode:
			key = k.Value
		case ast.ScalarNode:
			key = k.GetToken().Value
		default:
			r.fail(k, path, "a key must be a plain name")
			continue
		}
		out = append(out, entry{key: key, keyN: k, value: v.Value})
	}
	return out, true
}

// mapping reads a map whose keys must be among allowed; what it is for the
// error messages is want.
func (r *reader) mapping(n ast.Node, path []any, want string, allowed ...string) *mapping {
	n, ok := r.unwrap(n, path)
	if !ok {
		return nil
	}
	es, ok := r.entries(n, path)
	if !ok {
		r.fail(n, path, "want %s, not %s", want, describe(n))
		return nil
	}
	m := &mapping{node: n, path: path}
	for _, e := range es {
		if !slices.Contains(allowed, e.key) {
			msg := fmt.Sprintf("unknown key %q", e.key)
			if s := suggest(e.key, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += ": want " + orList(allowed)
			}
			r.fail(e.keyN, path, "%s", msg)
			continue
		}
		m.keys = append(m.keys, e)
	}
	return m
}

// required returns the value of key, reporting it missing otherwise.
func (r *reader) required(m *mapping, key, what string) (ast.Node, bool) {
	v, ok := m.get(key)
	if !ok {
		r.fail(m.node, at(m.path, key), "is required: %s", what)
	}
	return v, ok
}

func describe(n ast.Node) string {
	switch n := n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a map"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return fmt.Sprintf("%q", n.Value)
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.BoolNode:
		return "true/false"
	}
	return "the number " + n.GetToken().Value
}

// text reads a scalar as text. Names that YAML would read as numbers or
// booleans (an id of 2024, a day called no) must be quoted.
func (r *reader) text(n ast.Node, path []any, what string) (string, bool) {
	n, ok := r.unwrap(n, path)
	if !ok {
		return "", false
	}
	switch n := n.(type) {
	case *ast.StringNode:
		if strings.TrimSpace(n.Value) == "" {
			r.fail(n, path, "is empty: want %s", what)
			return "", false
		}
		return n.Value, true
	case *ast.LiteralNode:
		return strings.TrimRight(n.Value.Value, "\n"), true
	case nil, *ast.NullNode:
		r.fail(n, path, "is empty: want %s", what)
		return "", false
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		r.fail(n, path, "want %s, not %s: put it in quotes if it is meant as text", what, describe(n))
		return "", false
	}
	r.fail(n, path, "want %s, not %s", what, describe(n))
	return "", false
}

// list reads a sequence node; a single value stands for a list of one when
// single is set.
func (r *reader) list(n ast.Node, path []any, what string, single bool) ([]ast.Node, bool) {
	n, ok := r.unwrap(n, path)
	if !ok {
		return nil, false
	}
	if s, ok := n.(*ast.SequenceNode); ok {
		return s.Values, true
	}
	if single && n != nil {
		if _, null := n.(*ast.NullNode); !null {
			return []ast.Node{n}, true
		}
	}
	r.fail(n, path, "want %s, not %s", what, describe(n))
	return nil, false
}

func (r *reader) boolean(n ast.Node, path []any) (bool, bool) {
	n, ok := r.unwrap(n, path)
	if !ok {
		return false, false
	}
	if b, ok := n.(*ast.BoolNode); ok {
		return b.Value, true
	}
	r.fail(n, path, "want true or false, not %s", describe(n))
	return false, false
}

// plain converts a node into the values JSON decoders give (maps, lists,
// text, float64, bool, nil), for the domain's condition parser.
func (r *reader) plain(n ast.Node, path []any, depth int) (any, bool) {
	if depth > maxValueDepth {
		r.fail(n, path, "nests deeper than %d levels", maxValueDepth)
		return nil, false
	}
	n, ok := r.unwrap(n, path)
	if !ok {
		return nil, false
	}
	switch n := n.(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return n.Value.Value, true
	case *ast.BoolNode:
		return n.Value, true
	case *ast.IntegerNode:
		switch v := n.Value.(type) {
		case int64:
			return float64(v), true
		case uint64:
			return float64(v), true
		}
	case *ast.FloatNode:
		if !math.IsNaN(n.Value) && !math.IsInf(n.Value, 0) {
			return n.Value, true
		}
	case *ast.SequenceNode:
		out := make([]any, 0, len(n.Values))
		for i, v := range n.Values {
			pv, ok := r.plain(v, at(path, i), depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, pv)
		}
		return out, true
	case *ast.MappingNode, *ast.MappingValueNode:
		es, _ := r.entries(n, path)
		out := make(map[string]any, len(es))
		for _, e := range es {
			pv, ok := r.plain(e.value, at(path, e.key), depth+1)
			if !ok {
				return nil, false
			}
			out[e.key] = pv
		}
		return out, true
	}
	r.fail(n, path, "%s is not a value a condition can hold", describe(n))
	return nil, false
}

// locate follows a path of map keys and list indexes from n, as far as it
// goes, to place an error inside a value.
func locate(n ast.Node, path []any) ast.Node {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			var values []*ast.MappingValueNode
			switch m := n.(type) {
			case *ast.MappingNode:
				values = m.Values
			case *ast.MappingValueNode:
				values = []*ast.MappingValueNode{m}
			}
			found := false
			for _, v := range values {
				if v.Key != nil && keyText(v.Key) == p {
					n, found = v.Value, true
					if n == nil {
						return v.Key
					}
					break
				}
			}
			if !found {
				return n
			}
		case int:
			s, ok := n.(*ast.SequenceNode)
			if !ok || p < 0 || p >= len(s.Values) {
				return n
			}
			n = s.Values[p]
		}
	}
	return n
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

// conditionError records a condition's error at its place in the file:
// the node its path leads to and, for a mistake inside a one-line text
// form, the column of the mistake itself.
func (r *reader) conditionError(n ast.Node, path []any, err error) {
	var ce *nurture.ConditionError
	if !errors.As(err, &ce) {
		r.fail(n, path, "%v", err)
		return
	}
	target := locate(n, ce.Path)
	line, col := position(target)
	if s, ok := target.(*ast.StringNode); ok && ce.Offset >= 0 {
		tk := s.GetToken()
		if !strings.Contains(strings.TrimSpace(tk.Origin), "\n") && ce.Offset <= len(s.Value) &&
			(tk.Type == token.StringType || !strings.Contains(s.Value[:ce.Offset], "\\")) {
			col += ce.Offset
			if tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType {
				col++
			}
		}
	}
	r.failAt(line, col, append(slices.Clip(path), ce.Path...), "%s", ce.Message)
}

// condition reads a condition: text or a map.
func (r *reader) condition(n ast.Node, path []any) (nurture.Condition, bool) {
	v, ok := r.plain(n, path, 0)
	if !ok {
		return nil, false
	}
	c, err := nurture.ParseConditionValue(v)
	if err != nil {
		r.conditionError(n, path, err)
		return nil, false
	}
	return c, true
}

// where reads conditions on an event's properties.
func (r *reader) where(n ast.Node, path []any) ([]nurture.Compare, bool) {
	v, ok := r.plain(n, path, 0)
	if !ok {
		return nil, false
	}
	w, err := nurture.ParseWhere(v)
	if err != nil {
		r.conditionError(n, path, err)
		return nil, false
	}
	return w, true
}

func at(path []any, elem any) []any {
	return append(slices.Clip(path), elem)
}

// suggest returns the name of allowed closest to s, when it is close
// enough to be a typing mistake.
func suggest(s string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := distance(strings.ToLower(s), a); d < bestD {
			best, bestD = a, d
		}
	}
	if bestD > min(2, len(s)/2) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between two short names.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
