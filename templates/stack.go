package templates

import (
	"golang.org/x/net/html/atom"
)

// The stack of open elements of the pass (stream.go), kept as a browser's
// parser keeps it for well-formed email HTML: void elements are never
// open, a block closes an open <p>, a list item the one before it, a cell
// the cell before it, and a <tr> or a cell outside a row brings the
// <tbody> and <tr> a parser would add. It is not the full HTML5 tree
// construction: misnested formatting and foster-parented table text are
// not repaired, as the pass does not restructure the document anyway.

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr, atom.Keygen:
		return true
	}
	return false
}

func (p *pass) push(e element) {
	if len(p.stack) >= maxDepth {
		p.tooDeep = true
		return
	}
	p.stack = append(p.stack, e)
}

// pushVirtual pushes an element the parser implies, such as the <tbody>
// between a <table> and its <tr>.
func (p *pass) pushVirtual(a atom.Atom) {
	e := element{tag: a.String(), atom: a, virtual: true, sig: noParent}
	if top := p.top(); top != nil {
		e.sig = top.sig
	}
	if p.styler.c != nil && p.noInline == 0 {
		e.sig, _ = p.styler.style(p.stack, e.sig, &e, nil)
	}
	if p.text != nil && p.noText == 0 {
		e.text, _ = p.text.start(a, &textAttrs{})
	}
	p.push(e)
}

// implyStart closes the elements that the start of an a element closes, as
// a parser would, and pushes the ones it implies. It reports false when the
// tag is to be ignored.
func (p *pass) implyStart(a atom.Atom) bool {
	if top := p.top(); top != nil && top.atom == atom.Head && !inHead(a) {
		p.pop(len(p.stack) - 1)
	}
	switch a {
	case atom.Html:
		return len(p.stack) == 0
	case atom.Head:
		return len(p.stack) <= 1
	case atom.Body:
		return p.find(atom.Body, nil) < 0
	case atom.Li:
		p.closeP()
		p.closeItem(stopLi, atom.Li)
	case atom.Dd, atom.Dt:
		p.closeP()
		p.closeItem(stopLi, atom.Dd, atom.Dt)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		p.closeP()
		if top := p.top(); top != nil && isHeading(top.atom) {
			p.pop(len(p.stack) - 1)
		}
	case atom.A:
		if i := p.find(atom.A, scopeDefault); i >= 0 {
			p.pop(i)
		}
	case atom.Tr:
		if i := p.find(atom.Tr, scopeTable); i >= 0 {
			p.pop(i)
		}
		if top := p.top(); top != nil && top.atom == atom.Table {
			p.pushVirtual(atom.Tbody)
		}
	case atom.Td, atom.Th:
		if i := p.findAny(scopeTable, atom.Td, atom.Th); i >= 0 {
			p.pop(i)
		}
		if top := p.top(); top != nil && top.atom == atom.Table {
			p.pushVirtual(atom.Tbody)
		}
		if top := p.top(); top != nil && (top.atom == atom.Tbody || top.atom == atom.Thead || top.atom == atom.Tfoot) {
			p.pushVirtual(atom.Tr)
		}
	case atom.Tbody, atom.Thead, atom.Tfoot:
		if i := p.findAny(scopeTable, atom.Tbody, atom.Thead, atom.Tfoot); i >= 0 {
			p.pop(i)
		}
	case atom.Option:
		if top := p.top(); top != nil && top.atom == atom.Option {
			p.pop(len(p.stack) - 1)
		}
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Center, atom.Details, atom.Dialog,
		atom.Dir, atom.Div, atom.Dl, atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Header,
		atom.Hgroup, atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Section, atom.Summary, atom.Ul,
		atom.Pre, atom.Listing, atom.Form, atom.Plaintext, atom.Table, atom.Hr, atom.Xmp:
		p.closeP()
	}
	return true
}

func inHead(a atom.Atom) bool {
	switch a {
	case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes, atom.Script,
		atom.Style, atom.Template, atom.Title, atom.Noscript:
		return true
	}
	return false
}

func isHeading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// Scopes: the elements that stop the search for an open element.
var (
	scopeDefault = []atom.Atom{atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th, atom.Marquee, atom.Object, atom.Template}
	scopeButton  = append([]atom.Atom{atom.Button}, scopeDefault...)
	scopeTable   = []atom.Atom{atom.Html, atom.Table, atom.Template}
	stopLi       = append([]atom.Atom{atom.Ul, atom.Ol, atom.Dl, atom.Menu, atom.Body, atom.Button}, scopeDefault...)
)

// closeP closes an open <p>, as the start of a block does.
func (p *pass) closeP() {
	if i := p.find(atom.P, scopeButton); i >= 0 {
		p.pop(i)
	}
}

// closeItem closes an open list item, as the start of another does.
func (p *pass) closeItem(stop []atom.Atom, items ...atom.Atom) {
	if i := p.findAny(stop, items...); i >= 0 {
		p.pop(i)
	}
}

// find returns the index of the innermost open HTML element a, searching no
// further than an element of scope, or -1.
func (p *pass) find(a atom.Atom, scope []atom.Atom) int {
	return p.findAny(scope, a)
}

func (p *pass) findAny(scope []atom.Atom, as ...atom.Atom) int {
	for i := len(p.stack) - 1; i >= 0; i-- {
		e := &p.stack[i]
		if e.foreign {
			return -1
		}
		for _, a := range as {
			if e.atom == a {
				return i
			}
		}
		for _, s := range scope {
			if e.atom == s {
				return -1
			}
		}
	}
	return -1
}

// pop closes the elements from the top of the stack down to index i.
func (p *pass) pop(i int) {
	for j := len(p.stack) - 1; j >= i; j-- {
		e := &p.stack[j]
		if e.style {
			p.endStyle(e, true)
		}
		if p.text != nil && e.ends&regionText == 0 && p.noText == 0 {
			p.text.end(e.atom, e.text)
		}
		if e.ends&regionText != 0 {
			p.noText--
		}
		if e.ends&regionInline != 0 {
			p.noInline--
		}
		if e.ends&regionTrack != 0 {
			p.noTrack--
		}
	}
	p.stack = p.stack[:i]
}

// stops reports whether an open element e stops the search for the
// element an end tag a closes.
func stops(a, e atom.Atom) bool {
	switch a {
	case atom.Tr, atom.Td, atom.Th, atom.Tbody, atom.Thead, atom.Tfoot, atom.Table, atom.Caption:
		return e == atom.Table && a != atom.Table || e == atom.Template || e == atom.Html
	}
	for _, s := range scopeDefault {
		if e == s {
			return true
		}
	}
	return false
}
