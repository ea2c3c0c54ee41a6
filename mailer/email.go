package mailer

import (
	"crypto/rand"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// isManaged reports whether a header (named in lower case) is written by
// the mailer itself: an extra header of that name would duplicate or
// contradict it (a second To, a Bcc, a Content-Type that breaks the MIME
// structure, a DKIM-Signature we did not make), so Email.Headers may not
// carry it.
func isManaged(lower string) bool {
	switch lower {
	case "from", "to", "cc", "bcc", "sender", "subject", "date", "message-id", "return-path",
		"mime-version", "content-type", "content-transfer-encoding", "dkim-signature":
		return true
	}
	return false
}

// checkedEmail is an Email whose every header value has passed the checks
// below and has been encoded for the header it goes in.
type checkedEmail struct {
	messageID   string
	from, to    *netmail.Address
	subject     string
	headers     []field
	text, html  string
	attachments []nurture.Attachment
}

// field is an extra header, checked, with what its kind needs to write it.
type field struct {
	name, value string
	kind        fieldKind
	addrs       []*netmail.Address // kindAddresses
	phrase, id  string             // kindListID
}

// compose checks e and writes its message. Everything that ends up in a
// header is checked first: a CR or LF there would let the text that follows
// become headers of its own (a Bcc, a second body), so such input is
// refused with an invalid *nurture.Error naming the field, never cleaned.
// Text of any length is folded (header.go); only a header section too big
// for relays to take is refused.
func compose(e *nurture.Email, date time.Time) (*message, error) {
	c, err := check(e)
	if err != nil {
		return nil, err
	}
	data, err := build(c, date, rand.Text())
	if err != nil {
		return nil, err
	}
	return &message{from: c.from.Address, to: c.to.Address, data: data, date: date}, nil
}

func check(e *nurture.Email) (*checkedEmail, error) {
	if e == nil {
		return nil, nurture.Errorf(nurture.CodeInvalid, "no email to send")
	}
	if err := checkMessageID(e.MessageID); err != nil {
		return nil, err
	}
	from, err := checkAddress("From", e.From)
	if err != nil {
		return nil, err
	}
	to, err := checkAddress("To", e.To)
	if err != nil {
		return nil, err
	}
	if err := checkText("Subject", e.Subject); err != nil {
		return nil, err
	}
	if e.Text == "" && e.HTML == "" {
		return nil, nurture.FieldError("Text", "neither a text nor an HTML body")
	}
	headers, err := checkHeaders(e.Headers)
	if err != nil {
		return nil, err
	}
	if err := checkAttachments(e.Attachments); err != nil {
		return nil, err
	}
	return &checkedEmail{messageID: e.MessageID, from: from, to: to, subject: e.Subject,
		headers: headers, text: e.Text, html: e.HTML, attachments: e.Attachments}, nil
}

// maxFilename is the longest attachment name taken, in octets: even
// percent-encoded (RFC 2231) it keeps its header line well within RFC
// 5322's 998 characters.
const maxFilename = 200

// checkAttachments checks each attachment's name and media type, the two
// things of it that go into headers: a name is text without control
// characters, quotes, backslashes or path separators, and a type is a bare
// type/subtype of a single part (no parameters, no multipart or message
// type whose structure the mailer would not write).
func checkAttachments(as []nurture.Attachment) error {
	for i, a := range as {
		field := fmt.Sprintf("Attachments[%d]", i)
		if a.Filename == "" || len(a.Filename) > maxFilename {
			return nurture.FieldError(field+".Filename", "must have 1 to %d octets", maxFilename)
		}
		if err := checkText(field+".Filename", a.Filename); err != nil {
			return err
		}
		if strings.ContainsAny(a.Filename, "\"/\\") || a.Filename == "." || a.Filename == ".." {
			return nurture.FieldError(field+".Filename", "%q holds a quote, a backslash or a path separator", a.Filename)
		}
		mt, params, err := mime.ParseMediaType(a.ContentType)
		if err != nil || len(params) > 0 || mt != a.ContentType {
			return nurture.FieldError(field+".ContentType", "%q is not a bare media type in lower case, such as application/json", a.ContentType)
		}
		if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
			return nurture.FieldError(field+".ContentType", "%q is a composite type", mt)
		}
	}
	return nil
}

// checkHeaders checks the extra headers and says how each is written:
// Reply-To as an address list, List-Id as a phrase and an id, the fields
// whose syntax an encoded word would break (structuredFields) as they are,
// and the others as unstructured text.
func checkHeaders(headers []nurture.Header) ([]field, error) {
	out := make([]field, 0, len(headers))
	for _, h := range headers {
		if !isFieldName(h.Name) {
			return nil, nurture.FieldError("Headers", "header name %q is not a valid RFC 5322 field name", h.Name)
		}
		lower := strings.ToLower(h.Name)
		if isManaged(lower) {
			return nil, nurture.FieldError(h.Name, "is set by the mailer and cannot be an extra header")
		}
		for _, f := range out {
			if strings.EqualFold(f.name, h.Name) {
				return nil, nurture.FieldError(h.Name, "header given twice")
			}
		}
		if err := checkText(h.Name, h.Value); err != nil {
			return nil, err
		}
		f := field{name: h.Name, value: h.Value, kind: kindText}
		switch {
		case lower == "reply-to":
			list, err := netmail.ParseAddressList(h.Value)
			if err != nil {
				return nil, nurture.FieldError(h.Name, "not an address list: %v", err)
			}
			for _, a := range list {
				if _, err := checkAddress(h.Name, *a); err != nil {
					return nil, err
				}
			}
			f.kind, f.addrs = kindAddresses, list
		case lower == "list-id":
			open := strings.LastIndexByte(h.Value, '<')
			if open < 0 || !strings.HasSuffix(h.Value, ">") {
				return nil, nurture.FieldError(h.Name, "want a name and <list-id>, such as: Acme news <news.acme.example>")
			}
			f.kind, f.phrase, f.id = kindListID, strings.TrimSpace(h.Value[:open]), h.Value[open+1:len(h.Value)-1]
			if f.id == "" || len(f.id) > 255 || !isASCIIText(f.id) || strings.ContainsAny(f.id, " \t<>") {
				return nil, nurture.FieldError(h.Name, "list id %q is not a dot-atom of at most 255 characters", f.id)
			}
		case structuredFields[lower]:
			if err := checkStructured(h.Name, h.Value); err != nil {
				return nil, err
			}
			f.kind = kindStructured
		}
		out = append(out, f)
	}
	return out, nil
}

// checkStructured checks the value of a field written as it is: printable
// ASCII, words that fit on a line even though they cannot be folded, and
// runs of spaces short enough to fold before.
func checkStructured(name, value string) error {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e {
			return nurture.FieldError(name, "must be printable ASCII (URLs and ids are not encoded)")
		}
	}
	for _, tok := range strings.Split(value, " ") {
		if len(tok) > maxToken {
			return nurture.FieldError(name, "a word of %d characters, longer than a header line can hold (%d)", len(tok), maxToken)
		}
	}
	if strings.Contains(value, strings.Repeat(" ", maxGap+1)) {
		return nurture.FieldError(name, "a run of more than %d spaces", maxGap)
	}
	return nil
}

// isFieldName reports whether s is an RFC 5322 field name: one or more
// printable US-ASCII characters other than the colon. The length limit
// keeps the header line within RFC 5322's 998 characters.
func isFieldName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// checkText refuses a header value or display name that is not UTF-8 or
// holds a control character (CR, LF, NUL, DEL, C1 ...); a tab is allowed,
// as RFC 5322 allows it in unstructured fields.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return nurture.FieldError(field, "not valid UTF-8")
	}
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return nurture.FieldError(field, "contains the control character %U", r)
		}
	}
	return nil
}

// maxAddress is the longest address taken: an SMTP path holds 256 octets
// with its angle brackets (RFC 5321 4.5.3.1.3).
const maxAddress = 254

// checkAddress checks a From, To or Reply-To address: the display name as
// text, and the address as a bare addr-spec of at most maxAddress octets
// that net/mail reads back unchanged.
func checkAddress(field string, a netmail.Address) (*netmail.Address, error) {
	if err := checkText(field, a.Name); err != nil {
		return nil, err
	}
	if a.Address == "" {
		return nil, nurture.FieldError(field, "address missing")
	}
	if len(a.Address) > maxAddress {
		return nil, nurture.FieldError(field, "address longer than %d octets", maxAddress)
	}
	if err := checkText(field, a.Address); err != nil {
		return nil, err
	}
	parsed, err := netmail.ParseAddress("<" + a.Address + ">")
	if err != nil || parsed.Address != a.Address {
		return nil, nurture.FieldError(field, "%q is not a valid email address", a.Address)
	}
	return &netmail.Address{Name: a.Name, Address: a.Address}, nil
}

// checkMessageID checks the id-left@id-right that goes between the angle
// brackets of Message-ID: bounces and replies are matched to the message
// row by it, so it is required and must survive the trip intact.
func checkMessageID(id string) error {
	if id == "" {
		return nurture.FieldError("MessageID", "missing")
	}
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || len(id) > 250 {
		return nurture.FieldError("MessageID", "%q is not of the form left@right", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 33 || c > 126 || strings.IndexByte(`<>()[]\",;: `, c) >= 0 {
			return nurture.FieldError("MessageID", "%q contains %q", id, string(rune(c)))
		}
	}
	return nil
}
