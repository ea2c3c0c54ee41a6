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

// inliner applies the stylesheets of one document.
type inliner struct {
	sheets []*stylesheet
	// Reused from one element to the next:
	cands []match
	decls []placedDecl
	buf   []byte
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

	buf := in.buf[:0]
	for i, d := range in.decls {
		if i > 0 {
			buf = append(buf, ';')
		}
		buf = append(buf, d.prop...)
		buf = append(buf, ':')
		buf = append(buf, d.value...)
		if d.important {
			buf = append(buf, " !important"...)
		}
	}
	in.buf = buf
	if styleAt >= 0 {
		n.Attr[styleAt].Val = string(buf)
	} else {
		n.Attr = append(n.Attr, html.Attribute{Key: "style", Val: string(buf)})
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
