package mailer

// qpLiteral marks the bytes quoted-printable writes as they are: printable
// ASCII but '='. Space and tab are literal too, except at the end of a
// line, where a relay may strip them.
var qpLiteral = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = c != '='
	}
	t[' '], t['\t'] = true, true
	return t
}()

const hexDigits = "0123456789ABCDEF"

// qpMaxLine is the longest line before a soft break's '=': RFC 2045 allows
// 76 characters, the '=' included.
const qpMaxLine = 75

// appendQP appends s in quoted-printable (RFC 2045) to dst. Line breaks
// (LF or CRLF) become CRLF; long lines get soft breaks; a '.' that would
// start a line is written =2E, so that no line of a body starts with a dot
// and SMTP's dot-stuffing has nothing to do there.
func appendQP(dst []byte, s string) []byte {
	col := 0
	for i := 0; i < len(s); {
		// The common case first: a run of bytes written as they are, as
		// far as the line allows.
		if col > 0 || s[i] != '.' {
			j, limit := i, min(len(s), i+qpMaxLine-col)
			for j < limit && qpLiteral[s[j]] {
				j++
			}
			for j > i && (s[j-1] == ' ' || s[j-1] == '\t') && endsLine(s, j) {
				j-- // white space that ends a line is encoded, below
			}
			if j > i {
				dst = append(dst, s[i:j]...)
				col += j - i
				i = j
				continue
			}
		}

		c := s[i]
		if c == '\n' || (c == '\r' && i+1 < len(s) && s[i+1] == '\n') {
			if c == '\r' {
				i++
			}
			i++
			dst = append(dst, '\r', '\n')
			col = 0
			continue
		}
		literal := qpLiteral[c]
		if (c == ' ' || c == '\t') && endsLine(s, i+1) {
			literal = false
		}
		if c == '.' && col == 0 {
			literal = false
		}
		n := 1
		if !literal {
			n = 3
		}
		// A line may use all 76 characters when no soft break follows.
		if col+n > qpMaxLine && (col+n != qpMaxLine+1 || !endsLine(s, i+1)) {
			dst = append(dst, '=', '\r', '\n')
			col = 0
			if c == '.' {
				literal, n = false, 3
			}
		}
		if literal {
			dst = append(dst, c)
		} else {
			dst = append(dst, '=', hexDigits[c>>4], hexDigits[c&0x0f])
		}
		col += n
		i++
	}
	return dst
}

// endsLine reports whether s has a line break or its end at i.
func endsLine(s string, i int) bool {
	return i == len(s) || s[i] == '\n' || (s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n')
}
