package mailer

import (
	"bytes"
	"encoding/base64"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// Header fields are written here, whatever their values: every line stays
// within 78 octets where a fold is possible, and within RFC 5322's 998 in
// any case. Text that cannot be folded where it stands (a word longer than
// a line, a long run of spaces, anything not printable ASCII, or text that
// a reader would take for an encoded word) becomes RFC 2047 encoded words,
// cut to the room left on each line. A 20,000-character first name is
// then about 320 folded lines, not one line that relays refuse with a 554.

// Limits of header lines and of the words in them.
const (
	maxLine        = 78 // RFC 5322 2.1.1's "SHOULD"
	maxEncodedWord = 75 // RFC 2047 2
	// maxGap is the longest run of spaces written as it is: a fold goes
	// before it, and a continuation line of white space only is not
	// allowed, so longer runs are encoded with the text next to them.
	maxGap = 8
	// maxRawWord is the longest word written as it is: with the spaces
	// before it, it fits a folded line.
	maxRawWord = maxLine - 1 - maxGap
	// maxToken is the longest word of a structured field (a URL, an id),
	// which can be neither folded nor encoded: it still fits in 998 octets
	// after the longest field name.
	maxToken = 998 - 80
	// maxHeader bounds the whole header section: relays cut or refuse
	// bigger ones (Postfix keeps 100 KB by default).
	maxHeader = 64 << 10
)

// fieldKind says how a field's value is written.
type fieldKind int

const (
	// kindText is unstructured text (Subject, X-*): encoded words where
	// needed.
	kindText fieldKind = iota
	// kindStructured holds URLs, ids and atoms (List-Unsubscribe,
	// Feedback-ID): never encoded, only folded at its spaces.
	kindStructured
	// kindAddresses is an address list (From, To, Reply-To).
	kindAddresses
	// kindListID is a phrase and <list-id> (RFC 2919).
	kindListID
)

// structuredFields are the extra headers whose syntax an encoded word
// would break, named in lower case.
var structuredFields = map[string]bool{
	"list-unsubscribe": true, "list-unsubscribe-post": true, "list-help": true, "list-subscribe": true,
	"list-post": true, "list-owner": true, "list-archive": true, "archived-at": true,
	"feedback-id": true, "precedence": true, "auto-submitted": true, "in-reply-to": true, "references": true,
}

// headerWriter writes the header section of a message, field by field.
type headerWriter struct {
	b     *bytes.Buffer
	col   int  // octets on the current line
	empty bool // nothing written yet after the field's name
}

func (w *headerWriter) begin(name string) {
	w.b.WriteString(name)
	w.b.WriteByte(':')
	w.col, w.empty = len(name)+1, true
}

func (w *headerWriter) end() { w.b.WriteString("\r\n") }

func (w *headerWriter) fold() {
	w.b.WriteString("\r\n")
	w.col = 0
}

func (w *headerWriter) put(sep, s string) {
	w.b.WriteString(sep)
	w.b.WriteString(s)
	w.col += len(sep) + len(s)
	w.empty = false
}

// raw writes sep (white space) and tok as they are, folding before sep
// when the line would pass maxLine, unless tok is too long for any line
// and the fold would only move it off the name's line.
func (w *headerWriter) raw(sep, tok string) {
	if w.col+len(sep)+len(tok) > maxLine && (!w.empty || len(sep)+len(tok) <= maxLine) {
		w.fold()
	}
	w.put(sep, tok)
}

// encoded writes text as UTF-8 encoded words, Q or B, whichever is
// shorter, each filling the room left on its line: sep goes before the
// first, a space before each of the others (white space between encoded
// words is not part of the text, RFC 2047 6.2). Words hold whole
// characters. The Q encoding keeps to the characters RFC 2047 5(3) allows
// in a phrase, so that the same words serve display names.
func (w *headerWriter) encoded(sep, text string) {
	b64 := base64Len(len(text)) < qLen(text)
	for first := true; text != ""; first = false {
		s := " "
		if first {
			s = sep
		}
		room := min(maxLine-w.col-len(s), maxEncodedWord)
		n := fitEncoded(text, room, b64)
		if n == 0 || (n < len(text) && room < 3*wordOverhead) {
			// Too little room here for a useful word: on a line of its own.
			w.fold()
			room = min(maxLine-len(s), maxEncodedWord)
			n = fitEncoded(text, room, b64)
		}
		w.b.WriteString(s)
		start := w.b.Len()
		if b64 {
			w.b.WriteString("=?UTF-8?b?")
			w.b.Write(base64.StdEncoding.AppendEncode(w.b.AvailableBuffer(), []byte(text[:n])))
		} else {
			w.b.WriteString("=?UTF-8?q?")
			for i := 0; i < n; i++ {
				switch c := text[i]; {
				case c == ' ':
					w.b.WriteByte('_')
				case qPhraseLiteral[c]:
					w.b.WriteByte(c)
				default:
					w.b.Write([]byte{'=', hexDigits[c>>4], hexDigits[c&0x0f]})
				}
			}
		}
		w.b.WriteString("?=")
		w.col += len(s) + w.b.Len() - start
		w.empty = false
		text = text[n:]
	}
}

// wordOverhead is what an encoded word adds to its text: =?UTF-8?q? and ?=.
const wordOverhead = len("=?UTF-8?q?") + len("?=")

// qPhraseLiteral marks the bytes the Q encoding writes as they are in a
// phrase (RFC 2047 5(3)): letters, digits and ! * + - /.
var qPhraseLiteral = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!*+-/" {
		t[c] = true
	}
	return t
}()

func qByteLen(c byte) int {
	if c == ' ' || qPhraseLiteral[c] {
		return 1
	}
	return 3
}

func qLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n += qByteLen(s[i])
	}
	return n
}

func base64Len(n int) int { return (n + 2) / 3 * 4 }

// fitEncoded returns how many bytes of text, whole characters, fit in an
// encoded word of at most room octets.
func fitEncoded(text string, room int, b64 bool) int {
	n, used := 0, 0
	for n < len(text) {
		_, size := utf8.DecodeRuneInString(text[n:])
		var l int
		if b64 {
			l = base64Len(n+size) - base64Len(n)
		} else {
			for i := n; i < n+size; i++ {
				l += qByteLen(text[i])
			}
		}
		if wordOverhead+used+l > room {
			break
		}
		used += l
		n += size
	}
	return n
}

// unit is a piece of a text value: a word written as it is, or text to
// encode, and the spaces before it.
type unit struct {
	gap  int
	text string
	enc  bool
}

// textUnits cuts s into words and the runs of spaces before them, and
// decides what to encode: any word that rawOK refuses; any run of more
// than maxGap spaces, with the word after it; spaces at the end, with the
// word before them (a fold cannot go there: a line of white space only is
// not allowed); and whatever lies between two encoded words, since a
// reader drops the white space between encoded words.
func textUnits(s string, rawOK func(string) bool) []unit {
	var units []unit
	gap := 0
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			gap++
		}
		if w == "" {
			continue
		}
		units = append(units, unit{gap: gap, text: w, enc: !rawOK(w)})
		gap = 0
	}
	if len(units) == 0 {
		if s == "" {
			return nil
		}
		return []unit{{text: s, enc: true}}
	}
	for i := range units {
		// A long run keeps one space (none before the first word) outside.
		if u := &units[i]; u.gap > maxGap {
			keep := min(i, 1)
			u.text, u.gap, u.enc = strings.Repeat(" ", u.gap-keep)+u.text, keep, true
		}
	}
	if gap > 0 {
		last := &units[len(units)-1]
		last.text, last.enc = last.text+strings.Repeat(" ", gap), true
	}
	// Neighbours to encode become one run, with the spaces between.
	merged := units[:0]
	for _, u := range units {
		if n := len(merged); n > 0 && u.enc && merged[n-1].enc {
			merged[n-1].text += strings.Repeat(" ", u.gap) + u.text
			continue
		}
		merged = append(merged, u)
	}
	return merged
}

// rawText reports whether a word of unstructured text can be written as
// it is: printable ASCII or tabs, not tabs alone (a fold before it would
// leave a line of white space), short enough to fold around, and not
// something a reader would decode as an encoded word.
func rawText(w string) bool {
	return len(w) <= maxRawWord && isASCIIText(w) && strings.Trim(w, "\t") != "" && !strings.Contains(w, "=?")
}

// rawPhraseWord reports whether a word of a phrase (a List-Id's) can be
// written as it is: an atom (RFC 5322 3.2.3) or dots, as rawText.
func rawPhraseWord(w string) bool {
	if !rawText(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isAtext(w[i]) && w[i] != '.' {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isASCIIText reports whether s is printable ASCII and tabs.
func isASCIIText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

// text writes s as unstructured text (or, with rawOK = rawPhraseWord, as
// a phrase) after the space that follows the field's colon.
func (w *headerWriter) text(s string, rawOK func(string) bool) {
	units := textUnits(s, rawOK)
	if len(units) == 0 {
		w.put(" ", "")
		return
	}
	for i, u := range units {
		sep := strings.Repeat(" ", u.gap)
		if i == 0 {
			sep = " " + sep
		}
		if u.enc {
			w.encoded(sep, u.text)
		} else {
			w.raw(sep, u.text)
		}
	}
}

// structured writes a value of URLs, ids or atoms as it is, folding at
// its spaces; checkStructured has kept its words within maxToken and its
// runs of spaces within maxGap.
func (w *headerWriter) structured(s string) {
	sep := " "
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			sep += " "
			continue
		}
		w.raw(sep, tok)
		sep = " "
	}
	if sep != " " {
		w.put(sep[1:], "")
	}
}

// address writes a mailbox: the display name, as a quoted string when it
// is printable ASCII that folds, as encoded words otherwise, then the
// address in angle brackets. sep goes before it; suffix (a comma between
// addresses) after it.
func (w *headerWriter) address(sep string, a *netmail.Address, suffix string) {
	if a.Name != "" {
		if quoted, ok := quotedName(a.Name); ok {
			units := textUnits(quoted, func(string) bool { return true })
			for i, u := range units {
				s := strings.Repeat(" ", u.gap)
				if i == 0 {
					s = sep
				}
				w.raw(s, u.text)
			}
		} else {
			w.encoded(sep, a.Name)
		}
		sep = " "
	}
	w.raw(sep, "<"+a.Address+">"+suffix)
}

// quotedName returns name as an RFC 5322 quoted string, when that is
// printable ASCII whose words and runs of spaces all fold as they are.
func quotedName(name string) (string, bool) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	if strings.Contains(name, "=?") {
		return "", false // some readers decode encoded words even in quotes
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('"')
	q := b.String()
	gap := 0
	for _, w := range strings.Split(q, " ") {
		if w == "" {
			if gap++; gap >= maxGap {
				return "", false
			}
			continue
		}
		if len(w) > maxRawWord {
			return "", false
		}
		gap = 0
	}
	return q, true
}

// listID writes a List-Id: its phrase, as words or encoded words, then
// <id> as it is.
func (w *headerWriter) listID(phrase, id string) {
	if phrase != "" {
		w.text(phrase, rawPhraseWord)
	}
	w.raw(" ", "<"+id+">")
}
