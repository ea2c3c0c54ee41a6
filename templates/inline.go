package templates

import (
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// CSS inlining: many mail clients ignore <style> (or strip it when an email
// is forwarded), so the rules a <style> element holds are copied into the
// style attribute of each element they select, as a browser would apply
// them, and removed from the <style>. What cannot be inlined stays there:
// at-rules (@media for narrow screens and dark mode, @font-face, ...) and
// rules whose selectors only make sense when the email is displayed
// (pseudo-classes such as :hover or :root, attribute selectors such as
// Outlook.com's [data-ogsc], sibling combinators, *).
//
// A selector is inlined when it is made of type, .class and #id selectors
// joined by descendant (space) or child (>) combinators. Declarations apply
// in cascade order: specificity, then source order; the element's own style
// attribute beats the stylesheet, except for the stylesheet's !important
// declarations, which are inlined last and without the !important (so that
// an !important rule of a dark-mode @media block still wins over them).
// Repeated declarations within one block are kept, as they are often
// fallbacks ("background: #fff; background: linear-gradient(...)").
//
// A <style> element with a media attribute other than all or screen is left
// as it is. Elements that no rule selects keep their style attribute
// untouched.

// styleCache holds stylesheets already parsed, by their text. The text of
// a <style> rarely depends on the data (it comes from the layout), so a Set
// parses its CSS once, not once per email.
type styleCache struct {
	m  sync.Map // string -> *stylesheet
	mu sync.Mutex
	n  int // entries, under mu
}

// maxCachedSheets bounds the cache, in case a template builds its CSS from
// the data: past it, sheets are parsed for each email and forgotten.
const maxCachedSheets = 64

func (c *styleCache) get(src string) *stylesheet {
	if s, ok := c.m.Load(src); ok {
		return s.(*stylesheet)
	}
	s := parseStylesheet(src)
	c.mu.Lock()
	if c.n < maxCachedSheets {
		if _, loaded := c.m.LoadOrStore(src, s); !loaded {
			c.n++
		}
	}
	c.mu.Unlock()
	return s
}

// stylesheet is the CSS of one <style> element, split into the rules to
// inline and the text that stays. It never changes once parsed.
type stylesheet struct {
	rules int // how many rules there are to inline
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
	s := &stylesheet{byID: map[string][]*cssRule{}, byClass: map[string][]*cssRule{}, byTag: map[string][]*cssRule{}}
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
			if c == '\\' {
				i++
			} else if c == quote {
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
		if c != '-' && c != '_' && c < 0x80 && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			break
		}
	}
	return i
}

func (c *compound) matches(n *html.Node) bool {
	if n.Type != html.ElementNode || (c.tag != "" && n.Data != c.tag) {
		return false
	}
	if c.id != "" && attrValue(n, "id") != c.id {
		return false
	}
	if len(c.classes) > 0 {
		classes := attrValue(n, "class")
		for _, want := range c.classes {
			if !hasClass(classes, want) {
				return false
			}
		}
	}
	return true
}

// matches reports whether the selector selects n.
func (s selector) matches(n *html.Node) bool {
	last := len(s) - 1
	return s[last].matches(n) && s.matchesAbove(last-1, n)
}

// matchesAbove reports whether s[:i+1] matches the ancestors of n, given
// that s[i+1] matched n.
func (s selector) matchesAbove(i int, n *html.Node) bool {
	if i < 0 {
		return true
	}
	for p := n.Parent; p != nil && p.Type == html.ElementNode; p = p.Parent {
		if s[i].matches(p) && s.matchesAbove(i-1, p) {
			return true
		}
		if s[i+1].child {
			return false
		}
	}
	return false
}

// hasClass reports whether the space-separated list classes holds class.
func hasClass(classes, class string) bool {
	for classes != "" {
		i := 0
		for i < len(classes) && isCSSSpace(classes[i]) {
			i++
		}
		j := i
		for j < len(classes) && !isCSSSpace(classes[j]) {
			j++
		}
		if classes[i:j] == class {
			return true
		}
		classes = classes[j:]
	}
	return false
}

// inliner applies the stylesheets of one document.
type inliner struct {
	sheets []*stylesheet
	cands  []match      // reused for each element
	decls  []placedDecl // reused for each element
	style  strings.Builder
}

type match struct {
	rule  *cssRule
	order int // sheet<<24 | rule order
}

type placedDecl struct {
	declaration
	block int
}

// inlineCSS moves the CSS of the document's <style> elements into style
// attributes, leaving in each <style> what cannot be inlined (and removing
// the element when nothing is left).
func (c *styleCache) inlineCSS(doc *html.Node, styles []*html.Node) {
	in := inliner{}
	for _, st := range styles {
		if media := strings.ToLower(strings.TrimSpace(attrValue(st, "media"))); media != "" && media != "all" && media != "screen" {
			continue
		}
		src := ""
		if t := st.FirstChild; t != nil && t.Type == html.TextNode && t.NextSibling == nil {
			src = t.Data
		}
		sheet := c.get(src)
		if sheet.rules == 0 {
			continue // nothing to inline: the element stays as written
		}
		in.sheets = append(in.sheets, sheet)
		if sheet.keep == "" {
			st.Parent.RemoveChild(st)
			continue
		}
		for t := st.FirstChild; t != nil; {
			next := t.NextSibling
			st.RemoveChild(t)
			t = next
		}
		st.AppendChild(&html.Node{Type: html.TextNode, Data: "\n" + sheet.keep + "\n"})
	}
	if len(in.sheets) == 0 {
		return
	}
	in.walk(doc)
}

func (in *inliner) walk(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		switch c.DataAtom {
		case atom.Head, atom.Style, atom.Script, atom.Template:
			continue
		}
		in.apply(c)
		in.walk(c)
	}
}

// apply sets the style attribute of n from the rules that select it.
func (in *inliner) apply(n *html.Node) {
	in.cands = in.cands[:0]
	var id, classes string
	for _, a := range n.Attr {
		if a.Namespace != "" {
			continue
		}
		switch a.Key {
		case "id":
			id = a.Val
		case "class":
			classes = a.Val
		}
	}
	for si, sheet := range in.sheets {
		if id != "" {
			in.collect(si, sheet.byID[id], n)
		}
		for rest := classes; rest != ""; {
			i := 0
			for i < len(rest) && isCSSSpace(rest[i]) {
				i++
			}
			j := i
			for j < len(rest) && !isCSSSpace(rest[j]) {
				j++
			}
			if j > i {
				in.collect(si, sheet.byClass[rest[i:j]], n)
			}
			rest = rest[j:]
		}
		in.collect(si, sheet.byTag[n.Data], n)
	}
	if len(in.cands) == 0 {
		return
	}
	slices.SortFunc(in.cands, func(a, b match) int {
		if a.rule.spec != b.rule.spec {
			return a.rule.spec - b.rule.spec
		}
		return a.order - b.order
	})

	in.decls = in.decls[:0]
	block := 0
	for _, m := range in.cands {
		in.place(m.rule.normal, block)
		block++
	}
	styleAt := -1
	for i, a := range n.Attr {
		if a.Key == "style" && a.Namespace == "" {
			styleAt = i
			own := parseDeclarations(a.Val)
			in.place(own, block)
			block++
			for _, m := range in.cands {
				in.placeImportant(m.rule.important, own, block)
				block++
			}
			break
		}
	}
	if styleAt < 0 {
		for _, m := range in.cands {
			in.place(m.rule.important, block)
			block++
		}
	}

	in.style.Reset()
	for i, d := range in.decls {
		if i > 0 {
			in.style.WriteByte(';')
		}
		in.style.WriteString(d.prop)
		in.style.WriteByte(':')
		in.style.WriteString(d.value)
		if d.important {
			in.style.WriteString(" !important")
		}
	}
	if styleAt >= 0 {
		n.Attr[styleAt].Val = in.style.String()
	} else {
		n.Attr = append(n.Attr, html.Attribute{Key: "style", Val: in.style.String()})
	}
}

func (in *inliner) collect(sheet int, rules []*cssRule, n *html.Node) {
	for _, r := range rules {
		if !r.sel.matches(n) {
			continue
		}
		m := match{rule: r, order: sheet<<24 | r.order}
		if !slices.Contains(in.cands, m) { // class="a a"
			in.cands = append(in.cands, m)
		}
	}
}

// place appends the declarations of one block, which override those of the
// blocks placed before it for the same properties.
func (in *inliner) place(decls []declaration, block int) {
	for _, d := range decls {
		in.decls = slices.DeleteFunc(in.decls, func(p placedDecl) bool { return p.prop == d.prop && p.block != block })
		in.decls = append(in.decls, placedDecl{d, block})
	}
}

// placeImportant places a stylesheet's !important declarations, except
// those the element's own style marks !important too.
func (in *inliner) placeImportant(decls, own []declaration, block int) {
	for _, d := range decls {
		if slices.ContainsFunc(own, func(o declaration) bool { return o.important && o.prop == d.prop }) {
			continue
		}
		in.place([]declaration{d}, block)
	}
}
