package mailer

import (
	"bytes"
	"time"

	"github.com/nurture-email/nurture"
)

// The MIME message is written here, once, into one buffer: those bytes are
// what DKIM signs and what goes on the wire. go-mail's writer is not used
// for it; it cannot send bytes it did not write, so a signed message was
// serialised twice, through a byte-at-a-time quoted-printable writer, and
// that was a third of a worker's time per email.
//
// Everything written is 7-bit: header values that need it are RFC 2047
// encoded words (header.go), both bodies quoted-printable. Lines end in
// CRLF and stay within 78 characters where a header can be folded, 76 in
// the bodies.

// message is a composed email, ready to sign and send: the envelope and
// the whole RFC 5322 message.
type message struct {
	from, to string    // envelope addresses
	data     []byte    // header and body, CRLF line endings, not dot-stuffed
	date     time.Time // its Date, which a DKIM signature repeats as its time
}

// build writes e's message. date and boundary are given so that a test can
// make it twice alike; the checks of compose have been passed.
func build(e *checkedEmail, date time.Time, boundary string) ([]byte, error) {
	size := len(e.text) + len(e.html)
	b := bytes.NewBuffer(make([]byte, 0, 1024+size+size/8))
	w := &headerWriter{b: b}
	w.begin("From")
	w.address(" ", e.from, "")
	w.end()
	w.begin("To")
	w.address(" ", e.to, "")
	w.end()
	w.begin("Subject")
	w.text(e.subject, rawText)
	w.end()
	w.begin("Date")
	w.structured(date.Format(time.RFC1123Z))
	w.end()
	w.begin("Message-ID")
	w.structured("<" + e.messageID + ">")
	w.end()
	for _, h := range e.headers {
		w.begin(h.name)
		switch h.kind {
		case kindAddresses:
			for i, a := range h.addrs {
				sep, comma := " ", ","
				if i == len(h.addrs)-1 {
					comma = ""
				}
				w.address(sep, a, comma)
			}
		case kindListID:
			w.listID(h.phrase, h.id)
		case kindStructured:
			w.structured(h.value)
		default:
			w.text(h.value, rawText)
		}
		w.end()
	}
	if b.Len() > maxHeader {
		return nil, nurture.FieldError("Headers", "the message header would be %d octets, more than the %d relays take: shorten the subject or the names", b.Len(), maxHeader)
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
	return b.Bytes(), nil
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
