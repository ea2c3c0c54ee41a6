//go:build xtok

package templates

import (
	"bytes"

	"golang.org/x/net/html"
)

// This file is built only with -tags xtok, to measure the hand-written
// scanner of scan.go against golang.org/x/net/html's Tokenizer in the same
// one pass (docs/benchmarks.md, "HTML tokenizer"): go test -tags xtok
// ./templates runs every test of the package, golden files included, with
// it, and the same benchmarks.
//
// scanner, in this build, is the Tokenizer giving the pass (stream.go) the
// tokens the hand-written scanner gives: spans of the source for what is
// copied as it is (through Raw, whose lengths add up to the offsets), the
// tag name as written, and the attributes as the Tokenizer reads them (keys
// lower case, values decoded, repeats and empty names dropped). Start tags
// with attributes are always written again from those attributes, so that
// the output says what the Tokenizer read (the Tokenizer does not give the
// attributes' places in the source, which the hand-written scanner uses to
// copy the ones a rewritten tag keeps).
type scanner struct {
	src []byte
	pos int // the offset of the Tokenizer's next token in src

	rd        bytes.Reader
	tz        *html.Tokenizer
	wantRaw   bool // the pass said raw text follows the start tag just read
	lastStart bool // the token just read is a start tag
	textAt    int  // the rest of a text token, split at each stray '<'
	textEnd   int

	foreign bool

	kind       tokenKind
	start, end int
	name       []byte
	selfClose  bool
	attrs      []scanAttr
	odd        bool
	lt         bool
	open       bool
	bogus      bool
	rawText    bool
	cdata      bool
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

// scanAttr is one attribute of a start tag, as the Tokenizer reads it.
type scanAttr struct {
	key        []byte
	val        []byte // decoded
	quote      byte
	start, end int
	dup        bool
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func (z *scanner) reset(src []byte) {
	*z = scanner{src: src, attrs: z.attrs[:0]}
}

func (z *scanner) raw(string) { z.wantRaw = true }

func (z *scanner) next() tokenKind {
	z.attrs = z.attrs[:0]
	z.selfClose, z.odd, z.lt, z.open, z.bogus, z.rawText, z.cdata = false, false, false, false, false, false, false
	z.name = nil
	if z.textAt < z.textEnd {
		return z.textPiece()
	}
	if z.tz == nil {
		z.rd.Reset(z.src)
		z.tz = html.NewTokenizer(&z.rd)
	}
	if z.lastStart && !z.wantRaw {
		z.tz.NextIsNotRawText()
	}
	rawNext := z.lastStart && z.wantRaw
	z.lastStart, z.wantRaw = false, false
	z.tz.AllowCDATA(z.foreign)
	for {
		tt := z.tz.Next()
		raw := z.tz.Raw()
		start, end := z.pos, z.pos+len(raw)
		z.pos = end
		z.start, z.end = start, end
		src := z.src
		switch tt {
		case html.ErrorToken:
			z.kind, z.start, z.end = tokEOF, len(src), len(src)
			return tokEOF
		case html.TextToken:
			if z.foreign && bytes.HasPrefix(raw, []byte("<![CDATA[")) {
				z.kind, z.cdata = tokComment, true
				if len(raw) >= 12 && bytes.HasSuffix(raw, []byte("]]>")) {
					z.name = src[start+9 : end-3]
				} else {
					z.name, z.open = src[start+9:end], true
				}
				return tokComment
			}
			if rawNext {
				z.kind, z.name, z.rawText = tokText, src[start:end], true
				return tokText
			}
			z.textAt, z.textEnd = start, end
			return z.textPiece()
		case html.StartTagToken, html.SelfClosingTagToken:
			z.kind, z.selfClose, z.lastStart = tokStart, tt == html.SelfClosingTagToken, true
			i := start + 1
			for i < end && !isHTMLSpace(src[i]) && src[i] != '/' && src[i] != '>' {
				i++
			}
			z.name = src[start+1 : i]
			for {
				k, v, more := z.tz.TagAttr()
				if k == nil {
					break
				}
				z.attrs = append(z.attrs, scanAttr{key: k, val: v, quote: '"'})
				if !more {
					break
				}
			}
			// Written as it is only when it is exactly <name> or <name/>.
			plain := end-start == len(z.name)+2 || end-start == len(z.name)+3 && src[end-2] == '/'
			z.odd = len(z.attrs) > 0 || !plain
			return tokStart
		case html.EndTagToken:
			z.kind = tokEnd
			i := start + 2
			for i < end && !isHTMLSpace(src[i]) && src[i] != '/' && src[i] != '>' {
				i++
			}
			z.name = src[start+2 : i]
			return tokEnd
		case html.CommentToken:
			if string(raw) == "</>" {
				continue // nothing at all
			}
			z.kind = tokComment
			if bytes.HasPrefix(raw, []byte("<!--")) {
				closed := bytes.HasSuffix(raw, []byte("-->")) || len(raw) >= 8 && bytes.HasSuffix(raw, []byte("--!>"))
				z.open = end == len(src) && !closed
				return tokComment
			}
			z.bogus = true
			data := start + 2
			if raw[1] == '?' {
				data = start + 1
			}
			e := end
			if raw[len(raw)-1] == '>' {
				e--
			}
			z.name = src[data:max(data, e)]
			return tokComment
		case html.DoctypeToken:
			z.kind = tokDoctype
			z.open = raw[len(raw)-1] != '>'
			return tokDoctype
		}
	}
}

// textPiece returns the next piece of a text token split at each '<' (a
// '<' that starts no tag), the '<' alone.
func (z *scanner) textPiece() tokenKind {
	p := z.textAt
	if z.src[p] == '<' {
		z.lt = true
		z.textAt = p + 1
		z.kind, z.start, z.end, z.name = tokText, p, p+1, z.src[p:p+1]
		return tokText
	}
	e := z.textEnd
	if i := bytes.IndexByte(z.src[p:e], '<'); i >= 0 {
		e = p + i
	}
	z.textAt = e
	z.kind, z.start, z.end, z.name = tokText, p, e, z.src[p:e]
	return tokText
}

// val returns the value of attribute i, decoded by the Tokenizer.
func (p *pass) val(i int) []byte {
	if i < 0 {
		return nil
	}
	return p.z.attrs[i].val
}

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
