package templates

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		html string
		want string
	}{
		{"empty", ``, ``},
		{"plain text", `Hello, world`, `Hello, world`},
		{"whitespace collapses", "<p>  Hello,\n\t   <b>world</b>  !</p>", `Hello, world !`},
		{"inline elements join words", `<p>Hi<b>there</b> <i>you</i></p>`, `Hithere you`},
		{"paragraphs", `<p>One</p><p>Two</p>`, "One\n\nTwo"},
		{"headings", `<h1>Title</h1><p>Text</p><h2>Sub</h2><p>More</p>`, "Title\n\nText\n\nSub\n\nMore"},
		{"divs are lines", `<div>One</div><div>Two</div>`, "One\nTwo"},
		{"br", `<p>Welcome aboard,<br>The team</p>`, "Welcome aboard,\nThe team"},
		{"br runs keep one blank line", `<p>a<br><br><br><br>b<br></p>`, "a\n\nb"},
		{"unordered list", `<p>Steps:</p><ul><li>One</li><li>Two</li></ul><p>End</p>`, "Steps:\n\n- One\n- Two\n\nEnd"},
		{"ordered list", `<ol><li>One</li><li>Two</li></ol>`, "1. One\n2. Two"},
		{"ordered list with start", `<ol start="9"><li>Nine</li><li>Ten</li></ol>`, "9. Nine\n10. Ten"},
		{"nested list", `<ul><li>A<ul><li>A1</li><li>A2</li></ul></li><li>B</li></ul>`, "- A\n  - A1\n  - A2\n- B"},
		{"list item with paragraphs", `<ul><li><p>First</p><p>Second</p></li></ul>`, "- First\n\n  Second"},
		{"link", `<p>Read <a href="https://example.com/docs">the docs</a> now.</p>`, `Read the docs (https://example.com/docs) now.`},
		{"link whose text is the url", `<a href="https://example.com/">https://example.com</a>`, `https://example.com`},
		{"mailto link showing the address", `<a href="mailto:help@example.com">help@example.com</a>`, `help@example.com`},
		{"link without text", `<p>Go<a href="https://example.com/x"></a></p>`, `Go https://example.com/x`},
		{"image link uses alt", `<a href="https://example.com"><img src="logo.png" alt="Example"></a>`, `Example (https://example.com)`},
		{"image link without alt", `<a href="https://example.com/"><img src="logo.png"></a>`, `https://example.com/`},
		{"anchor and script links keep text only", `<a href="#top">Top</a> <a href="javascript:alert(1)">Run</a>`, `Top Run`},
		{"link text across blocks", `<a href="https://e.com/x"><p>A</p><p>B</p></a>`, "A\n\nB (https://e.com/x)"},
		{"link url with entities", `<a href="https://e.com/?a=1&amp;b=2">Go</a>`, `Go (https://e.com/?a=1&b=2)`},
		{"image dropped", `<p>Hello <img src="x.png"> world</p>`, `Hello world`},
		{"meaningful alt kept", `<p><img src="chart.png" alt="Chart: sign-ups doubled"></p>`, `Chart: sign-ups doubled`},
		{"file name alt dropped", `<img src="a.png" alt="banner_final.PNG">`, ``},
		{"punctuation alt dropped", `<img src="a.png" alt=" | ">`, ``},
		{"head, style and script ignored", `<html><head><title>T</title><style>p{color:red}</style></head><body><script>x()</script><p>Body</p><noscript>ns</noscript></body></html>`, `Body`},
		{"comments ignored", `<p>A<!-- hidden -->B</p><!--[if mso]><p>Outlook</p><![endif]-->`, `AB`},
		{"display none ignored", `<div style="display: NONE; max-height:0">preheader</div><p>Body</p>`, `Body`},
		{"hidden attribute ignored", `<p hidden>secret</p><p>Body</p>`, `Body`},
		{"entities decoded", `<p>Ben &amp; Jerry&#39;s &lt;3 &eacute;t&eacute; &middot; &#x1F600;</p>`, "Ben & Jerry's <3 été · \U0001F600"},
		{"nbsp is a space, zero-width dropped", `<p>a&nbsp;b&zwnj;c&#847;d&shy;e</p>`, `a bcde`},
		{"table cells on lines", `<table><tr><td>A</td><td>B</td></tr><tr><td>C</td></tr></table><p>After</p>`, "A\nB\nC\n\nAfter"},
		{"spacer cells vanish", `<table><tr><td>&nbsp;</td></tr><tr><td>Text</td></tr></table>`, `Text`},
		{"blockquote", `<p>He said:</p><blockquote><p>One</p><p>Two</p></blockquote>`, "He said:\n\n> One\n\n> Two"},
		{"pre keeps lines", "<p>Run:</p><pre>\n  go test ./...\n  go vet ./...\n</pre><p>Done</p>", "Run:\n\n  go test ./...\n  go vet ./...\n\nDone"},
		{"control characters dropped", "<p>a\x01b\u202ec</p>", `abc`},
		{
			"wraps at 76 columns",
			`<p>` + strings.Repeat("word ", 30) + `</p>`,
			strings.TrimSpace(strings.Repeat("word ", 15)) + "\n" + strings.TrimSpace(strings.Repeat("word ", 15)),
		},
		{
			"long words are not broken",
			`<p>see <a href="https://example.com/` + strings.Repeat("x", 80) + `">this</a> page</p>`,
			"see this\n(https://example.com/" + strings.Repeat("x", 80) + ")\npage",
		},
		{
			"list items wrap under their text",
			`<ul><li>` + strings.Repeat("word ", 20) + `</li></ul>`,
			"- " + strings.TrimSpace(strings.Repeat("word ", 15)) + "\n  " + strings.TrimSpace(strings.Repeat("word ", 5)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := HTMLToText(tt.html)
			require.NoError(t, err, "HTMLToText")
			require.Equal(t, tt.want, got, "HTMLToText(%q)", tt.html)
		})
	}
}

func TestHTMLToTextTooDeep(t *testing.T) {
	t.Parallel()
	_, err := HTMLToText(strings.Repeat("<div>", 600))
	require.Error(t, err, "no error for HTML nested 600 deep")
}

func FuzzHTMLToText(f *testing.F) {
	for _, seed := range []string{
		``,
		`<p>Hello <a href="https://example.com">world</a></p>`,
		`<ul><li>a<ol start="-3"><li>b<pre>x
 y</pre></li></ol></li></ul>`,
		`<table><tr><td><blockquote><p>q</p></blockquote></td></tr></table>`,
		`<a href="x"><a href="y">nested</a></a><img alt="alt"><br><br>`,
		"<p>\x00\xff\xfe&#0;&#xD800;\u202e</p>",
		`<div style="display:none">hidden</div><!--[if mso]>x<![endif]--><script>y</script>`,
		strings.Repeat("<div>", 300) + "deep",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, err := HTMLToText(src)
		if err != nil {
			return // too deep for the parser: reported, not a crash
		}
		require.True(t, utf8.ValidString(got), "invalid UTF-8 in %q", got)
		require.NotContains(t, got, "\r", "CR")
		require.NotContains(t, got, "\n\n\n", "more than one blank line in a row")
		require.False(t, got != strings.TrimSpace(got) && !strings.HasPrefix(got, " "), "blank lines at an end of %q", got)

	})
}
