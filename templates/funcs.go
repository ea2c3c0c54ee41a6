package templates

import (
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

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
		"localDate": localDate,
		"localTime": localTime,
		"language":  language,
		"did":       did,
		"audience":  audience,
		"asset":     asset,
		"resolve":   resolve,
		"partial":   noPartial,
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
	if isOneLine(s) {
		return s
	}
	return oneLineSlow(s)
}

func oneLineSlow(s string) string {
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

// did reports whether the contact did any of the named actions (track
// events) at least once. Names compare without regard to case, spaces,
// '_', '-' and '.', so "Project Created" is also "project_created".
func did(e nurture.EngagementSummary, names ...string) bool {
	for action, n := range e.Actions {
		if n <= 0 {
			continue
		}
		key := actionKey(action)
		for _, name := range names {
			if actionKey(name) == key {
				return true
			}
		}
	}
	return false
}

func actionKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\t':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// audiences are the groups audience sorts contacts into, each with the
// words of a role, department or title that say so, in the order they are
// tried: "Product Marketing Manager" is marketing, "Sales Engineer" sales.
var audiences = []struct {
	name  string
	words []string
}{
	{"marketing", []string{"marketing", "marketer", "growth", "seo", "content", "brand", "cmo", "demand", "communications", "pr"}},
	{"sales", []string{"sales", "account executive", "business development", "bdr", "sdr", "revenue", "cro", "partnerships"}},
	{"support", []string{"support", "customer success", "success", "customer service", "cx", "helpdesk"}},
	{"design", []string{"design", "designer", "ux", "ui", "creative"}},
	{"engineering", []string{"engineering", "engineer", "developer", "dev", "devops", "software", "sre", "cto", "architect", "r&d", "it", "technical", "programmer", "data", "security", "qa"}},
	{"product", []string{"product", "pm", "cpo"}},
	{"operations", []string{"operations", "ops", "finance", "hr", "people", "admin", "administration", "legal", "procurement", "coo", "cfo"}},
	{"leadership", []string{"ceo", "founder", "co-founder", "cofounder", "owner", "president", "director", "vp", "head", "chief", "executive", "partner", "principal"}},
}

// audience sorts the contact into one of a few groups, from their Role,
// then their Department, then their Title: marketing, sales, support,
// design, engineering, product, operations or leadership, or "" when none
// says. Templates use it to choose an angle:
// {{if eq (audience .Contact) "engineering"}}.
func audience(c nurture.Contact) string {
	for _, field := range []string{c.Role, c.Department, c.Title} {
		words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(field), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '&' && r != '-'
		}), " ") + " "
		if words == "  " {
			continue
		}
		for _, a := range audiences {
			for _, w := range a.words {
				if strings.Contains(words, " "+w+" ") {
					return a.name
				}
			}
		}
	}
	return ""
}

// asset returns the URL of an image under the product's AssetsURL, with
// one slash between them, or "" when there is no AssetsURL:
// {{with asset .Product "newsletter/hero.png"}}<img src="{{.}}" ...>{{end}}.
func asset(p nurture.Product, path string) string {
	base := strings.TrimSpace(p.AssetsURL)
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}

// resolve returns ref resolved against base as a browser resolves a link,
// or "" when base is not an absolute URL: {{resolve .Product.URL "/changelog"}}
// is the changelog on the product's site.
func resolve(base, ref string) string {
	return resolved.get(resolveKey{base, ref}, func(k resolveKey) string { return resolveURL(k.base, k.ref) })
}

// resolved remembers what resolve returned: the base is the product's URL
// and the references are literals of the templates, so each email of a
// campaign asks the same questions.
var resolved = memo[resolveKey, string]{max: 4096}

type resolveKey struct{ base, ref string }

func resolveURL(base, ref string) string {
	b, err := url.Parse(strings.TrimSpace(base))
	if err != nil || !b.IsAbs() || b.Host == "" {
		return ""
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return b.ResolveReference(r).String()
}

// isOneLine reports whether oneLine would return s as it is: visible
// characters with single spaces between words.
func isOneLine(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f || (c == ' ' && s[i+1] == ' ') {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == unicode.ReplacementChar || invisible(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
		i += size
	}
	return true
}
