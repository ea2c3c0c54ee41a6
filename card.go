package nurture

import (
	"encoding/json"
	"strings"
)

// MaskCard returns "**** 1234" when s looks like a payment card number (13
// to 19 digits, optionally grouped with spaces or dashes, passing the Luhn
// check), and ok=false otherwise. Nurture never stores a card number: every
// value that comes in from outside goes through ScrubCards first.
func MaskCard(s string) (masked string, ok bool) {
	if len(s) < 13 || len(s) > 19+6 {
		return "", false
	}
	digits := make([]byte, 0, 19)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-':
			if i == 0 || i == len(s)-1 {
				return "", false
			}
		default:
			return "", false
		}
	}
	if len(digits) < 13 || len(digits) > 19 || !luhn(digits) {
		return "", false
	}
	return "**** " + string(digits[len(digits)-4:]), true
}

// luhn reports whether digits pass the Luhn check that every card number
// passes.
func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ScrubCards walks a decoded JSON value (maps, slices, strings, numbers as
// json.Number or float64) and masks every card number in it, in place where
// it can: a string or number that is one (MaskCard), and a card number
// written inside text or a map key (MaskCardsInText). It returns the
// scrubbed value and whether anything was masked.
func ScrubCards(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		if m, ok := MaskCard(strings.TrimSpace(v)); ok {
			return m, true
		}
		if m, ok := MaskCardsInText(v); ok {
			return m, true
		}
	case json.Number:
		if m, ok := MaskCard(v.String()); ok {
			return m, true
		}
	case float64:
		// Large integers decoded as float64 lose digits past 2^53; decoders
		// of outside input use json.Number so this is only a safety net.
		if v >= 1e12 && v < 1e19 && v == float64(int64(v)) {
			if m, ok := MaskCard(json.Number(formatInt(int64(v))).String()); ok {
				return m, true
			}
		}
	case map[string]any:
		changed := false
		var renamed map[string]string
		for k, e := range v {
			if s, ok := ScrubCards(e); ok {
				v[k], changed = s, true
			}
			if m, ok := MaskCardsInText(k); ok {
				if renamed == nil {
					renamed = map[string]string{}
				}
				renamed[k] = m
			}
		}
		// Keys are renamed after the walk: a map may not grow while it is
		// ranged over.
		for k, m := range renamed {
			v[m] = v[k]
			delete(v, k)
		}
		return v, changed || renamed != nil
	case []any:
		changed := false
		for i, e := range v {
			if s, ok := ScrubCards(e); ok {
				v[i], changed = s, true
			}
		}
		return v, changed
	}
	return v, false
}

// MaskCardsInText masks every card number written inside s ("paid with
// 5555-5555-5555-4444" becomes "paid with **** 4444") and reports whether
// it masked any. A card number here is 13 to 19 digits, in groups joined by
// single spaces or dashes, not touching other digits, that passes the Luhn
// check and starts with an issuer prefix of a card scheme (Visa, Mastercard,
// American Express, Discover, JCB, Diners Club, UnionPay). The prefix is
// what whole values do not need: in text, a run of digits is more often a
// reference, a phone number or a timestamp than a card, and one in ten
// passes the Luhn check by chance.
//
// Within a longer run of groups ("card 4242 4242 4242 4242 0128"), any
// stretch of whole groups can be the card: the longest from the leftmost
// group is masked. The last four digits kept by a mask are checked again
// with what follows them, so the result never holds a card number and
// masking it again changes nothing.
func MaskCardsInText(s string) (string, bool) {
	if len(s) < 13 {
		return s, false
	}
	var (
		out    []byte // nil until something is masked
		copied int    // s[:copied] is in out already
		buf    [8]cardGroup
		groups = buf[:0]
	)
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// A run: groups of digits joined by single separators.
		start, digits := i, 0
		groups = groups[:0]
		for {
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			groups = append(groups, cardGroup{digits: s[i:j]})
			digits += j - i
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
				groups[len(groups)-1].sep = s[j]
				i = j + 1
				continue
			}
			i = j
			break
		}
		if digits < 13 || !hasCard(groups) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(s)) // a mask is shorter than what it hides
		}
		out = append(out, s[copied:start]...)
		out = maskRun(out, groups)
		copied = i
	}
	if out == nil {
		return s, false
	}
	return string(append(out, s[copied:]...)), true
}

// cardGroup is one group of digits of a run, and the separator after it
// (0 for the last).
type cardGroup struct {
	digits string
	sep    byte
	masked bool // the last four digits of a masked card: "**** " comes first
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cardAt returns the last group of the longest card number that starts at
// groups[k] and ends with a whole group, and the number's digits.
func cardAt(groups []cardGroup, k int, buf *[19]byte) (end int, number []byte, ok bool) {
	n := 0
	for j := k; j < len(groups); j++ {
		g := groups[j].digits
		if n+len(g) > len(buf) {
			break
		}
		n += copy(buf[n:], g)
		if n >= 13 && cardPrefix(buf[:n]) && luhn(buf[:n]) {
			end, number, ok = j, buf[:n], true
		}
	}
	return end, number, ok
}

func hasCard(groups []cardGroup) bool {
	var buf [19]byte
	for k := range groups {
		if _, _, ok := cardAt(groups, k, &buf); ok {
			return true
		}
	}
	return false
}

// maskRun appends the run of groups to out with every card in it masked.
func maskRun(out []byte, groups []cardGroup) []byte {
	var buf [19]byte
	for k := 0; k < len(groups); {
		g := &groups[k]
		if g.masked {
			out = append(out, "**** "...)
		}
		end, number, ok := cardAt(groups, k, &buf)
		if !ok {
			out = append(out, g.digits...)
			if g.sep != 0 {
				out = append(out, g.sep)
			}
			k++
			continue
		}
		// The card's last four digits become the first group of what is
		// left of the run, so that they are checked with what follows.
		groups[end] = cardGroup{digits: string(number[len(number)-4:]), sep: groups[end].sep, masked: true}
		k = end
	}
	return out
}

// cardPrefix reports whether digits (at least four) begin with an issuer
// identification number of a card scheme.
func cardPrefix(d []byte) bool {
	n2 := int(d[0]-'0')*10 + int(d[1]-'0')
	n3 := n2*10 + int(d[2]-'0')
	n4 := n3*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		return true
	case n2 >= 51 && n2 <= 55, n4 >= 2221 && n4 <= 2720: // Mastercard
		return true
	case n2 == 34, n2 == 37: // American Express
		return true
	case n4 == 6011, n3 >= 644 && n3 <= 649, n2 == 65: // Discover
		return true
	case n4 >= 3528 && n4 <= 3589: // JCB
		return true
	case n3 >= 300 && n3 <= 305, n2 == 36, n2 == 38, n2 == 39: // Diners Club
		return true
	case n2 == 62: // UnionPay
		return true
	}
	return false
}

func formatInt(n int64) string {
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
