package templates

import (
	"bytes"
	"errors"
	stdhtml "html"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/html/atom"
)

// One pass over the HTML that the layout and the body executed to: the
// tokens are read once (scan.go), the ones nothing changes are copied to
// the output as they are, and the start tags that get a style attribute
// (CSS inlining), a tracked href or lose their data-notrack are written
// again. The open pixel goes in before </body>, and the same pass feeds
// the generator of the text body.
//
// The pass keeps a stack of the open elements, as a browser's parser would
// build it (implied end tags for p, li, td..., implied tbody and tr), for
// what depends on ancestors: descendant selectors, hidden elements, lists,
// links, <pre>. It does not restructure the document: HTML that a parser
// would repair (a misnested tag, a table with text in it) is written as it
// came, and mail clients repair it as they always do. It does make sure
// the output reads back as it meant: a tag cut off at the end is dropped, a
// stray '<' is escaped, an unterminated comment or <style> is closed, and a
// start tag whose attributes could be read two ways is written again. In
// SVG and MathML, the elements whose content is raw text in HTML are
// copied as raw text too, unchanged (see startTag and eof).

// maxDepth is how deep elements may nest, as golang.org/x/net/html allows.
const maxDepth = 512

var errTooDeep = errors.New("HTML nested deeper than 512 elements")

// element is an open element.
type element struct {
	tag      string // lower case
	atom     atom.Atom
	id       []byte // for selectors
	class    []byte
	hasStyle bool
	sig      int32 // its signature in the styler, or noParent
	foreign  bool  // SVG or MathML
	virtual  bool  // implied by the parser, not in the source
	text     textEnd
	ends     uint8 // the regions it opened (regionText...)
	// A <style> whose fate is known at its end: where its start tag and
	// its text are in the source.
	style                        bool
	styleStart, styleEnd         int
	styleTextStart, styleTextEnd int
}

// The regions an element can open, which its end closes.
const (
	regionText   uint8 = 1 << iota // no text body for its content
	regionInline                   // no CSS inlining (head, template)
	regionTrack                    // no link tracking (template)
)

// pass is the state of one pass.
type pass struct {
	src   []byte
	z     *scanner
	out   *strings.Builder // nil when only the text is wanted
	stack []element

	styles   *styleCache // nil: no CSS inlining
	styler   *styler     // its cascade is nil while there is nothing to inline
	expected []*stylesheet
	found    []*stylesheet // the inlinable sheets met, in order
	mismatch bool          // found is not expected: the pass must run again

	track     *tracker // nil: links are left alone
	pixel     string   // the open pixel to write before </body>
	pixelDone bool

	text     *textConverter // nil: no text body
	conv     *textConverter // the pass's own, which text is when there is one
	noText   int
	noInline int
	noTrack  int
	tooDeep  bool
	// The input ends inside the text of an SVG or MathML element that
	// readers take for different things (see eof): nothing is added.
	openForeign bool
}

// renderText is HTMLToText.
func renderText(src []byte) (string, error) {
	p := getPass(src, nil, true)
	defer putPass(p)
	p.run()
	if p.tooDeep {
		return "", errTooDeep
	}
	return strings.TrimSuffix(p.text.finish(), "\n"), nil
}

// renderHTML writes src to out (which it resets to write again when it
// runs a second time, see below) with the CSS of its <style> elements inlined
// (when styles is not nil; last remembers the sheets of the previous
// email, and is updated when they change), its links tracked (when t is
// not nil) and pixel added at the end of its body. With text, it returns
// the text body too.
//
// When the <style> elements are not those of the previous email, which
// the pass finds out only as it meets them, it runs again with the right
// ones; the tracked URLs of the first run are used again, so that Click
// is still called once per link.
func renderHTML(src []byte, out *strings.Builder, styles *styleCache, last *atomic.Pointer[cascade], t *tracker, pixel string, text bool) (string, error) {
	var c *cascade
	if styles != nil {
		c = last.Load()
	}
	for attempt := 0; ; attempt++ {
		p := getPass(src, out, text)
		p.styles, p.track, p.pixel = styles, t, pixel
		if c != nil {
			p.expected = c.sheets
			if c.rules > 0 {
				p.styler.reset(c)
			}
		}
		p.run()
		if p.tooDeep {
			putPass(p)
			return "", errTooDeep
		}
		if styles != nil && (p.mismatch || len(p.found) != len(p.expected)) && attempt == 0 {
			// The <style> elements are not those of the last email: again,
			// with these.
			c = newCascade(slices.Clone(p.found))
			last.Store(c)
			putPass(p)
			out.Reset()
			if t != nil {
				t.replay, t.index, t.targets = t.calls, 0, nil
			}
			continue
		}
		if p.styler.c != nil {
			p.styler.commit()
		}
		result := ""
		if p.text != nil {
			result = p.text.finish()
		}
		putPass(p)
		return result, nil
	}
}

var passes = sync.Pool{New: func() any {
	return &pass{z: &scanner{attrs: make([]scanAttr, 0, 16)}, stack: make([]element, 0, 32), styler: &styler{}, conv: &textConverter{}}
}}

// getPass returns a pass over src, from the pool.
func getPass(src []byte, out *strings.Builder, text bool) *pass {
	p := passes.Get().(*pass)
	z, stack, st, conv, found := p.z, p.stack[:0], p.styler, p.conv, p.found[:0]
	z.reset(src)
	st.c, st.shared, st.local = nil, nil, st.local[:0]
	*p = pass{src: src, z: z, out: out, stack: stack, styler: st, conv: conv, found: found}
	if text {
		conv.reset()
		p.text = conv
	}
	return p
}

func putPass(p *pass) {
	if cap(p.stack) > 4*maxDepth || cap(p.z.attrs) > 1024 {
		return
	}
	p.src, p.z.src, p.out, p.track, p.expected = nil, nil, nil, nil, nil
	clear(p.found)
	passes.Put(p)
}

func (p *pass) run() {
	z := p.z
	for !p.tooDeep {
		z.foreign = p.inForeign()
		switch z.next() {
		case tokEOF:
			p.eof()
			return
		case tokText:
			p.textToken()
		case tokStart:
			p.startTag()
		case tokEnd:
			p.endTag()
		case tokComment:
			p.comment()
		case tokDoctype:
			if !z.open {
				p.write(p.src[z.start:z.end])
			}
		}
	}
}

func (p *pass) write(b []byte) {
	if p.out != nil {
		p.out.Write(b)
	}
}

func (p *pass) writeString(s string) {
	if p.out != nil {
		p.out.WriteString(s)
	}
}

func (p *pass) top() *element {
	if len(p.stack) == 0 {
		return nil
	}
	return &p.stack[len(p.stack)-1]
}

func (p *pass) inForeign() bool {
	e := p.top()
	return e != nil && e.foreign
}

func (p *pass) textToken() {
	z := p.z
	b := z.name
	if e := p.top(); e != nil && e.style {
		e.styleTextStart, e.styleTextEnd = z.start, z.end
		return
	}
	switch {
	case z.lt:
		p.writeString("&lt;")
	case bytes.IndexByte(b, 0) >= 0 && !z.rawText:
		for _, part := range bytes.Split(b, []byte{0}) {
			p.write(part)
		}
	default:
		p.write(b)
	}
	if !z.rawText {
		if e := p.top(); e != nil && e.atom == atom.Head && len(bytes.TrimLeft(b, " \t\n\r\f")) > 0 {
			p.pop(len(p.stack) - 1) // text ends the head
		}
	}
	if p.text == nil || p.noText > 0 {
		return
	}
	if !z.rawText && bytes.IndexByte(b, '&') >= 0 {
		if d, ok := decodeCommon(b); ok {
			b = d
		} else {
			b = []byte(stdhtml.UnescapeString(string(b)))
		}
	}
	p.text.write(b)
}

func (p *pass) comment() {
	z := p.z
	switch {
	case z.cdata:
		p.write(p.src[z.start:z.end])
		p.openForeign = z.open
	case z.bogus:
		if !bytes.Contains(z.name, []byte("--")) {
			p.writeString("<!--")
			p.write(z.name)
			p.writeString("-->")
		}
	default:
		p.write(p.src[z.start:z.end])
		if z.open {
			p.writeString("-->")
		}
	}
}

// attrs are the attributes of a start tag the pass reads, by index in the
// scanner's list, or -1.
type attrs struct {
	id, class, style, href, notrack, hidden, alt, start, media int
}

func (p *pass) readAttrs() attrs {
	a := attrs{-1, -1, -1, -1, -1, -1, -1, -1, -1}
	for i := range p.z.attrs {
		k := p.z.attrs[i].key
		var at *int
		switch len(k) {
		case 2:
			at = pick(k, "id", &a.id)
		case 3:
			at = pick(k, "alt", &a.alt)
		case 4:
			at = pick(k, "href", &a.href)
		case 5:
			if at = pick(k, "class", &a.class); at == nil {
				if at = pick(k, "style", &a.style); at == nil {
					if at = pick(k, "start", &a.start); at == nil {
						at = pick(k, "media", &a.media)
					}
				}
			}
		case 6:
			at = pick(k, "hidden", &a.hidden)
		case len(noTrackAttr):
			at = pick(k, noTrackAttr, &a.notrack)
		}
		if at != nil && *at < 0 {
			*at = i
		}
	}
	return a
}

func pick(k []byte, name string, at *int) *int {
	if at != nil && equalFold(k, name) {
		return at
	}
	return nil
}

func (p *pass) valString(i int) string {
	if i < 0 {
		return ""
	}
	return string(p.val(i))
}

// tagName returns the atom and the lower-case name of a tag.
func tagName(name []byte) (atom.Atom, string) {
	a := atom.Lookup(name)
	if a == 0 {
		var buf [16]byte
		if len(name) <= len(buf) {
			lower := buf[:len(name)]
			for i, c := range name {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				lower[i] = c
			}
			a = atom.Lookup(lower)
		}
	}
	if a != 0 {
		return a, a.String()
	}
	return 0, strings.ToLower(string(name))
}

func (p *pass) startTag() {
	z := p.z
	a, tag := tagName(z.name)
	foreign := p.inForeign() || a == atom.Svg || a == atom.Math
	if !foreign && !p.implyStart(a) {
		p.write(p.src[z.start:z.end]) // a second <html>, <head> or <body>: merged by parsers
		return
	}
	at := p.readAttrs()
	e := element{tag: tag, atom: a, foreign: foreign, sig: noParent}
	if top := p.top(); top != nil {
		e.sig = top.sig
	}
	if !foreign && a == atom.Style && p.noTrack == 0 {
		media := strings.ToLower(strings.TrimSpace(p.valString(at.media)))
		if media == "" || media == "all" || media == "screen" {
			e.style, e.styleStart, e.styleEnd = true, z.start, z.end
			e.styleTextStart, e.styleTextEnd = z.end, z.end
			p.push(e)
			z.raw("style")
			return
		}
	}

	// CSS inlining.
	restyle, css, hidden := false, "", false
	style := p.val(at.style)
	if p.styler.c != nil && p.noInline == 0 && a != atom.Head && a != atom.Style && a != atom.Script && a != atom.Template {
		e.id, e.class, e.hasStyle = p.val(at.id), p.val(at.class), at.style >= 0
		var g *signature
		e.sig, g = p.styler.style(p.stack, e.sig, &e, style)
		restyle, css, hidden = g.restyle, g.css, g.hidden
	}

	// Link tracking.
	href, tracked, dropMark := "", "", false
	if a == atom.A && !foreign && p.noTrack == 0 {
		dropMark = at.notrack >= 0
		if at.href >= 0 && (p.text != nil || (p.track != nil && !dropMark && p.track.clicks())) {
			href = strings.TrimSpace(p.valString(at.href))
			if !dropMark && p.track != nil {
				tracked = p.track.link(href)
			}
		}
	}

	if restyle || tracked != "" || dropMark || z.odd {
		p.rewriteTag(at, restyle, css, tracked, dropMark, foreign && z.selfClose)
	} else {
		p.write(p.src[z.start:z.end])
	}

	void := (!foreign && isVoid(a)) || (foreign && z.selfClose)
	if p.text != nil && p.noText == 0 {
		ta := textAttrs{hidden: at.hidden >= 0}
		if restyle {
			ta.hidden = ta.hidden || hidden
		} else if at.style >= 0 {
			ta.hidden = ta.hidden || hiddenStyle(style)
		}
		switch a {
		case atom.A:
			ta.href = href
			if tracked != "" {
				ta.href = tracked
			}
		case atom.Img:
			ta.alt = p.valString(at.alt)
		case atom.Ol:
			ta.start = p.valString(at.start)
		}
		var skip bool
		e.text, skip = p.text.start(a, &ta)
		if skip && !void {
			e.ends |= regionText
			p.noText++
		}
	}
	if void {
		return
	}
	if a == atom.Head || a == atom.Template {
		e.ends |= regionInline
		p.noInline++
	}
	if a == atom.Template {
		e.ends |= regionTrack
		p.noTrack++
	}
	p.push(e)
	// In SVG and MathML these are ordinary elements, but their content is
	// copied as raw text all the same, unchanged: a reader that does not
	// follow foreign content (many sanitizers) takes it for raw text, a
	// browser reads it as markup, and both read the same in the output as
	// in the input, since nothing in it was rewritten.
	switch a {
	case atom.Style, atom.Script, atom.Xmp, atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript, atom.Title, atom.Textarea:
		z.raw(tag)
	case atom.Plaintext:
		z.raw("plaintext")
	}
}

// rewriteTag writes the current start tag again from its attributes; css
// is escaped already.
func (p *pass) rewriteTag(at attrs, restyle bool, css, tracked string, dropMark, selfClose bool) {
	if p.out == nil {
		return
	}
	z, out := p.z, p.out
	out.WriteByte('<')
	out.Write(z.name)
	for i := range z.attrs {
		a := &z.attrs[i]
		if z.odd && (len(a.key) == 0 || bytes.ContainsAny(a.key, "\"'<=") || a.dup) {
			continue // junk, or a repeat browsers ignore
		}
		switch {
		case i == at.notrack && dropMark:
		case i == at.href && tracked != "":
			out.WriteString(` href="`)
			escapeAttr(out, tracked)
			out.WriteByte('"')
		case i == at.style && restyle:
			out.WriteString(` style="`)
			out.WriteString(css)
			out.WriteByte('"')
		case z.odd:
			out.WriteByte(' ')
			out.Write(a.key)
			if a.quote != 0 || len(a.val) > 0 {
				out.WriteString(`="`)
				escapeAttrBytes(out, p.val(i))
				out.WriteByte('"')
			}
		default:
			out.WriteByte(' ')
			out.Write(p.src[a.start:a.end])
		}
	}
	if restyle && at.style < 0 {
		out.WriteString(` style="`)
		out.WriteString(css)
		out.WriteByte('"')
	}
	if selfClose {
		out.WriteString("/>")
	} else {
		out.WriteByte('>')
	}
}

func (p *pass) endTag() {
	z := p.z
	a, tag := tagName(z.name)
	foreign := p.inForeign()
	if !foreign {
		switch a {
		case atom.Br: // </br> is a <br>
			p.writeString("<br>")
			if p.text != nil && p.noText == 0 {
				p.text.lineBreak()
			}
			return
		case atom.Body, atom.Html:
			if p.noTrack == 0 {
				p.writePixel()
			}
			p.writeEnd(tag)
			return
		}
	}
	i := -1
	for j := len(p.stack) - 1; j >= 0; j-- {
		e := &p.stack[j]
		if e.tag == tag && !e.virtual {
			i = j
			break
		}
		if !e.foreign && stops(a, e.atom) {
			break
		}
	}
	if i >= 0 {
		if e := &p.stack[i]; e.style && i == len(p.stack)-1 {
			written := p.endStyle(e, false)
			e.style = false
			p.pop(i)
			if written {
				p.writeEnd(tag)
			}
			return
		}
		p.pop(i)
	}
	p.writeEnd(tag)
}

// writeEnd writes the current end tag, as </name> when it had more.
func (p *pass) writeEnd(tag string) {
	z := p.z
	if raw := p.src[z.start:z.end]; len(raw) == len(tag)+3 {
		p.write(raw)
		return
	}
	p.writeString("</")
	p.write(z.name)
	p.writeString(">")
}

func (p *pass) writePixel() {
	if p.pixel != "" && !p.pixelDone {
		p.writeString(p.pixel)
	}
	p.pixelDone = true
}

// endStyle writes a <style> element, now that its text is known: as it is
// when it has nothing to inline, without what was inlined, or not at all
// when everything was. cut says that its end tag is missing. It reports
// whether the element was written.
func (p *pass) endStyle(e *element, cut bool) bool {
	text := p.src[e.styleTextStart:e.styleTextEnd]
	var sheet *stylesheet
	if p.styles != nil {
		if n := len(p.found); n < len(p.expected) && p.expected[n].src == string(text) {
			sheet = p.expected[n]
		} else {
			sheet = p.styles.get(string(text))
			p.mismatch = true
		}
		p.found = append(p.found, sheet)
	}
	switch {
	case sheet == nil || sheet.rules == 0:
		p.write(p.src[e.styleStart:e.styleEnd])
		p.write(text)
	case sheet.keep == "":
		return false
	default:
		p.write(p.src[e.styleStart:e.styleEnd])
		p.writeString("\n")
		p.writeString(sheet.keep)
		p.writeString("\n")
	}
	if cut {
		p.writeString("</style>")
	}
	return true
}

func (p *pass) eof() {
	// The raw text of the innermost element ran to the end: close it, so
	// that the pixel is not its text. In SVG and MathML, where a browser
	// reads that text as markup, and for a <![CDATA[ section there, which
	// a reader that does not follow foreign content takes for a comment
	// that ends at the first '>', the end may be a tag cut off, which
	// anything added would complete: it is left as it is, without the pixel.
	plain := p.openForeign || slices.ContainsFunc(p.stack, func(e element) bool { return e.atom == atom.Plaintext })
	if e := p.top(); e != nil && !e.style {
		switch e.atom {
		case atom.Style, atom.Script, atom.Xmp, atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript, atom.Title, atom.Textarea:
			if e.foreign {
				plain = true
			} else {
				p.writeString("</" + e.tag + ">")
			}
		}
	}
	if len(p.stack) > 0 {
		p.pop(0)
	}
	if p.noTrack == 0 && !plain {
		p.writePixel()
	}
}
