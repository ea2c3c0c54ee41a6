package templates

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestParseSelector(t *testing.T) {
	t.Parallel()
	ok := []string{"p", "P", ".a", "#x", "p.a.b#x", ".a .b", ".a > .b", ".a>.b", "table td", "h2 a", ".-x", "._y", ".é"}
	bad := []string{"", "*", ".a:hover", "a[href]", "p + p", "p ~ p", ".a::before", ".1a", ".", "#", ".a >", "> .a", ".a\\:b", "#a#b", ".a,.b", "p.a!"}
	for _, s := range ok {
		_, parsed := parseSelector(s)
		require.True(t, parsed, "parseSelector(%q) refused it", s)
	}
	for _, s := range bad {
		sel, parsed := parseSelector(s)
		require.False(t, parsed, "parseSelector(%q) = %+v, want a refusal", s, sel)
	}
}

// FuzzStylesheet checks that no CSS makes the inliner panic or write a
// document that does not parse back.
func FuzzStylesheet(f *testing.F) {
	for _, seed := range []string{
		`.a { color: red; } p { margin: 0 }`,
		`@media (max-width: 1px) { .a { color: red !important } } .b:hover{}`,
		`/* x */ .a, .b > .c, [x] .d { font-family: "a;b}" }`,
		`.a { color: red; .b { }`,
		`}}}{{{;;;@@ .a{`,
		"\x00.a{\xff:\xfe}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, css string) {
		sheet := parseStylesheet(css)
		require.GreaterOrEqual(t, sheet.rules, 0, "negative rule count")
		if strings.Contains(css, "</") {
			return // cannot be inside a <style>
		}
		src := "<html><head><style>" + css + "</style></head><body><div class=\"a b\" id=\"x\" style=\"color:red\"><p class=\"c d\">x</p></div></body></html>"
		_, err := html.Parse(strings.NewReader(inlineOnly(t, src)))
		require.NoError(t, err, "output does not parse")
	})
}
