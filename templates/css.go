package templates

import (
	"strings"
)

// The CSS the inliner understands: a stylesheet split into rules to inline
// and text to keep, declarations, and the selectors it can match itself.
// It is no general CSS parser; what it does not understand is kept, never
// dropped (see inline.go).

// stylesheet is the CSS of one <style> element, split into the rules to
// inline and the text that stays. It never changes once parsed.
type stylesheet struct {
	src   string // the text it was parsed from
	rules int    // how many rules there are to inline
	// The rules, by the most selective part of their rightmost compound
	// selector: its id, else its first class, else its type.
	byID, byClass, byTag map[string][]*cssRule
	keep                 string // the CSS that stays in <style>, or ""
}

// cssRule is one selector of a rule, with the rule's declarations.
type cssRule struct {
	sel       selector
	spec      int // specificity: ids<<16 | classes<<8 | types
	order     int // position in the sheet
	normal    []declaration
	important []declaration
}

type declaration struct {
	prop, value string
	important   bool
}

// selector is a list of compound selectors, the rightmost (the element the
// rule applies to) last.
type selector []compound

type compound struct {
	tag     string // lower case, or "" for any element
	id      string
	classes []string
	child   bool // joined to the compound on its left by '>' rather than by a space
}

// parseStylesheet never fails: text it cannot understand stays in <style>,
// where the mail client will make of it what it can.
func parseStylesheet(src string) *stylesheet {
	s := &stylesheet{src: src, byID: map[string][]*cssRule{}, byClass: map[string][]*cssRule{}, byTag: map[string][]*cssRule{}}
	css := stripComments(src)
	var keep []string
	for i := 0; i < len(css); {
		for i < len(css) && isCSSSpace(css[i]) {
			i++
		}
		if i >= len(css) {
			break
		}
		if css[i] == '@' {
			end := scanUntil(css, i, ";{")
			if end < len(css) && css[end] == '{' {
				end = matchBrace(css, end)
			}
			end = min(end+1, len(css))
			keep = append(keep, strings.TrimSpace(css[i:end]))
			i = end
			continue
		}
		open := scanUntil(css, i, "{")
		if open >= len(css) { // a stray end without a block
			keep = append(keep, strings.TrimSpace(css[i:]))
			break
		}
		close := matchBrace(css, open)
		prelude, block := css[i:open], css[open+1:min(close, len(css))]
		i = min(close+1, len(css))

		var kept []string
		decls := parseDeclarations(block)
		for _, text := range splitTopLevel(prelude, ',') {
			text = strings.TrimSpace(text)
			sel, ok := parseSelector(text)
			if !ok {
				kept = append(kept, text)
				continue
			}
			s.add(sel, decls)
		}
		if len(kept) > 0 {
			keep = append(keep, strings.Join(kept, ", ")+" {"+block+"}")
		}
	}
	s.keep = strings.Join(keep, "\n")
	return s
}

func (s *stylesheet) add(sel selector, decls []declaration) {
	r := &cssRule{sel: sel, order: s.rules}
	for _, c := range sel {
		if c.id != "" {
			r.spec += 1 << 16
		}
		r.spec += len(c.classes) << 8
		if c.tag != "" {
			r.spec++
		}
	}
	for _, d := range decls {
		if d.important {
			d.important = false
			r.important = append(r.important, d)
		} else {
			r.normal = append(r.normal, d)
		}
	}
	if len(r.normal)+len(r.important) == 0 {
		return
	}
	s.rules++
	key := sel[len(sel)-1]
	switch {
	case key.id != "":
		s.byID[key.id] = append(s.byID[key.id], r)
	case len(key.classes) > 0:
		s.byClass[key.classes[0]] = append(s.byClass[key.classes[0]], r)
	default:
		s.byTag[key.tag] = append(s.byTag[key.tag], r)
	}
}

// stripComments removes /* comments */ outside strings.
func stripComments(s string) string {
	if !strings.Contains(s, "/*") {
		return s
	}
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				b.WriteByte(c)
				i++
				c = s[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += 2 + end + 1
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// scanUntil returns the index of the first byte of stops in s from i that
// is outside strings, parentheses and brackets, or len(s).
func scanUntil(s string, i int, stops string) int {
	var quote byte
	depth := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[':
			depth++
		case (c == ')' || c == ']') && depth > 0:
			depth--
		case depth == 0 && strings.IndexByte(stops, c) >= 0:
			return i
		}
	}
	return len(s)
}

// matchBrace returns the index of the '}' that closes the '{' at open, or
// len(s) when the block is not closed.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		i = scanUntil(s, i, "{}")
		if i >= len(s) {
			break
		}
		if s[i] == '{' {
			depth++
		} else if depth--; depth == 0 {
			return i
		}
	}
	return len(s)
}

// splitTopLevel splits s at each sep outside strings, parentheses and
// brackets.
func splitTopLevel(s string, sep byte) []string {
	var parts []string
	for {
		i := scanUntil(s, 0, string(sep))
		parts = append(parts, s[:i])
		if i >= len(s) {
			return parts
		}
		s = s[i+1:]
	}
}

// parseDeclarations parses the inside of a block, or a style attribute.
// Property names are lower-cased, runs of spaces in values collapse, and
// declarations without a name or a value are dropped.
func parseDeclarations(block string) []declaration {
	var out []declaration
	for _, part := range splitTopLevel(block, ';') {
		colon := strings.IndexByte(part, ':')
		if colon < 0 {
			continue
		}
		prop := strings.ToLower(strings.TrimSpace(part[:colon]))
		value := collapseSpaces(part[colon+1:])
		d := declaration{prop: prop}
		if i := strings.LastIndexByte(value, '!'); i >= 0 && strings.EqualFold(strings.TrimSpace(value[i+1:]), "important") {
			d.important = true
			value = strings.TrimSpace(value[:i])
		}
		d.value = value
		if prop == "" || value == "" || strings.ContainsAny(prop, " \t\n\r\f{}") {
			continue
		}
		out = append(out, d)
	}
	return out
}

// collapseSpaces trims s and turns each run of white space inside it into
// one space.
func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\t\n\r\f") && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isCSSSpace(byte(r)) }), " ")
}

func isCSSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// parseSelector parses a selector that can be inlined, and reports false
// for any other.
func parseSelector(s string) (selector, bool) {
	var sel selector
	child := false
	i := 0
	for i < len(s) {
		var c compound
		c.child = child
		start := i
		if isIdentStart(s, i) {
			end := identEnd(s, i)
			c.tag = strings.ToLower(s[i:end])
			i = end
		}
		for i < len(s) && (s[i] == '.' || s[i] == '#') {
			if !isIdentStart(s, i+1) {
				return nil, false
			}
			end := identEnd(s, i+1)
			if s[i] == '.' {
				c.classes = append(c.classes, s[i+1:end])
			} else if c.id == "" {
				c.id = s[i+1 : end]
			} else {
				return nil, false // #a#b selects nothing; leave it to the client
			}
			i = end
		}
		if i == start {
			return nil, false // '*', ':', '[', '+', '~', an escape...
		}
		sel = append(sel, c)
		spaced := false
		for i < len(s) && isCSSSpace(s[i]) {
			i++
			spaced = true
		}
		child = false
		if i < len(s) && s[i] == '>' {
			child = true
			i++
			for i < len(s) && isCSSSpace(s[i]) {
				i++
			}
		} else if i < len(s) && !spaced {
			return nil, false
		}
		if child && i >= len(s) {
			return nil, false
		}
	}
	return sel, len(sel) > 0
}

// isIdentStart reports whether an identifier starts at s[i]: a letter, '_',
// a non-ASCII character, or '-' followed by one of those.
func isIdentStart(s string, i int) bool {
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func identEnd(s string, i int) int {
	for ; i < len(s); i++ {
		c := s[i]
		if c != '-' && c != '_' && c < 0x80 && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			break
		}
	}
	return i
}

func (c *compound) matches(e *element) bool {
	if c.tag != "" && e.tag != c.tag {
		return false
	}
	if c.id != "" && string(e.id) != c.id {
		return false
	}
	for _, want := range c.classes {
		if !hasClass(e.class, want) {
			return false
		}
	}
	return true
}

// matches reports whether the selector selects e, whose ancestors are
// stack (the root first).
func (s selector) matches(stack []element, e *element) bool {
	last := len(s) - 1
	return s[last].matches(e) && s.matchesAbove(last-1, stack)
}

// matchesAbove reports whether s[:i+1] matches the ancestors in stack,
// given that s[i+1] matched the element above them.
func (s selector) matchesAbove(i int, stack []element) bool {
	if i < 0 {
		return true
	}
	for p := len(stack) - 1; p >= 0; p-- {
		if s[i].matches(&stack[p]) && s.matchesAbove(i-1, stack[:p]) {
			return true
		}
		if s[i+1].child {
			return false
		}
	}
	return false
}

// hasClass reports whether the space-separated list classes holds class.
func hasClass(classes []byte, class string) bool {
	for len(classes) > 0 {
		i := 0
		for i < len(classes) && isCSSSpace(classes[i]) {
			i++
		}
		j := i
		for j < len(classes) && !isCSSSpace(classes[j]) {
			j++
		}
		if string(classes[i:j]) == class {
			return true
		}
		classes = classes[j:]
	}
	return false
}
