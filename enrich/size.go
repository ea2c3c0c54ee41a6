package enrich

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// TeamSizeRanges are the team size ranges enrichment reports, smallest
// first: the buckets LinkedIn and most B2B data providers use, written the
// way nurture.NormalizeTeamSize keeps a range (Contact.TeamSize,
// .Company.Size), so that a condition such as "company.size >= 200" reads
// them as it reads a size a product sent.
var TeamSizeRanges = []string{"1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"}

// teamSizeTops are the upper bounds of TeamSizeRanges, but the last.
var teamSizeTops = []int{10, 50, 200, 500, 1000, 5000, 10000}

// TeamSizeOf returns the range holding a head count, or "" when n < 1.
func TeamSizeOf(n int) string {
	if n < 1 {
		return ""
	}
	for i, top := range teamSizeTops {
		if n <= top {
			return TeamSizeRanges[i]
		}
	}
	return TeamSizeRanges[len(TeamSizeRanges)-1]
}

// TeamSizeBetween returns the range for a company said to have between
// lo and hi people (schema.org's QuantitativeValue minValue/maxValue, a
// site's "50-200"): the range holding the middle of the two, so that a
// provider's own buckets (11-50) map to themselves and off-grid ones
// (10-50, 100-500) to the closest. hi < 1 means no upper bound ("500+",
// minValue alone): then lo decides, and a lo equal to the top of one of
// our ranges counts in the next one, because sites that write "50+" or
// "10,000+" mean more than that. It returns "" when neither bound is
// usable.
func TeamSizeBetween(lo, hi int) string {
	switch {
	case hi < 1 && lo < 1:
		return ""
	case hi < 1:
		for _, top := range teamSizeTops {
			if lo == top {
				return TeamSizeOf(lo + 1)
			}
		}
		return TeamSizeOf(lo)
	case lo < 1:
		lo = 1
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	return TeamSizeOf(lo + (hi-lo)/2)
}

// TeamSizeFromJSONLD reads schema.org's numberOfEmployees as decoded from
// JSON (encoding/json's any): a number, a numeric text, or a
// QuantitativeValue object with value, or minValue and maxValue. It
// returns "" for anything else.
func TeamSizeFromJSONLD(v any) string {
	switch v := v.(type) {
	case float64:
		return TeamSizeOf(clampInt(v))
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return ""
		}
		return TeamSizeOf(clampInt(f))
	case string:
		return ParseTeamSize(v)
	case map[string]any:
		if s := TeamSizeFromJSONLD(v["value"]); s != "" {
			return s
		}
		lo, hi := jsonInt(v["minValue"]), jsonInt(v["maxValue"])
		return TeamSizeBetween(lo, hi)
	}
	return ""
}

// jsonInt reads a count from a decoded JSON number or numeric text; 0 when
// there is none.
func jsonInt(v any) int {
	switch v := v.(type) {
	case float64:
		return clampInt(v)
	case json.Number:
		f, _ := v.Float64()
		return clampInt(f)
	case string:
		n, ok := parseCount(strings.TrimSpace(v), "")
		if ok {
			return n
		}
	}
	return 0
}

// clampInt converts a head count to int, keeping absurd values (NaN,
// 1e300) from overflowing: a billion people is already more than any
// employer.
func clampInt(f float64) int {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	if f > 1e9 {
		return 1e9
	}
	return int(f)
}

// Numbers as sites write them: 1,200 (English), 1.200 (German), 1 200 and
// 1'200 (French, Swiss), 1.5k, 5 mil (Spanish: thousand).
const sizeNumber = `(\d{1,3}(?:[,.' \x{a0}\x{202f}]\d{3})+|\d+(?:[.,]\d+)?)(?:\s*(k|thousand|mil|tsd)\b)?`

// sizeExpr finds a head count in folded text: an optional qualifier, a
// number, optionally a second number after a range word, optionally a
// "+". Qualifiers: group 1 "more than" in the four languages, group 2
// "fewer than"; approximations (about, environ, etwa, unos) need none.
var sizeExpr = regexp.MustCompile(`(?:\b(over|more than|above|at least|plus de|au moins|mehr als|uber|ueber|mindestens|mas de|al menos|>)\s*|\b(less than|fewer than|under|below|up to|moins de|jusqu.?a|weniger als|unter|bis zu|menos de|hasta|<)\s*)?` +
	sizeNumber + `(?:\s*(?:-|to|a|bis|et|y|und|and)\s*` + sizeNumber + `)?(\s*\+)?`)

// sizeWords name the people a head count counts, folded (accents and
// case): a number before or after one of them is the team size.
var sizeWords = regexp.MustCompile(`\b(employees?|staff|people|persons|team members|workers|headcount|fte|salaries|salarie|salariees|collaborateurs|collaboratrices|employes|personnes|mitarbeiter(innen)?|mitarbeitende|beschaftigte|angestellte|empleados|empleadas|trabajadores|personas|colaboradores)\b`)

// sizeFiller are the words that may surround a bare number without making
// it something other than a head count ("about 1,200", "ca. 50").
var sizeFiller = regexp.MustCompile(`\b(about|around|approximately|approx|roughly|circa|ca|environ|pres de|etwa|rund|ungefahr|unos|unas|aproximadamente|cerca de|size|team|company size|taille|effectif|grosse|tamano|plantilla)\b|[~:\s.,()]`)

// ParseTeamSize reads a team size from a text a company wrote: a range
// ("51-200", "50 to 200 employees", "zwischen 50 und 200 Mitarbeiter"), a
// bound ("10,000+", "more than 500 employees", "plus de 500 salariés",
// "über 500 Mitarbeiter", "más de 500 empleados", "fewer than 10 people")
// or a count ("about 1,200 employees", "1.200 Mitarbeiter", "1 200
// salariés", "1.5k staff"). In a longer text only a number next to a word
// for employees counts ("Founded in 1998, 250 employees" is 201-500), so
// a year or a price is never read as a head count. "Fewer than N" counts
// as N-1. It returns one of TeamSizeRanges, or "" when the text holds no
// clear head count.
func ParseTeamSize(text string) string {
	if len(text) > 2000 {
		text = text[:2000]
	}
	t := foldText(text)
	t = strings.NewReplacer("\u2013", "-", "\u2014", "-", "\u2012", "-", "\u2212", "-").Replace(t)
	matches := sizeExpr.FindAllStringSubmatchIndex(t, -1)
	if len(matches) == 0 {
		return ""
	}
	pick := -1
	if words := sizeWords.FindAllStringIndex(t, -1); len(words) > 0 {
		// The count just before the first word for employees, else the
		// first one after it ("employees: 250").
		for i, m := range matches {
			if m[1] <= words[0][0] && strings.TrimSpace(t[m[1]:words[0][0]]) == "" {
				pick = i
			}
		}
		if pick < 0 {
			for i, m := range matches {
				if m[0] >= words[0][1] && strings.Trim(t[words[0][1]:m[0]], " :=-") == "" {
					pick = i
					break
				}
			}
		}
	} else if len(matches) == 1 && strings.TrimSpace(sizeFiller.ReplaceAllString(t[:matches[0][0]]+" "+t[matches[0][1]:], " ")) == "" {
		pick = 0
	}
	if pick < 0 {
		return ""
	}
	m := matches[pick]
	group := func(i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return t[m[2*i]:m[2*i+1]]
	}
	lo, ok := parseCount(group(3), group(4))
	if !ok {
		return ""
	}
	if group(5) != "" {
		hi, ok := parseCount(group(5), group(6))
		if !ok {
			return ""
		}
		return TeamSizeBetween(lo, hi)
	}
	switch {
	case group(1) != "" || group(7) != "":
		return TeamSizeBetween(lo, 0)
	case group(2) != "":
		return TeamSizeOf(lo - 1)
	}
	return TeamSizeOf(lo)
}

// parseCount reads one number of sizeNumber and its multiplier word. A
// separator followed by exactly three digits groups thousands (1,200 and
// 1.200 are both twelve hundred); otherwise it is a decimal point (1.5k).
func parseCount(num, mult string) (int, bool) {
	if num == "" {
		return 0, false
	}
	var b strings.Builder
	decimal := false
	for i, r := range num {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == ',':
			rest := num[i+1:]
			if len(rest) == 3 || (len(rest) > 3 && !isDigit(rest[3])) {
				continue // a thousands separator
			}
			if decimal {
				return 0, false
			}
			decimal = true
			b.WriteByte('.')
		}
		// Spaces and apostrophes only ever group thousands.
	}
	f, err := strconv.ParseFloat(b.String(), 64)
	if err != nil {
		return 0, false
	}
	if mult != "" {
		f *= 1000
	}
	n := clampInt(f)
	return n, n > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
