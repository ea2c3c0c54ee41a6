package templates

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Character references: decoding the values of attributes and the text the
// pass reads, and escaping the values it writes.

// commonEntities are the named references that html/template writes and
// that emails use most, each of which stands for one character when it
// ends with ';', in text as in attributes.
var commonEntities = map[string]rune{
	"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\'', "nbsp": '\u00a0',
	"rarr": '→', "larr": '←', "ldquo": '“', "rdquo": '”', "lsquo": '‘', "rsquo": '’',
	"middot": '·', "mdash": '—', "ndash": '–', "hellip": '…', "bull": '•', "copy": '©',
	"reg": '®', "trade": '™', "euro": '€', "zwnj": '\u200c', "zwj": '\u200d', "shy": '\u00ad',
}

// decodeCommon decodes text or an attribute value whose only references are
// numeric ones or commonEntities, each with its ';'. It reports false for
// anything else (another named entity, a reference without ';', a CR),
// which the full decoders are for.
func decodeCommon(v []byte) ([]byte, bool) {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		c := v[i]
		switch c {
		case '\r', 0:
			return nil, false
		case '&':
		default:
			out = append(out, c)
			i++
			continue
		}
		end := bytes.IndexByte(v[i:min(len(v), i+12)], ';')
		if end < 2 {
			return nil, false
		}
		ref := v[i+1 : i+end]
		if r, ok := commonEntities[string(ref)]; ok {
			out = utf8.AppendRune(out, r)
		} else if r, ok := numericRef(ref); ok {
			out = utf8.AppendRune(out, r)
		} else {
			return nil, false
		}
		i += end + 1
	}
	return out, true
}

// numericRef reads "#NN" or "#xHH", reporting false for what
// golang.org/x/net/html would not take as it is: none at all, 0,
// surrogates, values past Unicode and the C1 range (which it maps as
// windows-1252 does).
func numericRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 7 {
		return 0, false
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*base + d
	}
	if r == 0 || (0x80 <= r && r <= 0x9f) || (0xd800 <= r && r <= 0xdfff) || r > unicode.MaxRune {
		return 0, false
	}
	return r, true
}

// decodeAttr decodes an attribute value as golang.org/x/net/html does,
// with its own rules for entities in attributes, by asking it.
func decodeAttr(a *scanAttr) string {
	var b bytes.Buffer
	b.WriteString("<a a=")
	if a.quote != 0 {
		b.WriteByte(a.quote)
	}
	b.Write(a.val)
	if a.quote != 0 {
		b.WriteByte(a.quote)
	}
	b.WriteString(">")
	z := html.NewTokenizer(&b)
	z.Next()
	_, v, _ := z.TagAttr()
	return string(v)
}

// escapeAttr writes s escaped for a quoted attribute value, as
// golang.org/x/net/html writes attributes.
func escapeAttr(w *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(esc)
		last = i + 1
	}
	w.WriteString(s[last:])
}

// escapeAttrBytes is escapeAttr for bytes.
func escapeAttrBytes(w *strings.Builder, s []byte) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		w.Write(s[last:i])
		w.WriteString(esc)
		last = i + 1
	}
	w.Write(s[last:])
}
