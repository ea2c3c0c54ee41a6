package mailer

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// unfold undoes RFC 5322 folding: a CRLF followed by white space is
// removed, the white space kept.
func unfold(field string) string {
	return strings.ReplaceAll(strings.ReplaceAll(field, "\r\n ", " "), "\r\n\t", "\t")
}

// headerFieldsOf splits a message's header section into its fields, each
// with its continuation lines and without the final CRLF.
func headerFieldsOf(t *testing.T, data []byte) []string {
	t.Helper()
	header, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	require.True(t, ok, "no end of header in %q", data)
	var fields []string
	for _, line := range strings.Split(string(header), "\r\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}

// checkLines checks every line of a header section: at most 998 octets
// always, at most 78 unless it is one word that cannot be folded, 7-bit
// printable, and a continuation line that has more than white space.
func checkLines(t *testing.T, header string, longWordsOK bool) {
	t.Helper()
	for i, line := range strings.Split(header, "\r\n") {
		require.LessOrEqual(t, len(line), 998, "line %d: %.100q", i, line)
		oneWord := !strings.Contains(strings.TrimLeft(line[strings.IndexByte(line, ':')+1:], " "), " ")
		require.False(t, len(line) > maxLine && (!longWordsOK || !oneWord),
			"line %d is %d octets, more than %d though it could fold: %q", i, len(line), maxLine, line)
		require.False(t, i > 0 && (line == "" || line[0] != ' ' && line[0] != '\t') && !strings.Contains(line, ":"),
			"line %d is neither a field nor a continuation: %q", i, line)
		require.NotEmpty(t, strings.TrimLeft(line, " \t"), "line %d is white space only: %q", i, line)
		for _, c := range []byte(line) {
			require.False(t, (c < 0x20 && c != '\t') || c > 0x7e, "byte %#x in line %d: %q", c, i, line)
		}
	}
}

// writeField writes one field with the writer a kind uses.
func writeField(name string, kind fieldKind, value string) string {
	var b bytes.Buffer
	w := &headerWriter{b: &b}
	w.begin(name)
	switch kind {
	case kindStructured:
		w.structured(value)
	case kindAddresses:
		w.address(" ", &netmail.Address{Name: value, Address: "ada@example.com"}, "")
	default:
		w.text(value, rawText)
	}
	w.end()
	return strings.TrimSuffix(b.String(), "\r\n")
}

func TestHeaderFolding(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 20000)
	tests := []struct {
		name  string
		kind  fieldKind
		value string
		plain string // a part that must stay readable, not encoded
	}{
		{"Subject", kindText, "short", "short"},
		{"Subject", kindText, "", ""},
		{"Subject", kindText, strings.Repeat("word ", 40) + "end", "word word"},
		{"Subject", kindText, "Ihre Bestätigung, Zoë – 注文の確認 – please confirm your subscription to our weekly newsletter", "please confirm"},
		{"Subject", kindText, "Welcome, " + long + "!", "Welcome,"},
		{"Subject", kindText, "Welcome, " + strings.Repeat("ä", 5000), "Welcome,"},
		{"Subject", kindText, "a" + strings.Repeat(" ", 3000) + "b", ""},
		{"Subject", kindText, "trailing   ", ""},
		{"Subject", kindText, "   ", ""},
		{"Subject", kindText, "looks =?UTF-8?q?encoded?= but is not", "looks"},
		{"Subject", kindText, "tabs\tinside and \t\t alone", "tabs\tinside"},
		{"X-A-Rather-Long-Header-Name-Of-Sixty-Characters-Or-So-To-Fold-Early", kindText, "Zoë " + long, ""},
		{"To", kindAddresses, "Ada Lovelace", `"Ada Lovelace"`},
		{"To", kindAddresses, `Ada "the Countess" O'Brien, \ Jr.`, `"Ada \"the Countess\" O'Brien, \\ Jr."`},
		{"To", kindAddresses, long, ""},
		{"To", kindAddresses, "Jörg " + strings.Repeat("Müller ", 3000), ""},
		{"To", kindAddresses, "  spaced   out  ", `"  spaced   out  "`},
		{"To", kindAddresses, "a" + strings.Repeat(" ", 20) + "b", ""},
		{"List-Unsubscribe", kindStructured, "<https://links.example.com/u/" + strings.Repeat("x", 120) + ">, <mailto:u@example.com>", "<mailto:u@example.com>"},
	}
	for _, tt := range tests {
		field := writeField(tt.name, tt.kind, tt.value)
		checkLines(t, field, tt.kind == kindStructured)
		require.Contains(t, field, tt.plain, "%s: not kept readable", tt.name)
		value, ok := strings.CutPrefix(unfold(field), tt.name+": ")
		require.True(t, ok, "field %.80q does not start with %s: ", field, tt.name)
		var got string
		switch tt.kind {
		case kindAddresses:
			a, err := netmail.ParseAddress(value)
			require.NoError(t, err, "%s: ParseAddress(%.200q)", tt.name, value)
			got = a.Name
		default:
			var err error
			got, err = new(mime.WordDecoder).DecodeHeader(value)
			require.NoError(t, err, "%s: decode %.200q", tt.name, value)
		}
		require.Equal(t, tt.value, got, "%s reads back", tt.name)
	}
}

// A word that a reader could take for an encoded word is encoded itself,
// so that the reader shows what was written.
func TestTextEncodesOnlyWhatNeedsIt(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, plain string }{
		{"Hello there", "Subject: Hello there"},
		{"Willkommen, Jörg: los geht's", "Subject: Willkommen, "},
		{"Ü  Ü  x", "?=  x"},
		{"Zoë – 注文の確認 – " + strings.Repeat("x", 10), " " + strings.Repeat("x", 10)},
		{"=?UTF-8?q?Bob?=", "Subject: =?UTF-8?b?PT9VVEYtOD9xP0JvYj89?="}, // base64 of the text as it is
	}
	for _, tt := range tests {
		require.Contains(t, writeField("Subject", kindText, tt.in), tt.plain, "%q written", tt.in)
	}
}

// fuzzEmail is the email FuzzHeaders varies: every header a user's data
// can reach.
func fuzzEmail(name, subject, tag, product string) *nurture.Email {
	return &nurture.Email{
		MessageID: "fuzz@nurture.test",
		From:      netmail.Address{Name: product, Address: "team@nurture.test"},
		To:        netmail.Address{Name: name, Address: "ada@example.com"},
		Subject:   subject,
		Text:      "Hello",
		Headers: []nurture.Header{
			{Name: "Reply-To", Value: "Søren Support <support@nurture.test>, help@nurture.test"},
			{Name: "X-Tag", Value: tag},
			{Name: "List-Id", Value: product + " news <news.nurture.test>"},
			{Name: "List-Unsubscribe", Value: "<https://links.nurture.test/u/abc>"},
		},
	}
}

// validText reports whether the mailer must take s as header text.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// FuzzHeaders writes messages whose display names, subject and other
// header text are any bytes. Input the mailer takes must come out as a
// header whose every line is at most 998 octets (78 where a fold is
// possible), with no field but ours, that unfolds and decodes back to the
// input; input it refuses (not UTF-8, control characters) must be refused
// with an invalid error naming the field, before anything is written.
func FuzzHeaders(f *testing.F) {
	for _, s := range [][4]string{
		{"Ada Lovelace", "Welcome, Ada", "onboarding/2", "Acme"},
		{"Jörg Müller", "Willkommen, Jörg", "tips – 2", "Ærø Bäckerei"},
		{strings.Repeat("a", 2000), strings.Repeat("b", 2000), strings.Repeat("c ", 500), strings.Repeat("d", 300)},
		{"Eve\r\nBcc: x@evil.example", "Hi\r\nBcc: x@evil.example", "a\nb", "x\ry"},
		{"\xff\xfe", "\xc3", "ok", "ok"},
		{`"quoted" \ name`, "=?UTF-8?q?Bob?=", "  spaced  ", "a (comment) b"},
		{"   ", "", "\t", "."},
		{"a" + strings.Repeat(" ", 100) + "b", "x" + strings.Repeat("\t", 100), "y" + strings.Repeat(" ", 9), "z "},
		{"注文の確認", "🎉 " + strings.Repeat("🎉", 40), "\u2028", "\u00a0"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	dec := new(mime.WordDecoder)
	f.Fuzz(func(t *testing.T, name, subject, tag, product string) {
		e := fuzzEmail(name, subject, tag, product)
		msg, err := compose(e, time.Unix(0, 0))
		inputs := map[string]string{"To": name, "Subject": subject, "X-Tag": tag, "From": product}
		if err != nil {
			var ne *nurture.Error
			require.ErrorAs(t, err, &ne, "compose")
			require.Equal(t, nurture.CodeInvalid, ne.Code, "compose: %v", err)
			input, ok := inputs[ne.Field]
			if ne.Field == "List-Id" {
				input, ok = product, true
			}
			require.True(t, ok, "compose refused an unknown field: %v", err)
			require.False(t, validText(input), "compose refused valid input: %v", err)
			return
		}
		for field, input := range inputs {
			require.True(t, validText(input), "compose took %s %q, which is not valid header text", field, input)
		}
		header, _, _ := bytes.Cut(msg.data, []byte("\r\n\r\n"))
		checkLines(t, string(header), false)

		parsed, err := netmail.ReadMessage(bytes.NewReader(msg.data))
		require.NoError(t, err, "ReadMessage")
		var names []string
		for k, v := range parsed.Header {
			require.Len(t, v, 1, "%s fields", k)
			names = append(names, k)
		}
		slices.Sort(names)
		want := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "List-Id", "List-Unsubscribe",
			"Message-Id", "Mime-Version", "Reply-To", "Subject", "To", "X-Tag"}
		require.Equal(t, want, names, "header fields:\n%s", header)

		fields := map[string]string{}
		for _, f := range headerFieldsOf(t, msg.data) {
			n, v, _ := strings.Cut(unfold(f), ":")
			fields[n] = strings.TrimPrefix(v, " ")
		}
		for _, field := range []string{"Subject", "X-Tag"} {
			got, err := dec.DecodeHeader(fields[field])
			require.NoError(t, err, "%s from %q", field, fields[field])
			require.Equal(t, inputs[field], got, "%s reads back from %q", field, fields[field])
		}
		for field, want := range map[string]netmail.Address{"To": e.To, "From": e.From} {
			a, err := netmail.ParseAddress(fields[field])
			require.NoError(t, err, "%s from %q", field, fields[field])
			require.Equal(t, want.Name, a.Name, "%s name reads back from %q", field, fields[field])
			require.Equal(t, want.Address, a.Address, "%s address reads back from %q", field, fields[field])
		}
		phrase := strings.TrimSpace(product + " news")
		listID, err := dec.DecodeHeader(fields["List-Id"])
		require.NoError(t, err, "List-Id from %q", fields["List-Id"])
		require.Equal(t, phrase+" <news.nurture.test>", listID, "List-Id reads back from %q", fields["List-Id"])
	})
}
