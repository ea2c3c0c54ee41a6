package enrich

import (
	"strings"
	"unicode"
)

// foldLatin maps the letters of Latin-1 and Latin Extended-A, lower case,
// to ASCII: enough for the accents of English, French, German and Spanish
// (and most of Europe's). foldText uses it so that "Geschäftsführer",
// "directrice générale" and "compañía" match keywords written without
// accents. Built from one string per block: each entry is the ASCII for
// one code point, in order.
var foldLatin = func() map[rune]string {
	m := map[rune]string{}
	// U+00E0..U+00FF: à á â ã ä å æ ç è é ê ë ì í î ï ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
	for i, s := range strings.Fields("a a a a a a ae c e e e e i i i i d n o o o o o / o u u u u y th y") {
		if s != "/" {
			m[rune(0xE0+i)] = s
		}
	}
	m['ß'] = "ss"
	// U+0100..U+017F, Latin Extended-A: runs of one base letter.
	i := 0x100
	for _, run := range strings.Fields("a6 c8 d4 e10 g8 h4 i10 ij2 j2 k3 l10 n9 o6 oe2 r6 s8 t6 u12 w2 y3 z6 s1") {
		base := strings.TrimRight(run, "0123456789")
		n := 0
		for _, c := range run[len(base):] {
			n = n*10 + int(c-'0')
		}
		for range n {
			m[rune(i)] = base
			i++
		}
	}
	return m
}()

// foldText lowers s and folds its accents (see foldLatin), keeping every
// other character as it is; typographic apostrophes become plain ones.
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r == '\u2019' || r == '\u2018' || r == '\u00b4':
			b.WriteByte('\'')
		default:
			if f, ok := foldLatin[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// words splits folded text into its words: runs of ASCII letters and
// digits. Everything else (punctuation, hyphens, apostrophes, "&", other
// scripts) separates words, so "co-founder" is "co founder", "R&D" is
// "r d" and "d'affaires" is "d affaires".
func words(folded string) []string {
	return strings.FieldsFunc(folded, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
}
