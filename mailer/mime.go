package mailer

import (
	"bytes"
	"encoding/base64"
	"mime"
	"strings"
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
	for _, a := range e.attachments {
		size += len(a.Data) * 3 / 2
	}
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
	if len(e.attachments) == 0 {
		bodies(b, e, boundary)
		return b.Bytes(), nil
	}
	// The bodies, then each file, in a multipart/mixed whose boundary is
	// not a prefix of the inner one, nor the inner one of it (rand.Text is
	// upper case base32).
	mixed := "mixed_" + boundary
	b.WriteString("Content-Type: multipart/mixed; boundary=\"")
	b.WriteString(mixed)
	b.WriteString("\"\r\n\r\n--")
	b.WriteString(mixed)
	b.WriteString("\r\n")
	bodies(b, e, boundary)
	for _, a := range e.attachments {
		b.WriteString("--")
		b.WriteString(mixed)
		b.WriteString("\r\n")
		attachment(b, a)
	}
	b.WriteString("--")
	b.WriteString(mixed)
	b.WriteString("--\r\n")
	return b.Bytes(), nil
}

// bodies writes the Content-Type of the email's bodies and the bodies:
// both in a multipart/alternative, or the one there is.
func bodies(b *bytes.Buffer, e *checkedEmail, boundary string) {
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
}

// attachment writes a file's part: its type and name (a parameter each,
// folded onto a line of its own; mime.FormatMediaType quotes the name,
// or percent-encodes it as RFC 2231 says when it is not ASCII) and its
// bytes in base64, 76 characters a line.
func attachment(b *bytes.Buffer, a nurture.Attachment) {
	param := func(name, typ, key string) {
		v := mime.FormatMediaType(typ, map[string]string{key: a.Filename})
		typ, params, _ := strings.Cut(v, "; ")
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(typ)
		b.WriteString(";\r\n ")
		b.WriteString(params)
		b.WriteString("\r\n")
	}
	param("Content-Type", a.ContentType, "name")
	param("Content-Disposition", "attachment", "filename")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	const chunk = 57 // 76 characters of base64
	line := make([]byte, base64.StdEncoding.EncodedLen(chunk))
	for data := a.Data; len(data) > 0; {
		n := min(chunk, len(data))
		base64.StdEncoding.Encode(line, data[:n])
		b.Write(line[:base64.StdEncoding.EncodedLen(n)])
		b.WriteString("\r\n")
		data = data[n:]
	}
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
