//go:build !xtok

package templates

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScriptEnd checks where the text of a <script> ends, as the script
// data states of the HTML tokenizer end it.
func TestScriptEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, text string // text is the script's, the start of src
	}{
		{"plain", `x()</script><p>`, `x()`},
		{"end tag in capitals, with a space", `x()</SCRIPT ><p>`, `x()`},
		{"not its end tag", `a</scripts>b</script>`, `a</scripts>b`},
		{"less-than in code", `if (a<b) f()</script>`, `if (a<b) f()`},
		{"escaped", `<!--</script>`, `<!--`},
		{"double escaped", `<!--<script></script><a href="x">--></script><p>`, `<!--<script></script><a href="x">-->`},
		{"double escaped, ended by its end tag", `<!--<script></script></script><p>`, `<!--<script></script>`},
		{"double escaped, ended by -->", `<!--<script>--></script>`, `<!--<script>-->`},
		{"escape closed at once", `<!--><script></script>`, `<!--><script>`},
		{"escape closed by --->", `<!---><script></script>`, `<!---><script>`},
		{"not a script start tag", `<!--<scripts></script>`, `<!--<scripts>`},
		{"script start tag in capitals", `<!--<SCRIPT/></script>x</script>`, `<!--<SCRIPT/></script>x`},
		{"escape after escape", `<!-- --> <!--<script></script>--></script>`, `<!-- --> <!--<script></script>-->`},
		{"to the end", `<!--<script></script>`, `<!--<script></script>`},
		{"end tag cut off", `x</script`, `x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := []byte("<script>" + tc.src)
			got := scriptEnd(src, len("<script>"))
			require.Equal(t, tc.text, string(src[len("<script>"):got]), "script text")
		})
	}
}
