//go:build !xtok

package templates

import (
	"bytes"
	"strings"
)

// scanner splits HTML into tokens the way an HTML5 tokenizer does, over a
// byte slice and without copying: each token is a span of the source, so
// that the renderer can write the tokens it does not change as they are.
// It is golang.org/x/net/html's Tokenizer reduced to what the renderer
// needs and made cheap: no reader, no per-byte calls, no allocation. In
// the same pass the Tokenizer costs about twice the CPU and ten times the
// allocations (docs/benchmarks.md, "HTML tokenizer"; scan_xtok.go).
//
// Where the source is malformed it decides as a browser would, and tells
// the renderer when a token cannot be written back as it was:
//
//   - a tag cut off by the end of the input is dropped (tokEOF);
//   - a '<' that starts no tag is text, flagged lt, to be written "&lt;";
//   - a comment without its end runs to the end of the input, flagged open;
//   - bogus comments (<!x>, <?x>, </ x>) are comments, flagged bogus;
//   - a start tag whose attributes a less careful parser could read
//     differently (no space between them, an unquoted value holding quotes,
//     a key holding quotes, a stray '/', a repeated name) is flagged odd,
//     to be written again from its parsed attributes.
//
// Raw text (the content of <style>, <script>, <title>, <textarea>...) is
// recognised only when the caller says so with raw after the start tag,
// since whether a tag starts raw text depends on where it is.
type scanner struct {
	src []byte
	pos int

	rawTag  string // the element whose raw text comes next, or ""
	foreign bool   // whether the current element is SVG or MathML, where <![CDATA[ is text

	// The current token:
	kind       tokenKind
	start, end int    // its span in src
	name       []byte // tag name as written; comment or text data
	selfClose  bool
	attrs      []scanAttr
	odd        bool // a start tag to write again from its attributes
	lt         bool // a text token that is a lone '<'
	open       bool // a comment or raw text cut off by the end of the input
	bogus      bool // a comment written as <!x>, <?x> or </ x>
	rawText    bool // a text token of raw text: no entities, no tags
	cdata      bool // a <![CDATA[...]]> section in foreign content
}

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokText
	tokStart
	tokEnd
	tokComment
	tokDoctype
)

// scanAttr is one attribute of a start tag.
type scanAttr struct {
	key        []byte // as written (compare with equalFold)
	val        []byte // as written, entities not decoded
	quote      byte   // '"', '\'' or 0 for an unquoted or missing value
	start, end int    // the span of the whole attribute in src
	dup        bool   // an earlier attribute has the same name
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isASCIILetter(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// reset makes z a scanner of src, keeping its buffers.
func (z *scanner) reset(src []byte) { *z = scanner{src: src, attrs: z.attrs[:0]} }

// raw tells the scanner that the element just started, called name, holds
// raw text up to its end tag ("plaintext" holds it to the end).
func (z *scanner) raw(name string) { z.rawTag = name }

// next reads the next token and reports its kind.
func (z *scanner) next() tokenKind {
	z.attrs = z.attrs[:0]
	z.selfClose, z.odd, z.lt, z.open, z.bogus, z.rawText, z.cdata = false, false, false, false, false, false, false
	z.name = nil
	for {
		z.start = z.pos
		if z.pos >= len(z.src) {
			z.kind = tokEOF
			z.end = z.pos
			return tokEOF
		}
		if z.rawTag != "" {
			if k, ok := z.rawTextToken(); ok {
				return k
			}
			continue
		}
		src, p := z.src, z.pos
		if src[p] != '<' {
			end := len(src)
			if i := bytes.IndexByte(src[p:], '<'); i >= 0 {
				end = p + i
			}
			return z.text(p, end)
		}
		if p+1 >= len(src) {
			z.lt = true
			return z.text(p, p+1)
		}
		switch c := src[p+1]; {
		case isASCIILetter(c):
			if z.tag(tokStart) {
				return tokStart
			}
			return tokEOF
		case c == '/':
			if p+2 >= len(src) {
				z.lt = true
				return z.text(p, p+1)
			}
			switch c2 := src[p+2]; {
			case isASCIILetter(c2):
				if z.tag(tokEnd) {
					return tokEnd
				}
				return tokEOF
			case c2 == '>':
				z.pos = p + 3 // "</>" is nothing at all
				continue
			default:
				return z.bogusComment(p + 2)
			}
		case c == '!':
			return z.markup()
		case c == '?':
			return z.bogusComment(p + 1)
		default:
			z.lt = true
			return z.text(p, p+1)
		}
	}
}

func (z *scanner) text(start, end int) tokenKind {
	z.kind, z.start, z.end, z.name, z.pos = tokText, start, end, z.src[start:end], end
	return tokText
}

// rawTextToken reads the raw text of z.rawTag up to its end tag, leaving
// the end tag for the next call. It reports false when the text is empty.
func (z *scanner) rawTextToken() (tokenKind, bool) {
	tag := z.rawTag
	p := z.pos
	end := len(z.src)
	switch tag {
	case "plaintext":
	case "script":
		end = scriptEnd(z.src, p)
	default:
		for i := p; ; {
			j := bytes.Index(z.src[i:], []byte("</"))
			if j < 0 {
				break
			}
			j += i
			if tagAt(z.src, j+2, tag) {
				end = j
				break
			}
			i = j + 2
		}
	}
	if end == len(z.src) {
		z.open = tag != "plaintext"
	}
	z.rawTag = ""
	if end == p {
		return 0, false
	}
	z.text(p, end)
	z.rawText = true
	if end == len(z.src) && tag != "plaintext" {
		z.open = true
	}
	return tokText, true
}

// tagAt reports whether the tag name name (lower case) is at src[i:],
// followed by what ends a tag name (or by the end of the input).
func tagAt(src []byte, i int, name string) bool {
	k := i + len(name)
	return k <= len(src) && equalFold(src[i:k], name) && (k == len(src) || isHTMLSpace(src[k]) || src[k] == '/' || src[k] == '>')
}

// scriptEnd returns where the text of a <script> that starts at p ends: at
// its end tag, or the end of the input. As in browsers (the script data
// states of the HTML tokenizer), "<!--" starts an escaped part that "-->"
// ends, and in it a "<script" starts a part where "</script" does not end
// the element but only that part: in
//
//	<script><!--<script></script><a href="x">--></script>
//
// the link is script text.
func scriptEnd(src []byte, p int) int {
	const (
		data     = iota
		escaped  // after "<!--"
		escaped2 // after "<!--" and then "<script"
	)
	state := data
	for i := p; i < len(src); {
		var j int
		if state == data {
			j = bytes.IndexByte(src[i:], '<')
		} else {
			j = bytes.IndexAny(src[i:], "-<")
		}
		if j < 0 {
			break
		}
		i += j
		rest := src[i:]
		switch {
		case rest[0] == '-':
			if bytes.HasPrefix(rest, []byte("-->")) {
				state, i = data, i+3
			} else {
				i++
			}
		case len(rest) > 1 && rest[1] == '/' && tagAt(src, i+2, "script"):
			if state != escaped2 {
				return i
			}
			state, i = escaped, i+len("</script")+1
		case state == data && bytes.HasPrefix(rest, []byte("<!--")):
			state, i = escaped, i+2 // "<!-->" goes back at once: its "--" counts
		case state == escaped && tagAt(src, i+1, "script") && i+1+len("script") < len(src):
			state, i = escaped2, i+1+len("script")+1
		default:
			i++
		}
	}
	return len(src)
}

// markup reads what starts with "<!": a comment, a doctype, a CDATA section
// in foreign content, or a bogus comment.
func (z *scanner) markup() tokenKind {
	src, p := z.src, z.pos
	rest := src[p+2:]
	switch {
	case bytes.HasPrefix(rest, []byte("--")):
		data := p + 4
		z.kind, z.start = tokComment, p
		switch {
		case bytes.HasPrefix(src[data:], []byte(">")): // <!-->
			z.name, z.end = src[data:data], data+1
		case bytes.HasPrefix(src[data:], []byte("->")): // <!--->
			z.name, z.end = src[data:data], data+2
		default:
			z.end = len(src)
			z.name = src[data:]
			z.open = true
			for i := data; i < len(src); {
				j := bytes.Index(src[i:], []byte("--"))
				if j < 0 {
					break
				}
				j += i
				if j+2 < len(src) && src[j+2] == '>' {
					z.name, z.end, z.open = src[data:j], j+3, false
					break
				}
				if j+3 < len(src) && src[j+2] == '!' && src[j+3] == '>' {
					z.name, z.end, z.open = src[data:j], j+4, false
					break
				}
				i = j + 1
			}
		}
		z.pos = z.end
		return tokComment
	case len(rest) >= 7 && equalFold(rest[:7], "doctype"):
		z.kind, z.start = tokDoctype, p
		i := bytes.IndexByte(src[p:], '>')
		if i < 0 {
			z.pos, z.end = len(src), len(src)
			z.open = true
		} else {
			z.pos, z.end = p+i+1, p+i+1
		}
		z.name = src[p+2 : max(p+2, z.end-1)]
		return tokDoctype
	case z.foreign && bytes.HasPrefix(rest, []byte("[CDATA[")):
		z.kind, z.start, z.cdata = tokComment, p, true
		data := p + 9
		if i := bytes.Index(src[data:], []byte("]]>")); i >= 0 {
			z.name, z.end = src[data:data+i], data+i+3
		} else {
			z.name, z.end, z.open = src[data:], len(src), true
		}
		z.pos = z.end
		return tokComment
	}
	return z.bogusComment(p + 2)
}

// bogusComment reads a comment whose data starts at data and ends at the
// next '>'.
func (z *scanner) bogusComment(data int) tokenKind {
	z.kind, z.bogus = tokComment, true
	if i := bytes.IndexByte(z.src[data:], '>'); i >= 0 {
		z.name, z.end = z.src[data:data+i], data+i+1
	} else {
		z.name, z.end = z.src[data:], len(z.src)
	}
	z.pos = z.end
	return tokComment
}

// tag reads a start or end tag at z.pos. It reports false, having consumed
// the rest of the input, when the tag is cut off by its end.
func (z *scanner) tag(kind tokenKind) bool {
	src := z.src
	i := z.pos + 1
	if kind == tokEnd {
		i++
	}
	nameStart := i
	for i < len(src) && !isHTMLSpace(src[i]) && src[i] != '/' && src[i] != '>' {
		i++
	}
	z.name = src[nameStart:i]
	for {
		for i < len(src) && isHTMLSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			return z.cutOff()
		}
		switch src[i] {
		case '>':
			z.finish(kind, i+1)
			return true
		case '/':
			if i+1 < len(src) && src[i+1] == '>' {
				z.selfClose = true
				z.finish(kind, i+2)
				return true
			}
			z.odd = true
			i++
			continue
		}
		// An attribute name, which may start with '='.
		a := scanAttr{start: i}
		ks := i
		if src[i] == '=' {
			i++
		}
		for i < len(src) && !isHTMLSpace(src[i]) && src[i] != '/' && src[i] != '>' && src[i] != '=' {
			if c := src[i]; c == '"' || c == '\'' || c == '<' {
				z.odd = true
			}
			i++
		}
		a.key = src[ks:i]
		if src[ks] == '=' {
			z.odd = true
		}
		j := i
		for j < len(src) && isHTMLSpace(src[j]) {
			j++
		}
		if j < len(src) && src[j] == '=' {
			j++
			for j < len(src) && isHTMLSpace(src[j]) {
				j++
			}
			if j >= len(src) {
				return z.cutOff()
			}
			switch q := src[j]; q {
			case '"', '\'':
				e := bytes.IndexByte(src[j+1:], q)
				if e < 0 {
					return z.cutOff()
				}
				a.quote, a.val = q, src[j+1:j+1+e]
				i = j + 1 + e + 1
				if i < len(src) && !isHTMLSpace(src[i]) && src[i] != '/' && src[i] != '>' {
					z.odd = true // no space before the next attribute
				}
			case '>':
				a.val = src[j:j]
				i = j
				z.odd = true
			default:
				e := j
				for e < len(src) && !isHTMLSpace(src[e]) && src[e] != '>' {
					switch src[e] {
					case '"', '\'', '<', '=', '`':
						z.odd = true
					}
					e++
				}
				a.val = src[j:e]
				i = e
			}
		} else {
			a.val = src[i:i]
		}
		a.end = i
		if kind == tokStart {
			z.attrs = append(z.attrs, a)
		}
	}
}

func (z *scanner) cutOff() bool {
	z.kind, z.end, z.pos = tokEOF, len(z.src), len(z.src)
	z.attrs = z.attrs[:0]
	return false
}

func (z *scanner) finish(kind tokenKind, end int) {
	z.kind, z.end, z.pos = kind, end, end
	if kind != tokStart || len(z.attrs) < 2 {
		return
	}
	// A repeated attribute: browsers keep the first, and so will the output.
	if len(z.attrs) <= 16 {
		for i := 1; i < len(z.attrs); i++ {
			for j := range i {
				if equalFoldBytes(z.attrs[i].key, z.attrs[j].key) {
					z.attrs[i].dup, z.odd = true, true
					break
				}
			}
		}
		return
	}
	seen := make(map[string]bool, len(z.attrs))
	for i := range z.attrs {
		k := strings.ToLower(string(z.attrs[i].key))
		if seen[k] {
			z.attrs[i].dup, z.odd = true, true
		}
		seen[k] = true
	}
}

// equalFold reports whether b is s in ASCII case-insensitive comparison; s
// is lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// val returns the value of attribute i, entities decoded, as bytes that
// may be the source's own.
func (p *pass) val(i int) []byte {
	if i < 0 {
		return nil
	}
	a := &p.z.attrs[i]
	if !needsDecode(a.val) {
		return a.val
	}
	if v, ok := decodeCommon(a.val); ok {
		return v
	}
	return []byte(decodeAttr(a))
}

func needsDecode(v []byte) bool {
	return bytes.IndexByte(v, '&') >= 0 || bytes.IndexByte(v, '\r') >= 0 || bytes.IndexByte(v, 0) >= 0
}
