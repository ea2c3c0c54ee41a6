package templates

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// cascade is the stylesheets of a document, in document order, with the
// style attribute they give each kind of element seen so far. An element's
// style depends only on its tag, id, classes and own style and on those of
// its ancestors, so a campaign's repeated structure is computed once and is
// a map lookup afterwards: each such signature is numbered, and the number
// of an element's parent stands for its whole ancestry.
//
// The table of signatures is read without locks; a render that meets new
// ones keeps them aside and adds them when it ends, in a copy of the table.
type cascade struct {
	sheets []*stylesheet
	rules  int // of all the sheets
	table  atomic.Pointer[sigTable]
	mu     sync.Mutex // serialises the writers of table
}

// maxSignatures bounds a cascade's table, in case a template builds its
// classes from the data: past it, new signatures are computed each time.
const maxSignatures = 4096

type sigTable struct {
	index map[uint64]int32 // hash of a signature -> its number
	sigs  []signature
}

// signature is one kind of element, with the style attribute it gets.
type signature struct {
	hash                  uint64
	parent                int32 // the parent's number, or noParent
	tag, id, class, style string
	restyle               bool   // whether any rule selects it
	css                   string // its style attribute, when restyle, escaped for the tag
	hidden                bool   // whether css hides it
}

// noParent is the parent number of the root element. Numbers below it are
// those a render has not added to the table yet (local signatures).
const noParent int32 = -1

var sigSeed = maphash.MakeSeed()

func newCascade(sheets []*stylesheet) *cascade {
	c := &cascade{sheets: sheets}
	for _, s := range sheets {
		c.rules += s.rules
	}
	c.table.Store(&sigTable{index: map[uint64]int32{}})
	return c
}

// styler gives the elements of one document their style attributes.
type styler struct {
	c      *cascade
	shared *sigTable
	local  []signature // signatures not in shared, numbered localID(i)
	// Reused from one element to the next:
	cands []match
	decls []placedDecl
	buf   []byte
}

func localID(i int) int32     { return -2 - int32(i) }
func localIndex(id int32) int { return int(-2 - id) }

type match struct {
	rule  *cssRule
	order int // sheet<<24 | rule order
}

type placedDecl struct {
	declaration
	block int
}

// reset makes s a styler for c, keeping its buffers.
func (s *styler) reset(c *cascade) {
	s.c, s.shared, s.local = c, c.table.Load(), s.local[:0]
}

// style returns the number of the element e (whose parent is numbered
// parent and whose ancestors are stack, and whose own style attribute is
// style), and its signature, which says its new style attribute when a rule
// selects it. The signature is valid until the next call.
func (s *styler) style(stack []element, parent int32, e *element, style []byte) (id int32, g *signature) {
	h := uint64(uint32(parent))*0x9e3779b97f4a7c15 ^ maphash.String(sigSeed, e.tag)
	h = h*0x100000001b3 ^ maphash.Bytes(sigSeed, e.id)
	h = h*0x100000001b3 ^ maphash.Bytes(sigSeed, e.class)
	h = h*0x100000001b3 ^ maphash.Bytes(sigSeed, style)
	if parent >= noParent {
		if i, ok := s.shared.index[h]; ok {
			g := &s.shared.sigs[i]
			if g.parent == parent && g.tag == e.tag && g.id == string(e.id) && g.class == string(e.class) && g.style == string(style) {
				return i, g
			}
		}
	}
	n := signature{hash: h, parent: parent, tag: e.tag, id: string(e.id), class: string(e.class), style: string(style)}
	var css string
	if n.restyle, css = s.compute(stack, e, n.id, n.class, style); n.restyle {
		var b strings.Builder
		escapeAttr(&b, css)
		n.css, n.hidden = b.String(), hiddenStyle(css)
	}
	s.local = append(s.local, n)
	return localID(len(s.local) - 1), &s.local[len(s.local)-1]
}

// commit adds the signatures this render found to the cascade's table.
func (s *styler) commit() {
	if len(s.local) == 0 {
		return
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.table.Load()
	if len(old.sigs)+len(s.local) > maxSignatures {
		return
	}
	t := &sigTable{index: make(map[uint64]int32, len(old.index)+len(s.local)), sigs: slices.Clip(slices.Clone(old.sigs))}
	maps.Copy(t.index, old.index)
	numbers := make([]int32, len(s.local)) // local -> shared
	const dropped = -1 << 30
	for i, g := range s.local {
		if g.parent < noParent {
			if g.parent = numbers[localIndex(g.parent)]; g.parent == dropped {
				numbers[i] = dropped
				continue
			}
		}
		if j, ok := t.index[g.hash]; ok {
			if f := &t.sigs[j]; f.parent == g.parent && f.tag == g.tag && f.id == g.id && f.class == g.class && f.style == g.style {
				numbers[i] = j // added by another render meanwhile
			} else {
				numbers[i] = dropped // a collision: the first keeps the hash, and this ancestry stays local
			}
			continue
		}
		numbers[i] = int32(len(t.sigs))
		t.index[g.hash] = numbers[i]
		t.sigs = append(t.sigs, g)
	}
	c.table.Store(t)
}

// compute applies the rules that select e, whose own style attribute is
// style, and reports whether any does.
func (s *styler) compute(stack []element, e *element, id, classes string, style []byte) (bool, string) {
	s.cands = s.cands[:0]
	for si, sheet := range s.c.sheets {
		if id != "" {
			s.collect(si, sheet.byID[id], stack, e)
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
				s.collect(si, sheet.byClass[rest[i:j]], stack, e)
			}
			rest = rest[j:]
		}
		s.collect(si, sheet.byTag[e.tag], stack, e)
	}
	if len(s.cands) == 0 {
		return false, ""
	}
	slices.SortFunc(s.cands, func(a, b match) int {
		if a.rule.spec != b.rule.spec {
			return a.rule.spec - b.rule.spec
		}
		return a.order - b.order
	})

	s.decls = s.decls[:0]
	block := 0
	for _, m := range s.cands {
		s.place(m.rule.normal, block)
		block++
	}
	if e.hasStyle {
		own := parseDeclarations(string(style))
		s.place(own, block)
		block++
		for _, m := range s.cands {
			s.placeImportant(m.rule.important, own, block)
			block++
		}
	} else {
		for _, m := range s.cands {
			s.place(m.rule.important, block)
			block++
		}
	}

	buf := s.buf[:0]
	for i, d := range s.decls {
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
	s.buf = buf
	return true, string(buf)
}

func (s *styler) collect(sheet int, rules []*cssRule, stack []element, e *element) {
	for _, r := range rules {
		if !r.sel.matches(stack, e) {
			continue
		}
		m := match{rule: r, order: sheet<<24 | r.order}
		if !slices.Contains(s.cands, m) { // class="a a"
			s.cands = append(s.cands, m)
		}
	}
}

// place appends the declarations of one block, which override those of the
// blocks placed before it for the same properties.
func (s *styler) place(decls []declaration, block int) {
	for _, d := range decls {
		s.decls = slices.DeleteFunc(s.decls, func(p placedDecl) bool { return p.prop == d.prop && p.block != block })
		s.decls = append(s.decls, placedDecl{d, block})
	}
}

// placeImportant places a stylesheet's !important declarations, except
// those the element's own style marks !important too.
func (s *styler) placeImportant(decls, own []declaration, block int) {
	for _, d := range decls {
		if slices.ContainsFunc(own, func(o declaration) bool { return o.important && o.prop == d.prop }) {
			continue
		}
		s.place([]declaration{d}, block)
	}
}
