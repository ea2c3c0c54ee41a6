package mailer

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
)

// The MIME message is written here, once, into one buffer: those bytes are
// what DKIM signs and what goes on the wire. go-mail's writer is not used
// for it; it cannot send bytes it did not write, so a signed message was
// serialised twice, through a byte-at-a-time quoted-printable writer, and
// that was a third of a worker's time per email.
//
// Everything written is 7-bit: header values that need it are RFC 2047
// encoded words, both bodies quoted-printable. Lines end in CRLF and stay
// within 78 characters where a header can be folded, 76 in the bodies.

// maxLine is the length RFC 5322 asks header lines to keep to.
const maxLine = 78

// message is a composed email, ready to sign and send: the envelope and
// the whole RFC 5322 message.
type message struct {
	from, to string // envelope addresses
	data     []byte // header and body, CRLF line endings, not dot-stuffed
}

// header writes one header field, folded before a space where a line
// would pass 78 characters. The value must already be 7-bit and free of
// control characters; folding only inserts CRLF before a space, which
// unfolding takes out again.
func header(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	col, words := len(name)+1, 0
	rest := " " + value
	for rest != "" {
		// A segment is a space and the word after it.
		n := strings.IndexByte(rest[1:], ' ') + 1
		if n == 0 {
			n = len(rest)
		}
		seg := rest[:n]
		if words > 0 && n > 1 && col+n > maxLine {
			b.WriteString("\r\n")
			col, words = 0, 0
		}
		b.WriteString(seg)
		col += n
		if n > 1 {
			words++
		}
		rest = rest[n:]
	}
	b.WriteString("\r\n")
}

// unstructured encodes a free-text header value (the subject, an extra
// header) for the header: words of printable ASCII stay as they are, and
// each run of words that are not becomes RFC 2047 encoded words, the
// spaces between them inside (a decoder drops the white space between two
// encoded words). So "Ærø onboarding <onboarding.example.com>" keeps its
// list id readable, as List-Id needs. Long runs become several encoded
// words, separated by spaces to fold at.
func unstructured(s string) string {
	if isASCIIText(s) {
		return s
	}
	var b strings.Builder
	words := strings.Split(s, " ")
	for i := 0; i < len(words); {
		if i > 0 {
			b.WriteByte(' ')
		}
		if isASCIIText(words[i]) {
			b.WriteString(words[i])
			i++
			continue
		}
		// The run takes in empty words (runs of spaces) between two words
		// to encode, so that the spaces are kept.
		j, end := i+1, i+1
		for j < len(words) && (words[j] == "" || !isASCIIText(words[j])) {
			if j++; words[j-1] != "" {
				end = j
			}
		}
		j = end
		b.WriteString(mime.QEncoding.Encode("UTF-8", strings.Join(words[i:j], " ")))
		i = j
	}
	return b.String()
}

// isASCIIText reports whether s can stand in a header as it is: printable
// ASCII and tabs. (Text that looks like an encoded word is left alone too:
// a reader decodes it to what it says, which is no more than the same text
// given in Unicode could show.)
func isASCIIText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

// address formats a From, To or Reply-To address: a display name quoted
// or encoded as needed, as net/mail does it.
func address(a *netmail.Address) string {
	if a.Name == "" {
		return "<" + a.Address + ">"
	}
	return a.String()
}

// build writes e's message. date and boundary are given so that a test can
// make it twice alike; the checks of compose have been passed.
func build(e *checkedEmail, date time.Time, boundary string) []byte {
	size := len(e.text) + len(e.html)
	b := bytes.NewBuffer(make([]byte, 0, 1024+size+size/8))
	header(b, "From", address(e.from))
	header(b, "To", address(e.to))
	header(b, "Subject", unstructured(e.subject))
	header(b, "Date", date.Format(time.RFC1123Z))
	header(b, "Message-ID", "<"+e.messageID+">")
	for _, h := range e.headers {
		header(b, h.name, h.value)
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	switch {
	case e.text != "" && e.html != "":
		b.WriteString("Content-Type: multipart/alternative; boundary=\"")
		b.WriteString(boundary)
		b.WriteString("\"\r\n\r\n")
		part(b, boundary, "text/plain", e.text)
		part(b, boundary, "text/html", e.html)
		b.WriteString("--")
		b.WriteString(boundary)
		b.WriteString("--\r\n")
	case e.text != "":
		body(b, "text/plain", e.text)
	default:
		body(b, "text/html", e.html)
	}
	return b.Bytes()
}

// part writes one part of a multipart/alternative body.
func part(b *bytes.Buffer, boundary, contentType, content string) {
	b.WriteString("--")
	b.WriteString(boundary)
	b.WriteString("\r\n")
	body(b, contentType, content)
}

// body writes the content headers, a blank line and content in
// quoted-printable, ending with a line break.
func body(b *bytes.Buffer, contentType, content string) {
	b.WriteString("Content-Type: ")
	b.WriteString(contentType)
	b.WriteString("; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.Write(appendQP(b.AvailableBuffer(), content))
	b.WriteString("\r\n")
}
