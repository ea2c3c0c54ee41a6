package templates

import (
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strings"
	"unicode"

	"github.com/nurture-email/nurture"
)

// funcs returns the functions every template may call, as the package
// comment lists them. It builds a new map on each call so that no Set
// shares mutable state with another.
func funcs() map[string]any {
	return map[string]any{
		"default":   fallback,
		"firstName": firstName,
		"attr":      attr,
		"dict":      dict,
		"upper":     strings.ToUpper,
		"lower":     strings.ToLower,
		"trim":      strings.TrimSpace,
		"mso":       mso,
	}
}

// fallback is "default": the value is last so that it reads well in a
// pipeline, {{.Contact.Company | default "your team"}}.
func fallback(def any, given ...any) any {
	if len(given) == 0 || empty(given[0]) {
		return def
	}
	return given[0]
}

// empty reports whether v says nothing: nil, blank text, an empty list or map.
func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return strings.TrimSpace(rv.String()) == ""
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// firstName is the contact's first name made fit for a greeting or a
// subject: one line, spaces collapsed, or "" when unknown.
func firstName(c nurture.Contact) string {
	return oneLine(c.FirstName)
}

// attr returns one of the attributes the product sent for the contact, or
// nil when it sent none by that name.
func attr(c nurture.Contact, key string) any {
	return c.Attributes[key]
}

// dict builds a map from alternating keys and values.
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments (%d)", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %d is a %T, not a string", i/2, pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// mso wraps s in an Outlook conditional comment, which html/template would
// otherwise strip from the layout. It is meant for literals of the layout
// and refuses any s containing "--", the only way to close the comment
// early, so that even a misused mso cannot let data out of the comment.
func mso(s string) (htmltemplate.HTML, error) {
	if strings.Contains(s, "--") {
		return "", fmt.Errorf("mso: %q contains \"--\"", s)
	}
	return htmltemplate.HTML("<!--[if mso]>" + s + "<![endif]-->"), nil
}

// oneLine reduces s to one line of plain text, fit for a header: control
// characters and line breaks become spaces, invisible direction overrides
// (which can disguise text) are dropped, runs of spaces collapse to one and
// the ends are trimmed. Invalid UTF-8 is dropped.
func oneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar, invisible(r):
			continue
		case unicode.IsSpace(r), unicode.IsControl(r):
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisible reports whether r is a character that shows nothing and that a
// header or a greeting has no use for: bidirectional overrides and isolates,
// direction marks, the byte order mark and zero-width spaces.
func invisible(r rune) bool {
	switch {
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	switch r {
	case '\u200b', '\u200e', '\u200f', '\u061c', '\ufeff':
		return true
	}
	return false
}
