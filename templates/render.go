package templates

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/nurture-email/nurture"
)

// Data is what a template can show: who the email is for, which message it
// is, the links the recipient needs and the product that sends it.
type Data struct {
	Contact nurture.Contact
	Message MessageInfo
	Links   Links
	Product Product
}

// MessageInfo identifies the message being rendered.
type MessageInfo struct {
	ID       int64
	Template string // the template's name; Render fills it in when empty
}

// Links are the recipient's links, absolute URLs built and signed by the
// caller. Any may be empty, and templates show only the ones given.
type Links struct {
	Unsubscribe   string
	Preferences   string
	ViewInBrowser string
}

// Product describes the product that sends the email, from the engine's
// configuration.
type Product struct {
	Name    string
	URL     string // where the product's calls to action lead
	Address string // the sender's postal address, on one line, for the footer
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

// view is the value templates execute on: the caller's Data and what has
// been rendered so far, so that the layout can show the subject in <title>
// and the preheader in the inbox preview.
type view struct {
	Data
	Subject   string
	Preheader string
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
	r, err := m.render(d)
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "template", Message: fmt.Sprintf("render %s: %v", name, err)}
	}
	return r, nil
}

// render is the pipeline, one step after the other:
//
//  1. subject and preheader, as text, reduced to one line each;
//  2. the HTML body: the layout around the template's "body";
//  3. (to come) CSS inlining, then link rewriting for click tracking and the
//     open pixel, each a function from HTML to HTML;
//  4. the text body: the template's .txt, or the final HTML turned to text,
//     so that it carries the same links as the HTML.
func (m *mail) render(d Data) (*Rendered, error) {
	if d.Message.Template == "" {
		d.Message.Template = m.name
	}
	v := &view{Data: d}
	r := &Rendered{Topic: m.topic}
	var err error

	if r.Subject, err = m.line("subject", v); err != nil {
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

	var buf bytes.Buffer
	if err := m.html.Execute(&buf, v); err != nil {
		return nil, err
	}
	r.HTML = buf.String()

	if m.text != nil {
		buf.Reset()
		if err := m.text.Execute(&buf, v); err != nil {
			return nil, err
		}
		r.Text = cleanText(buf.String())
	} else {
		text, err := HTMLToText(r.HTML)
		if err != nil {
			return nil, fmt.Errorf("text body: %w", err)
		}
		r.Text = cleanText(text)
	}
	return r, nil
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
