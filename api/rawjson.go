package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// MaxDepth is how deeply the value of a call's field (properties, traits,
// context, or any other) may nest objects and arrays: {"a": 1} is one level,
// {"a": [1]} two.
const MaxDepth = 32

// checkRaw looks at a body before it is decoded, in one pass and without
// allocating unless it finds something wrong, for what encoding/json would
// let through or work hard at: values nested deeper than MaxDepth (decoding
// and walking them costs memory and time), and text that is not text,
// which the decoder silently turns into U+FFFD: invalid UTF-8 and lone
// UTF-16 surrogates escaped as \ud800. The error names the field as the
// client spelled it (batch[3].properties.a.b); that path is built only
// then. When batch is set, the body is a /v1/batch envelope whose batch
// items are calls. Malformed JSON is left for the decoder to report.
func checkRaw(data []byte, batch bool) error {
	var buf [MaxDepth + 4]rawFrame // the deepest a valid batch goes
	stack := buf[:0]
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			end, problem := scanString(data, i)
			if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
				if problem != "" {
					return nurture.FieldError(rawPath(stack[:n-1]), "has a key that %s", problem)
				}
				stack[n-1].key, stack[n-1].wantKey = data[i:end+1], false
			} else if problem != "" {
				return nurture.FieldError(rawPath(stack), "%s", problem)
			}
			i = end
		case '{', '[':
			f := rawFrame{array: data[i] == '[', wantKey: data[i] == '{'}
			switch n := len(stack); {
			case n == 0:
				f.call = true // the call, or the batch envelope with its context
			case n == 2 && stack[1].batch:
				f.call = true // an item of the batch
			case stack[n-1].call:
				f.depth = 1
				f.batch = batch && n == 1 && f.array && !stack[0].array && isBatchKey(stack[0].key)
			default:
				f.depth = stack[n-1].depth + 1
			}
			if f.depth > MaxDepth {
				return nurture.FieldError(rawPath(stack), "is nested more than %d levels deep in objects and arrays", MaxDepth)
			}
			stack = append(stack, f)
		case '}', ']':
			if len(stack) == 0 {
				return nil // malformed: the decoder says so
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					stack[n-1].wantKey = true
				}
			}
		}
	}
	return nil
}

// rawFrame is an object or array open at the scanner's position.
type rawFrame struct {
	array   bool
	index   int    // array: the current element
	key     []byte // object: the current member's key, quoted and escaped as sent
	wantKey bool   // object: the next string is a key
	call    bool   // a call: its members are fields, each with a depth of its own
	batch   bool   // the envelope's batch: its items are calls
	depth   int    // levels of nesting within the field that holds it
}

// isBatchKey reports whether the raw key names the envelope's batch, as
// encoding/json matches it: without regard to case.
func isBatchKey(raw []byte) bool {
	return string(raw) == `"batch"` || strings.EqualFold(unquote(raw), "batch")
}

// rawPath names the value at the scanner's position by each open frame's
// current key or index, as the client spelled them; "body" for the body.
func rawPath(stack []rawFrame) string {
	var b strings.Builder
	for i, f := range stack {
		last := i == len(stack)-1
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case f.key != nil && (!last || !f.wantKey): // a key still awaited is not the current one
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(unquote(f.key))
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// unquote decodes a JSON string as the decoder would.
func unquote(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return s
}

// scanString returns the index of the quote that closes the string opened
// at data[i] (len(data) when none does), and what is wrong with its text.
func scanString(data []byte, i int) (end int, problem string) {
	for j := i + 1; j < len(data); {
		switch c := data[j]; {
		case c == '"':
			return j, ""
		case c == '\\':
			if j+5 < len(data) && data[j+1] == 'u' {
				r := hex4(data[j+2 : j+6])
				switch {
				case r >= 0xD800 && r < 0xDC00: // a high surrogate: a low one must follow
					if j+11 < len(data) && data[j+6] == '\\' && data[j+7] == 'u' {
						if lo := hex4(data[j+8 : j+12]); lo >= 0xDC00 && lo < 0xE000 {
							j += 12
							continue
						}
					}
					return j, `is not valid text: it has a lone UTF-16 surrogate (\u` + string(data[j+2:j+6]) + `)`
				case r >= 0xDC00 && r < 0xE000:
					return j, `is not valid text: it has a lone UTF-16 surrogate (\u` + string(data[j+2:j+6]) + `)`
				}
				j += 6
				continue
			}
			j += 2
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				return j, "is not valid UTF-8 text"
			}
			j += size
		}
	}
	return len(data), ""
}

// hex4 reads four hexadecimal digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}
