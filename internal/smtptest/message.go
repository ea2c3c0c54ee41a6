package smtptest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// Header returns the decoded value (RFC 2047 encoded words resolved) of the
// message's first top-level header with that name, or "" when there is
// none, so a test can compare a subject or a display name as written.
func (m Message) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	raw := msg.Header.Get(name)
	dec := mime.WordDecoder{}
	if decoded, err := dec.DecodeHeader(raw); err == nil {
		return decoded
	}
	return raw
}

// Part returns the decoded body (quoted-printable or base64 undone) of the
// first MIME part whose media type is contentType, such as "text/plain" or
// "text/html", searching nested multiparts depth first; a single-part
// message is its own first part, returned without the line break that
// ends every DATA (as a multipart's parts come without the one before
// their boundary). It returns "" when there is no such part.
func (m Message) Part(contentType string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	raw, err := io.ReadAll(msg.Body)
	if err != nil {
		return ""
	}
	raw = bytes.TrimSuffix(raw, []byte("\r\n"))
	body, ok := findPart(textproto.MIMEHeader(msg.Header), bytes.NewReader(raw), strings.ToLower(contentType))
	if !ok {
		return ""
	}
	return body
}

func findPart(h textproto.MIMEHeader, body io.Reader, want string) (string, bool) {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain" // RFC 2045's default when the header is missing or broken
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return "", false
			}
			if got, ok := findPart(p.Header, p, want); ok {
				return got, true
			}
		}
	}
	if mediaType != want {
		return "", false
	}
	r := body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // it skips the line breaks itself
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", false
	}
	return string(b), true
}
