package templates

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode/utf8"
)

// MaxSubject is the longest subject override, in characters, before it is
// executed: inboxes show about 60, and a longer line is a mistake.
const MaxSubject = 200

// maxCachedSubjects bounds the parsed overrides a Set keeps. Overrides come
// from sequence and campaign files, a few dozen in practice; past the bound
// each one is parsed again at every use rather than kept.
const maxCachedSubjects = 1000

// subjects caches parsed subject overrides by their source.
type subjects struct {
	mu     sync.Mutex
	parsed map[string]*texttemplate.Template
}

func (c *subjects) get(src string) (*texttemplate.Template, error) {
	c.mu.Lock()
	t, ok := c.parsed[src]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := parseSubject(src)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil {
		c.parsed = map[string]*texttemplate.Template{}
	}
	if len(c.parsed) < maxCachedSubjects {
		c.parsed[src] = t
	}
	c.mu.Unlock()
	return t, nil
}

func parseSubject(src string) (*texttemplate.Template, error) {
	switch {
	case strings.TrimSpace(src) == "":
		return nil, errors.New("the subject is empty")
	case strings.ContainsAny(src, "\r\n"):
		return nil, errors.New("a subject is one line")
	case !utf8.ValidString(src):
		return nil, errors.New("the subject is not valid UTF-8")
	case utf8.RuneCountInString(src) > MaxSubject:
		return nil, fmt.Errorf("the subject is %d characters; at most %d", utf8.RuneCountInString(src), MaxSubject)
	}
	return parseText("subject", src)
}

// CheckSubject reports whether src may replace a template's subject: one
// line of at most MaxSubject characters, a text template (such as
// "{{.Contact.FirstName}}, your first report") that executes on the data
// every template is tried with and never comes out empty.
func (s *Set) CheckSubject(src string) error {
	t, err := s.subjects.get(src)
	if err != nil {
		return err
	}
	for _, d := range samples() {
		fillCompany(&d)
		line, err := executeLine(t, newView(&d))
		if err != nil {
			return err
		}
		if line == "" {
			return errors.New("the subject comes out empty for a contact we know nothing about")
		}
	}
	return nil
}

func executeLine(t *texttemplate.Template, v *view) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", err
	}
	return oneLine(b.String()), nil
}
