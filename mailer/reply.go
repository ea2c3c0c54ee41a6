package mailer

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Replies are read here rather than with net/textproto's ReadResponse,
// which refuses a reply code alone on its line ("250\r\n", which RFC 5321
// 4.2 allows), carries on past a continuation line of another code, and
// reads lines of any length. After the final "." those differences are
// not cosmetic: a reply misread there is an email sent twice or lost.

// Limits on a reply: RFC 5321 4.5.3.1.5 allows 512 octets a line; relays
// write longer texts, but a line or a reply without end is a relay gone
// wrong, not a reply to wait for.
const (
	maxReplyLine  = 2048 // octets, line ending included
	maxReplyLines = 100
	maxReplyText  = 1000 // characters of text kept for the history
)

// reply is what the relay answered to a command: its code, the enhanced
// status code (RFC 3463) its first line begins with, if any, and its text,
// lines joined by a newline. Returned as an error, it is the relay's
// answer when it is not the one hoped for.
type reply struct {
	code     int
	enhanced enhancedCode
	text     string
}

func (r *reply) Error() string {
	if r.text == "" {
		return strconv.Itoa(r.code)
	}
	return strconv.Itoa(r.code) + " " + r.text
}

// protocolError is a relay's answer that is not an SMTP reply: garbage, a
// line too long, a continuation of another code. The conversation is out
// of step and the connection must go.
type protocolError string

func (e protocolError) Error() string { return "smtp protocol error: " + string(e) }

// readReply reads one reply (RFC 5321 4.2): lines of a three-digit code,
// a '-' before every line but the last, which has a space or nothing
// after the code; all lines of the same code. Lines end with CRLF; a bare
// LF is taken as well. An I/O error (EOF, a timeout) is returned as it is.
func readReply(r *bufio.Reader) (*reply, error) {
	var (
		rp    reply
		lines []string
	)
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return nil, protocolError(fmt.Sprintf("reply of more than %d lines", maxReplyLines))
		}
		line, err := r.ReadSlice('\n')
		if len(line) > maxReplyLine || errors.Is(err, bufio.ErrBufferFull) {
			return nil, protocolError(fmt.Sprintf("reply line longer than %d octets", maxReplyLine))
		}
		if err != nil {
			return nil, err
		}
		line = line[:len(line)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		code, last, text, ok := parseReplyLine(line)
		switch {
		case !ok:
			return nil, protocolError(fmt.Sprintf("malformed reply line %q", clip(string(line), 80)))
		case n > 0 && code != rp.code:
			return nil, protocolError(fmt.Sprintf("reply line %q continues a %d reply", clip(string(line), 80), rp.code))
		}
		rp.code = code
		lines = append(lines, text)
		if last {
			break
		}
	}
	rp.enhanced = parseEnhancedCode(lines[0], rp.code)
	rp.text = printable(strings.Join(lines, "\n"), maxReplyText)
	return &rp, nil
}

// parseReplyLine splits a reply line without its line ending: the code
// (RFC 5321's grammar: 2-5, 0-5, 0-9), whether it is the reply's last
// line, and the text.
func parseReplyLine(line []byte) (code int, last bool, text string, ok bool) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' || line[2] > '9' {
		return 0, false, "", false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, true, "", true
	case line[3] == ' ':
		return code, true, string(line[4:]), true
	case line[3] == '-':
		return code, false, string(line[4:]), true
	}
	return 0, false, "", false
}

// enhancedCode is an RFC 3463 status code, class.subject.detail, such as
// 5.1.1; the zero value means the reply had none.
type enhancedCode struct{ class, subject, detail int }

func (e enhancedCode) String() string {
	if e.class == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e.class, e.subject, e.detail)
}

// parseEnhancedCode reads the enhanced status code at the start of a
// reply's text: a class digit that matches the reply code's (2, 4 or 5),
// then a subject and a detail of one to three digits each, then a space or
// the end of the text. Anything else is no code.
func parseEnhancedCode(text string, code int) enhancedCode {
	if len(text) < 5 || text[0] != byte('0'+code/100) || text[1] != '.' {
		return enhancedCode{}
	}
	subject, rest, ok := digits(text[2:])
	if !ok || rest == "" || rest[0] != '.' {
		return enhancedCode{}
	}
	detail, rest, ok := digits(rest[1:])
	if !ok || (rest != "" && rest[0] != ' ') {
		return enhancedCode{}
	}
	return enhancedCode{class: code / 100, subject: subject, detail: detail}
}

// digits reads one to three decimal digits at the start of s.
func digits(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && i < 4 && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i > 3 {
		return 0, s, false
	}
	return n, s[i:], true
}

// printable makes a relay's text fit to store and show: valid UTF-8, no
// control characters but the newlines between lines (a NUL would not even
// go into PostgreSQL), at most max characters.
func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r != '\n' && unicode.IsControl(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// clip shortens s for an error message.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
