package postgres

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestLowerDecides: the words lowerIn compares, and the ones left to
// foldSQL (their matches are checked against Go's in
// TestSegmentSQLReadsValuesAsGo).
func TestLowerDecides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		word string
		want bool
	}{
		{"pro", true},
		{"Enterprise", true},
		{"US", true},
		{"a b", true},
		{"ǅ", false}, // not ASCII
		{"", false},
		{"10", false}, // numbers, true, false, null, lists and objects: another kind's JSON text
		{"-x", false},
		{".x", false},
		{"true", false},
		{"NULL", false},
		{`["x"]`, false},
		{`{"a": 1}`, false},
		{`"x"`, false},
	} {
		if got := lowerDecides(tc.word); got != tc.want {
			t.Errorf("lowerDecides(%q) = %v, want %v", tc.word, got, tc.want)
		}
	}
}

// TestLowerFixes: once lowerFixes' characters are replaced, lower() of any
// character is an ASCII character's lower case exactly when
// strings.EqualFold finds the two alike, for every character (beyond the
// BMP: that none is like an ASCII one, nor lowers to one).
func TestLowerFixes(t *testing.T) {
	t.Parallel()
	from, to := lowerFixes()
	require := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Fatalf(format, args...)
		}
	}
	require(strings.ContainsRune(from, 'İ') && strings.ContainsRune(from, 'ſ'), "İ and ſ are fixed: %q", from)
	fix := map[rune]rune{}
	tr := []rune(to)
	for i, r := range []rune(from) {
		fix[r] = tr[i]
	}
	for x := rune(0); x <= unicode.MaxRune; x++ {
		y := x
		if f, ok := fix[x]; ok {
			y = f
		}
		l := unicode.ToLower(y)
		if x > 0xFFFF {
			// Beyond the BMP no character is like an ASCII one: quicker
			// than asking EqualFold 128 times for each.
			for f := unicode.SimpleFold(x); f != x; f = unicode.SimpleFold(f) {
				require(f >= utf8.RuneSelf, "%U is like %q", x, f)
			}
			require(l >= utf8.RuneSelf, "%U lowers to %q", x, l)
			continue
		}
		for c := rune(0); c < utf8.RuneSelf; c++ {
			alike := strings.EqualFold(string(x), string(c))
			require((l == unicode.ToLower(c)) == alike, "%U against %q: lower gives %U, EqualFold %v", x, c, l, alike)
		}
	}
}

// TestLikePattern: the word lowered, anywhere, any one character where
// EqualFold also finds a character that is not ASCII, LIKE's own
// characters escaped.
func TestLikePattern(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]string{
		"Pro":      "%pro%",
		"US":       "%u_%",
		"Key":      "%_ey%",
		`a%b_c\`:   `%a\%b\_c\\%`,
		"Software": "%_oftware%",
	} {
		if got := likePattern(word); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", word, got, want)
		}
	}
}
