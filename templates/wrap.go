package templates

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Laying out the blocks of the text body (text.go): prefixes, wrapping at
// textWidth columns, and the line breaks between blocks.

// format lays the blocks out: prefixes, wrapping and the separations. The
// text ends with a newline, unless it is empty.
func (c *textConverter) format() string {
	size := 0
	for _, b := range c.blocks {
		size += b.end - b.start + 2 + len(b.first) + 4*len(b.rest)
	}
	var out strings.Builder
	out.Grow(size + 1)
	lines := c.scratch[:0]
	for _, b := range c.blocks {
		lines = b.appendLines(lines[:0], c.all[b.start:b.end])
		if len(lines) == 0 {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('\n')
			if b.sep >= 2 {
				out.WriteByte('\n')
			}
		}
		out.Write(lines)
	}
	c.scratch = lines
	if out.Len() > 0 {
		out.WriteByte('\n')
	}
	return out.String()
}

// appendLines appends the block's lines to dst, prefixed, with no spaces
// at their ends, separated by line breaks. It appends nothing for a block
// with no text.
func (b textBlock) appendLines(dst, text []byte) []byte {
	n := 0 // lines so far
	add := func(s []byte) {
		if n > 0 {
			dst = append(dst, '\n')
		}
		start := len(dst)
		if n == 0 {
			dst = append(dst, b.first...)
		} else {
			dst = append(dst, b.rest...)
		}
		dst = append(dst, s...)
		dst = dst[:start+len(bytes.TrimRightFunc(dst[start:], unicode.IsSpace))]
		n++
	}
	if b.pre {
		lines := bytes.Split(text, []byte{'\n'})
		for len(lines) > 0 && len(bytes.TrimSpace(lines[0])) == 0 {
			lines = lines[1:]
		}
		for len(lines) > 0 && len(bytes.TrimSpace(lines[len(lines)-1])) == 0 {
			lines = lines[:len(lines)-1]
		}
		for _, l := range lines {
			add(l)
		}
		return dst
	}
	blank := false
	for rest := text; len(rest) > 0; {
		hard := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			hard, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(bytes.TrimSpace(hard)) == 0 {
			blank = n > 0
			continue
		}
		if blank {
			add(nil)
			blank = false
		}
		// Words, wrapped: a line is written once it is full.
		if n > 0 {
			dst = append(dst, '\n')
		}
		prefix := b.rest
		if n == 0 {
			prefix = b.first
		}
		lineStart := len(dst)
		dst = append(dst, prefix...)
		width := max(textWidth-utf8.RuneCountInString(prefix), 20)
		lineWidth := 0
		// breakLine ends the line being written (without trailing white
		// space) and starts the next, with the block's continuation prefix.
		breakLine := func() {
			dst = dst[:lineStart+len(bytes.TrimRightFunc(dst[lineStart:], unicode.IsSpace))]
			n++
			dst = append(dst, '\n')
			prefix = b.rest
			lineStart = len(dst)
			dst = append(dst, prefix...)
			width = max(textWidth-utf8.RuneCountInString(prefix), 20)
		}
		// Words are separated by one space: write made them so. Where
		// every character is one byte, a line is the longest run of words
		// that fits, found from the end.
		if rest := bytes.TrimLeft(hard, " "); isASCIIBytes(rest) {
			for {
				if len(rest) <= width {
					dst = append(dst, rest...)
					break
				}
				k := bytes.LastIndexByte(rest[:width+1], ' ')
				if k < 0 { // a word longer than the line
					if k = bytes.IndexByte(rest, ' '); k < 0 {
						dst = append(dst, rest...)
						break
					}
				}
				dst = append(dst, rest[:k]...)
				rest = rest[k+1:]
				breakLine()
			}
			hard = nil
		}
		for rest := hard; len(rest) > 0; {
			w := rest
			if i := bytes.IndexByte(rest, ' '); i >= 0 {
				w, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if len(w) == 0 {
				continue
			}
			wWidth := utf8.RuneCount(w)
			switch {
			case lineWidth == 0:
			case lineWidth+1+wWidth <= width:
				dst = append(dst, ' ')
				lineWidth++
			default:
				breakLine()
				lineWidth = 0
			}
			dst = append(dst, w...)
			lineWidth += wWidth
		}
		dst = dst[:lineStart+len(bytes.TrimRightFunc(dst[lineStart:], unicode.IsSpace))]
		n++
	}
	return dst
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
