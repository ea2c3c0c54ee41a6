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
// json.Number or float64) and replaces every value that looks like a card
// number with its masked form, in place where it can. It returns the
// scrubbed value and whether anything was masked.
func ScrubCards(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		if m, ok := MaskCard(strings.TrimSpace(v)); ok {
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
		for k, e := range v {
			if s, ok := ScrubCards(e); ok {
				v[k], changed = s, true
			}
		}
		return v, changed
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
