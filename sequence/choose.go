package sequence

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nurture-email/nurture"
)

// choose picks the lesson a choose step sends: among the lessons whose
// feature the contact has not used and which they have not been sent (by
// this enrollment or any other email), the first in file order of those
// that match the most: a matching role counts more than a matching
// industry. It says why, or, when none is left, why each was passed over.
func choose(lessons []Lesson, f *nurture.Facts, st State) (Lesson, string, bool) {
	best, bestScore := -1, -1
	var passed []string
	var bestWhy string
	for i, l := range lessons {
		if f.Eval(nurture.Did{Event: l.Feature, AtLeast: 1}) {
			passed = append(passed, l.Feature+" already used")
			continue
		}
		if hadTemplate(l.Template, f, st) {
			passed = append(passed, l.Template+" already sent")
			continue
		}
		score, why := 0, []string{l.Feature + " not used yet"}
		if r := matchAny(l.Roles, rolesOf(f.Contact)); r != "" {
			score += 2
			why = append(why, fmt.Sprintf("role matches %q", r))
		}
		if r := matchAny(l.Industries, industriesOf(f)); r != "" {
			score++
			why = append(why, fmt.Sprintf("industry matches %q", r))
		}
		if score > bestScore {
			best, bestScore, bestWhy = i, score, strings.Join(why, ", ")
		}
	}
	if best < 0 {
		return Lesson{}, "no lesson left (" + strings.Join(passed, "; ") + ")", false
	}
	return lessons[best], "lesson " + lessons[best].Template + ": " + bestWhy, true
}

func hadTemplate(name string, f *nurture.Facts, st State) bool {
	for _, s := range st.Sent {
		if s.Template == name {
			return true
		}
	}
	for _, e := range f.Emails {
		if e.Template == name && !e.SentAt.After(f.Now) {
			return true
		}
	}
	return false
}

func rolesOf(c *nurture.Contact) []string {
	if c == nil {
		return nil
	}
	return []string{c.Role, c.Department, c.Title}
}

func industriesOf(f *nurture.Facts) []string {
	var out []string
	if f.Contact != nil {
		out = append(out, f.Contact.Industry)
	}
	if s, ok := f.Company["industry"].(string); ok {
		out = append(out, s)
	}
	return out
}

// matchAny returns the first of wanted that appears, as whole words and
// without regard to case, in one of the fields ("engineering" is in
// "Engineering Manager", "engineer" is not), or "".
func matchAny(wanted, fields []string) string {
	for _, w := range wanted {
		phrase := " " + strings.Join(words(w), " ") + " "
		if phrase == "  " {
			continue
		}
		for _, f := range fields {
			if strings.Contains(" "+strings.Join(words(f), " ")+" ", phrase) {
				return w
			}
		}
	}
	return ""
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '&'
	})
}
