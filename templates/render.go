package templates

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// Data is what a template can show: who the email is for and what we know
// of them, which message it is, the links the recipient needs, the product
// that sends it, and how the caller tracks it.
//
// Data and Rendered are this package's own contract with its callers (the
// send path, previews, the email in a browser): they say what a template
// may read and what rendering gives back, and change with the templates.
// The values inside that are the domain's (Contact, EngagementSummary,
// Product, Topic) come from package nurture.
type Data struct {
	Contact nurture.Contact
	// Company is what is known of the contact's company: CompanyOf its
	// record, when it belongs to one. Render fills the fields left empty
	// with the contact's Company, Industry and TeamSize, so templates can
	// always read .Company.
	Company    Company
	Engagement nurture.EngagementSummary
	Message    MessageInfo
	Links      Links
	Product    nurture.Product
	// Subject, when set, replaces the template's subject: a text template
	// executed on the same data (see Set.CheckSubject), such as a
	// sequence step's subject override.
	Subject string
	// Track, when set, has the links of the email rewritten for click
	// tracking and an open pixel added, as far as the template's tracking
	// block allows. When nil (a preview), nothing is rewritten.
	Track *Tracking
}

// Company is what is known of a contact's company, from its company record
// (see CompanyOf: what the product's group calls said, and what research
// found) or the contact's own profile. Any field may be empty.
type Company struct {
	Name        string
	Domain      string // such as example.com
	Industry    string
	Size        string // the team size as known, such as "11-50"
	Description string // one or two sentences about what it does
}

// MessageInfo identifies the message being rendered and what sent it.
type MessageInfo struct {
	ID       int64
	Template string // the template's name; Render fills it in when empty
	Sequence string // the sequence the message is a step of, or ""
	Step     string // the step of that sequence, or ""
	Campaign string // the campaign the message belongs to, or ""
}

// Links are the recipient's links, absolute URLs built and signed by the
// caller. Any may be empty, and templates show only the ones given. They are
// never rewritten for click tracking.
type Links struct {
	Unsubscribe   string
	Preferences   string
	ViewInBrowser string
	// Confirm is the link that confirms an opt-in, given only to the
	// confirmation email (nurture.ConfirmTemplate).
	Confirm string
}

// Rendered is an email made for one contact, ready to be addressed and sent.
// Subject and Preheader are single lines of plain text; Text ends with a
// newline (unless the email has no text at all).
type Rendered struct {
	Subject   string
	Preheader string
	Topic     nurture.Topic
	HTML      string
	Text      string
}

// view is the value templates execute on: the caller's Data, less the
// tracking callbacks, and what has been rendered so far, so that the layout
// can show the subject in <title> and the preheader in the inbox preview.
// Its fields are not embedded: templates look fields up by name on every
// execution, and a promoted field costs reflect a search.
type view struct {
	Contact    nurture.Contact
	Company    Company
	Engagement nurture.EngagementSummary
	Message    MessageInfo
	Links      Links
	Product    nurture.Product
	Subject    string
	Preheader  string
}

func newView(d *Data) *view {
	return &view{Contact: d.Contact, Company: d.Company, Engagement: d.Engagement, Message: d.Message, Links: d.Links, Product: d.Product}
}

// Render renders the template called name for d. An unknown name is an
// *nurture.Error with code not_found; a template that fails for this data
// (its subject comes out empty, say) is one with code invalid, as trying
// again with the same data cannot help.
func (s *Set) Render(name string, d Data) (*Rendered, error) {
	m, ok := s.mails[name]
	if !ok {
		return nil, &nurture.Error{Code: nurture.CodeNotFound, Field: "template", Message: fmt.Sprintf("no email template named %q", name)}
	}
	var subject *texttemplate.Template
	if d.Subject != "" {
		t, err := s.subjects.get(d.Subject)
		if err != nil {
			return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "subject", Message: fmt.Sprintf("render %s: %v", name, err)}
		}
		subject = t
	}
	r, err := m.render(d, subject)
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "template", Message: fmt.Sprintf("render %s: %v", name, err)}
	}
	return r, nil
}

// render is the pipeline, one step after the other:
//
//  1. subject and preheader, as text, reduced to one line each;
//  2. the HTML body: the layout around the template's "body", executed;
//  3. one pass over that HTML (stream.go) that writes it out with the CSS
//     inlined (inline.go), the links rewritten for click tracking and the
//     open pixel added (track.go), and turns it to text (text.go);
//  4. the text body: the template's .txt (its links replaced with their
//     tracked URLs), or the text of that pass, which carries the same
//     links as the HTML.
//
// subject, when not nil, replaces the template's own subject.
func (m *mail) render(d Data, subject *texttemplate.Template) (*Rendered, error) {
	if d.Message.Template == "" {
		d.Message.Template = m.name
	}
	fillCompany(&d)
	v := newView(&d)
	r := &Rendered{Topic: m.topic}
	var err error

	if subject != nil {
		r.Subject, err = executeLine(subject, v)
	} else {
		r.Subject, err = m.line("subject", v)
	}
	if err != nil {
		return nil, err
	}
	if r.Subject == "" {
		return nil, fmt.Errorf("the subject is empty")
	}
	if m.hasPreheader {
		if r.Preheader, err = m.line("preheader", v); err != nil {
			return nil, err
		}
	}
	v.Subject, v.Preheader = r.Subject, r.Preheader

	t := newTracker(m.track, &d)
	t.record = m.text != nil
	pixel, err := t.pixel()
	if err != nil {
		return nil, err
	}
	src := buffers.Get().(*bytes.Buffer)
	defer func() {
		if src.Cap() <= maxPooledBuffer {
			src.Reset()
			buffers.Put(src)
		}
	}()
	size := int(m.size.Load())
	src.Grow(size)
	if err := m.html.Execute(src, v); err != nil {
		return nil, err
	}
	// The output becomes r.HTML without a copy: a builder of its own, of
	// the size the last emails had.
	var out strings.Builder
	out.Grow(max(size, src.Len()+256))
	text, err := renderHTML(src.Bytes(), &out, m.styles, &m.cascade, t, pixel, m.text == nil)
	if err != nil {
		return nil, fmt.Errorf("html: %w", err)
	}
	r.HTML = out.String()
	if size := int64(len(r.HTML)) + 256; size > m.size.Load() {
		m.size.Store(size)
	}

	if m.text != nil {
		var b strings.Builder
		if err := m.text.Execute(&b, v); err != nil {
			return nil, err
		}
		r.Text = cleanText(t.retarget(b.String()))
	} else {
		r.Text = text // clean by construction (FuzzRenderHTML checks it)
	}
	return r, nil
}

// buffers holds the buffers that emails are executed into, which a
// campaign would otherwise allocate afresh for each recipient.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer put back in the pool: one huge email
// must not pin its memory for the rest of the process.
const maxPooledBuffer = 1 << 20

// fillCompany fills what the caller did not say about the company from the
// contact's profile.
func fillCompany(d *Data) {
	c := &d.Company
	if strings.TrimSpace(c.Name) == "" {
		c.Name = d.Contact.Company
	}
	if strings.TrimSpace(c.Industry) == "" {
		c.Industry = d.Contact.Industry
	}
	if strings.TrimSpace(c.Size) == "" {
		c.Size = d.Contact.TeamSize
	}
}

// line executes one of the plain-text blocks and reduces it to one line.
func (m *mail) line(block string, v *view) (string, error) {
	var b strings.Builder
	if err := m.lines.ExecuteTemplate(&b, block, v); err != nil {
		return "", err
	}
	return oneLine(b.String()), nil
}

// cleanText gives a text body one shape whoever wrote it: LF line endings,
// no control characters but tabs, no spaces at the ends of lines, no blank
// lines at either end, and a final newline.
func cleanText(s string) string {
	if n := len(s); n > 1 && s[n-1] == '\n' && clean(s[:n-1]) {
		return s
	}
	if clean(s) {
		return s + "\n"
	}
	return cleanTextSlow(s)
}

func cleanTextSlow(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.Map(func(r rune) rune {
			if r == unicode.ReplacementChar || (unicode.IsControl(r) && r != '\t') {
				return -1
			}
			return r
		}, l)
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	s = strings.Trim(strings.Join(lines, "\n"), "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}

// clean reports whether cleanText has nothing to do to s but add the final
// newline: s is not empty, has LF line endings, no control characters but
// tabs, no spaces at the ends of lines and no blank lines at either end.
func clean(s string) bool {
	if s == "" || s[0] == '\n' || s[len(s)-1] == '\n' {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\v' || s[i-1] == '\f') {
					return false
				}
			case c == '\t':
				if i+1 == len(s) || s[i+1] == '\n' {
					return false
				}
			case c < ' ' || c == 0x7f:
				return false
			case c == ' ' && (i+1 == len(s) || s[i+1] == '\n'):
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return false
		}
		if unicode.IsSpace(r) && (i+size == len(s) || s[i+size] == '\n') {
			return false
		}
		i += size
	}
	return true
}
