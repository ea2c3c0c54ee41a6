package templates

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html/atom"
)

// textWidth is the column at which generated text wraps: short enough for
// any mail client's plain-text view, long enough for a sentence.
const textWidth = 76

// HTMLToText returns a plain-text rendering of an HTML email, for the text
// part of a multipart message and for the readers who prefer it.
//
// Paragraphs, headings, tables and lists are separated by blank lines; list
// items start with "- " (or "1. " in an ordered list); a link becomes
// "text (url)", or just the url when the text is the url; an image is
// dropped unless its alt text says something; <br> is a line break; <pre>
// keeps its lines; the head, scripts, styles, comments (so Outlook's
// conditional comments) and elements hidden with display:none or the hidden
// attribute (such as a preheader) are left out. Entities are decoded, runs of
// spaces collapse, and lines are wrapped at 76 columns without breaking a
// word. The result has no trailing newline.
//
// It fails only on HTML nested deeper than 512 elements.
func HTMLToText(src string) (string, error) {
	return renderText([]byte(src))
}

// textConverter follows the elements and text of an HTML document, in
// document order, and collects blocks of text: the runs of inline content
// between block elements. Formatting (prefixes, wrapping, the blank lines
// between blocks) happens once all blocks are known.
type textConverter struct {
	blocks []textBlock

	cur     textBlock // the block being written, once started
	all     []byte    // the text of every block, one after the other: words separated by one space, '\n' for <br>
	started bool      // whether cur has any text
	space   bool      // whether a space is due before the next word
	sep     int       // the separation wanted before the next block

	prefixes []linePrefix // of the enclosing list items and quotes, outermost first
	lists    []listState  // the enclosing lists, innermost last
	links    []linkState  // the enclosing links, innermost last
	linkText []byte       // the text of the outermost link so far; inner ones end it
	scratch  []byte       // for format
	word     []byte       // for appendWord
	pre      int          // how many <pre> are open
}

// textBlock is one block of the output.
type textBlock struct {
	sep   int    // 1: on the next line; 2: after a blank line
	first string // the prefix of its first line
	rest  string // the prefix of its other lines
	pre   bool   // whether text is preformatted: no wrapping, lines kept
	start int    // its text is all[start:end]
	end   int
}

// linePrefix is what a list item or a quote puts before each line: first on
// its first line, rest on the others (and in the blocks that follow it).
type linePrefix struct {
	first, rest string
	used        bool
}

type listState struct {
	ordered bool
	next    int
	sep     int
}

type linkState struct {
	href  string
	start int // where its text starts in linkText
}

// textEnd is what the converter does when an element ends.
type textEnd uint8

const (
	textNone  textEnd = iota
	textBreak         // a block element: a break after it
	textLink
	textList
	textItem
	textQuote
	textPre
)

// textAttrs are the attributes of an element that the converter reads, as
// the email has them (style inlined, link tracked).
type textAttrs struct {
	hidden bool   // the hidden attribute, or display:none in its style
	href   string // of a link, trimmed
	alt    string // of an image
	start  string // of an ordered list
}

// reset empties c, keeping its buffers.
func (c *textConverter) reset() {
	*c = textConverter{blocks: c.blocks[:0], all: c.all[:0], prefixes: c.prefixes[:0], lists: c.lists[:0], links: c.links[:0], linkText: c.linkText[:0], scratch: c.scratch[:0], word: c.word[:0]}
}

// start handles the start of an element, and says what to do at its end and
// whether its content is to be left out.
func (c *textConverter) start(a atom.Atom, at *textAttrs) (end textEnd, skip bool) {
	if at.hidden {
		return textNone, true
	}
	switch a {
	case atom.Head, atom.Title, atom.Script, atom.Style, atom.Template, atom.Noscript,
		atom.Svg, atom.Math, atom.Iframe, atom.Object, atom.Select, atom.Textarea:
		return textNone, true
	case atom.Br:
		c.lineBreak()
	case atom.Img:
		if alt := oneLine(at.alt); meaningfulAlt(alt) {
			c.appendWord(alt)
			c.space = c.started
		}
	case atom.A:
		if !usefulHref(at.href) {
			return textNone, false
		}
		c.links = append(c.links, linkState{href: at.href, start: len(c.linkText)})
		return textLink, false
	case atom.Ul, atom.Ol:
		sep := 2
		if len(c.lists) > 0 {
			sep = 1 // a list in a list stays tight
		}
		l := listState{ordered: a == atom.Ol, next: 1, sep: sep}
		if start, err := strconv.Atoi(at.start); err == nil && l.ordered {
			l.next = start
		}
		c.blockBreak(sep)
		c.lists = append(c.lists, l)
		return textList, false
	case atom.Li:
		marker := "- "
		if len(c.lists) > 0 && c.lists[len(c.lists)-1].ordered {
			l := &c.lists[len(c.lists)-1]
			marker = strconv.Itoa(l.next) + ". "
			l.next++
		}
		c.nest(1, linePrefix{first: marker, rest: strings.Repeat(" ", utf8.RuneCountInString(marker))})
		return textItem, false
	case atom.Blockquote:
		c.nest(2, linePrefix{first: "> ", rest: "> "})
		return textQuote, false
	case atom.Pre:
		c.blockBreak(2)
		c.pre++
		return textPre, false
	default:
		if sep := blockSep(a); sep > 0 {
			c.blockBreak(sep)
			return textBreak, false
		}
	}
	return textNone, false
}

// end handles the end of an element that start said end of.
func (c *textConverter) end(a atom.Atom, end textEnd) {
	switch end {
	case textBreak:
		c.blockBreak(blockSep(a))
	case textLink:
		c.link()
	case textList:
		sep := c.lists[len(c.lists)-1].sep
		c.lists = c.lists[:len(c.lists)-1]
		c.blockBreak(sep)
	case textItem:
		c.unnest(1)
	case textQuote:
		c.unnest(2)
	case textPre:
		c.pre--
		c.blockBreak(2)
	}
}

// finish ends the last block and returns the text, which ends with a
// newline unless it is empty.
func (c *textConverter) finish() string {
	c.endBlock()
	return c.format()
}

// blockSep is the separation an element puts before and after itself: 2 for
// the elements that hold paragraphs, 1 for those that hold lines, 0 for
// inline elements.
func blockSep(a atom.Atom) int {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Dl,
		atom.Figure, atom.Hr, atom.Header, atom.Footer, atom.Section, atom.Article, atom.Aside,
		atom.Nav, atom.Main, atom.Address, atom.Form, atom.Fieldset, atom.Details:
		return 2
	case atom.Div, atom.Tr, atom.Td, atom.Th, atom.Dt, atom.Dd, atom.Caption, atom.Center,
		atom.Figcaption, atom.Summary, atom.Legend:
		return 1
	}
	return 0
}

// nest starts a block with a prefix on each of its lines.
func (c *textConverter) nest(sep int, p linePrefix) {
	c.blockBreak(sep)
	c.prefixes = append(c.prefixes, p)
}

func (c *textConverter) unnest(sep int) {
	c.prefixes = c.prefixes[:len(c.prefixes)-1]
	c.blockBreak(sep)
}

// link ends a link: its target follows its text, in parentheses, unless
// the text already shows it.
func (c *textConverter) link() {
	l := c.links[len(c.links)-1]
	c.links = c.links[:len(c.links)-1]
	t := oneLine(string(c.linkText[l.start:]))
	if len(c.links) == 0 {
		c.linkText = c.linkText[:0]
	}
	href := l.href
	if t != "" && sameTarget(t, href) {
		return
	}
	open, end := "", ""
	if t != "" {
		open, end = "(", ")"
	}
	if c.started || t == "" || len(c.blocks) == 0 {
		c.appendWord(open, href, end)
		return
	}
	// The link held blocks, which are finished: its target goes at the end
	// of the last one rather than on a line of its own.
	sep := c.sep
	c.cur = c.blocks[len(c.blocks)-1]
	c.blocks = c.blocks[:len(c.blocks)-1]
	c.started = true
	c.appendWord(open, href, end)
	c.endBlock()
	c.sep = sep
}

// usefulHref reports whether a reader of the text can do anything with
// href: not an anchor in the page, not a script.
func usefulHref(href string) bool {
	if href == "" || strings.HasPrefix(href, "#") {
		return false
	}
	for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
		if hasPrefixFold(href, scheme) {
			return false
		}
	}
	return true
}

// sameTarget reports whether a link's text already is its target, such as
// "ada@example.com" for "mailto:ada@example.com".
func sameTarget(text, href string) bool {
	norm := func(s string) string {
		for _, scheme := range []string{"mailto:", "tel:"} {
			if hasPrefixFold(s, scheme) {
				s = s[len(scheme):]
			}
		}
		return strings.TrimSuffix(s, "/")
	}
	a, b := norm(text), norm(href)
	if len(a) != len(b) {
		if isASCII(a) && isASCII(b) {
			return false
		}
		return strings.EqualFold(a, b) // non-ASCII case changes lengths
	}
	for i := range len(a) {
		if x, y := a[i], b[i]; x != y && (x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z') {
			return strings.EqualFold(a, b)
		}
	}
	return true
}

// meaningfulAlt reports whether an image's alt text is worth reading: it
// has a letter or a digit and is not a file name.
func meaningfulAlt(alt string) bool {
	for _, ext := range []string{".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico"} {
		if len(alt) >= len(ext) && hasPrefixFold(alt[len(alt)-len(ext):], ext) {
			return false
		}
	}
	return strings.ContainsFunc(alt, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
}

// hiddenStyle reports whether a style attribute hides its element: it says
// display:none, in any case and with any spaces around the colon.
func hiddenStyle[T string | []byte](style T) bool {
	const display, none = "display", "none"
	for i := 0; i+len(display) <= len(style); i++ {
		if !hasPrefixFold(style[i:], display) {
			continue
		}
		j := i + len(display)
		for j < len(style) && (isCSSSpace(style[j]) || style[j] == '\v') {
			j++
		}
		if j >= len(style) || style[j] != ':' {
			continue
		}
		for j++; j < len(style) && (isCSSSpace(style[j]) || style[j] == '\v'); j++ {
		}
		if hasPrefixFold(style[j:], none) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// in any case.
func hasPrefixFold[T string | []byte](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// blockBreak ends the current block and asks for at least sep line breaks
// before the next one. A sep of 0 does nothing.
func (c *textConverter) blockBreak(sep int) {
	if sep == 0 {
		return
	}
	c.endBlock()
	c.sep = max(c.sep, sep)
}

func (c *textConverter) startBlock() {
	c.started = true
	c.cur = textBlock{sep: c.sep, pre: c.pre > 0, start: len(c.all)}
	for i := range c.prefixes {
		p := &c.prefixes[i]
		if p.used {
			c.cur.first += p.rest
		} else {
			c.cur.first += p.first
		}
		c.cur.rest += p.rest
		p.used = true
	}
}

func (c *textConverter) endBlock() {
	if !c.started {
		return
	}
	c.cur.end = len(c.all)
	c.blocks = append(c.blocks, c.cur)
	c.started, c.space, c.sep = false, false, 0
}

// write adds text: in a <pre> as it is, elsewhere with its runs of white
// space collapsed; invisible characters are dropped.
func (c *textConverter) write(s []byte) {
	if c.pre > 0 {
		for i := 0; i < len(s); {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(s[i:])
			}
			if r == '\n' || r == '\t' || !dropped(r) {
				if !c.started {
					c.startBlock()
				}
				c.emit(s[i : i+size])
			}
			i += size
		}
		return
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v':
				c.space = c.started
				i++
			case b < ' ' || b == 0x7f:
				i++
			default:
				// Printable ASCII, with the single spaces between words.
				j := i + 1
				for j < len(s) {
					if d := s[j]; d > ' ' && d < 0x7f {
						j++
					} else if d == ' ' && j+1 < len(s) && s[j+1] > ' ' && s[j+1] < 0x7f {
						j += 2
					} else {
						break
					}
				}
				c.visible(s[i:j])
				i = j
			}
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case unicode.IsSpace(r):
			c.space = c.started
		case dropped(r):
		default:
			c.visible(s[i : i+size])
		}
		i += size
	}
}

// visible writes visible characters, after a space if one is due.
func (c *textConverter) visible(w []byte) {
	if !c.started {
		c.startBlock()
	} else if c.space {
		c.emit(space)
	}
	c.space = false
	c.emit(w)
}

var space = []byte{' '}

// appendWord adds the parts, as one word, after the text so far, separated
// by a space.
func (c *textConverter) appendWord(parts ...string) {
	c.word = c.word[:0]
	if c.pre > 0 && c.started {
		c.word = append(c.word, ' ')
	}
	for _, s := range parts {
		c.word = append(c.word, s...)
	}
	c.space = c.started
	c.write(c.word)
}

func (c *textConverter) lineBreak() {
	if c.pre > 0 {
		c.write([]byte{'\n'})
		return
	}
	if c.started {
		c.emit([]byte{'\n'})
		c.space = false
	}
}

// emit writes s to the block and to the text of the enclosing links.
func (c *textConverter) emit(s []byte) {
	c.all = append(c.all, s...)
	if len(c.links) > 0 {
		c.linkText = append(c.linkText, s...)
	}
}

// dropped reports whether r is a character that shows nothing in text:
// controls, zero-width and direction characters, soft hyphens, and the
// replacement for bytes that were not UTF-8.
func dropped(r rune) bool {
	switch r {
	case '\u200c', '\u034f', '\u00ad', '\u2060', utf8.RuneError:
		return true
	}
	return invisible(r) || unicode.IsControl(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
