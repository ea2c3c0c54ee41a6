package mailer

import "bytes"

// DKIM's relaxed canonicalisation (RFC 6376 3.4.2 and 3.4.4): what a
// signature covers is the message in this form, so that relays that
// re-fold headers or trim white space do not break it.

// headerField is one field of a message header, with its continuation
// lines and final CRLF.
type headerField struct {
	name string
	raw  []byte
}

// headerFields splits a message header, CRLF-terminated, into its fields.
func headerFields(header []byte) []headerField {
	var out []headerField
	for len(header) > 0 {
		end := 0
		for {
			i := bytes.Index(header[end:], []byte("\r\n"))
			if i < 0 {
				end = len(header)
				break
			}
			end += i + 2
			if end == len(header) || (header[end] != ' ' && header[end] != '\t') {
				break
			}
		}
		raw := header[:end]
		if name, _, ok := bytes.Cut(raw, []byte(":")); ok {
			out = append(out, headerField{name: string(bytes.TrimRight(name, " \t")), raw: raw})
		}
		header = header[end:]
	}
	return out
}

// appendRelaxedField appends a header field in DKIM's relaxed form: the
// name in lower case, the value unfolded, runs of white space as one
// space, none around the colon or at the end, and a CRLF.
func appendRelaxedField(dst, raw []byte) []byte {
	name, value, _ := bytes.Cut(raw, []byte(":"))
	for _, c := range bytes.TrimRight(name, " \t") {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	dst = append(dst, ':')
	space := false
	start := len(dst)
	for _, c := range value {
		switch c {
		case '\r', '\n':
			continue
		case ' ', '\t':
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

// relaxedBody returns body in DKIM's relaxed form: runs of white space in
// a line as one space, none at the ends of lines, no empty lines at the
// end, and a final CRLF unless the body is empty.
func relaxedBody(body []byte) []byte {
	out := make([]byte, 0, len(body)+2)
	relaxBody(body, func(p []byte) { out = append(out, p...) })
	return out
}

var crlf = []byte("\r\n")

// relaxBody hands body in DKIM's relaxed form to emit, piece by piece, so
// that the signer hashes it without a copy. It goes line by line: a line
// with no tab, no run of spaces and no space at its end (most lines of a
// composed message, whose quoted-printable lines end in no space) goes out
// as it stands; only the others are rewritten, into a scratch buffer. A
// lone CR or LF is part of a line, as in RFC 6376.
func relaxBody(body []byte, emit func([]byte)) {
	var scratch []byte
	empty := 0 // empty lines seen and not yet written: those at the end never are
	for len(body) > 0 {
		line := body
		if i := bytes.Index(body, crlf); i >= 0 {
			line, body = body[:i], body[i+2:]
		} else {
			body = nil
		}
		if len(line) == 0 || line[len(line)-1] == ' ' || bytes.IndexByte(line, '\t') >= 0 || bytes.Contains(line, []byte("  ")) {
			scratch = relaxLine(scratch[:0], line)
			line = scratch
		}
		if len(line) == 0 {
			empty++
			continue
		}
		for ; empty > 0; empty-- {
			emit(crlf)
		}
		emit(line)
		emit(crlf)
	}
}

// relaxLine appends line with each run of white space as one space and
// none at its end.
func relaxLine(dst, line []byte) []byte {
	space := false
	for i := 0; i < len(line); {
		if c := line[i]; c == ' ' || c == '\t' {
			space = true
			i++
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		j := i + 1
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		dst = append(dst, line[i:j]...)
		i = j
	}
	return dst
}

// isRelaxedBody reports whether body is already in DKIM's relaxed form,
// so that relaxedBody would return it unchanged: no tab, no run of spaces,
// no space at the end of a line, and, unless it is empty, a last line with
// something on it ending with CRLF. A body the mailer composed usually is
// (quoted-printable lines end in no space), and is then hashed as it
// stands, without a copy.
func isRelaxedBody(body []byte) bool {
	if len(body) == 0 {
		return true
	}
	return len(body) > 2 && bytes.HasSuffix(body, []byte("\r\n")) && !bytes.HasSuffix(body, []byte("\r\n\r\n")) &&
		bytes.IndexByte(body, '\t') < 0 && !bytes.Contains(body, []byte("  ")) && !bytes.Contains(body, []byte(" \r\n"))
}
