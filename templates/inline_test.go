package templates

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// inlined runs the inliner on a document made of css in a <style> and body,
// and returns the style attribute of every element with an id, and the
// text left in <style> (or "-" when the element was removed).
func inlined(t *testing.T, css, body string) (styles map[string]string, kept string) {
	t.Helper()
	src := "<!DOCTYPE html><html><head><style>" + css + "</style></head><body>" + body + "</body></html>"
	doc, err := html.Parse(strings.NewReader(inlineOnly(t, src)))
	require.NoError(t, err)
	styles = map[string]string{}
	kept = "-"
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if id := attrValue(n, "id"); id != "" {
			if v, ok := attrOf(n, "style"); ok {
				styles[id] = v
			} else {
				styles[id] = "(none)"
			}
		}
		if n.Data == "style" && n.FirstChild != nil {
			kept = strings.TrimSpace(n.FirstChild.Data)
		}
	}
	return styles, kept
}

func TestInlineCSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		css  string
		body string
		want map[string]string
		kept string // what stays in <style>, "-" when it is removed
	}{
		{
			name: "class, type and id",
			css:  `.a { color: red; } p { margin: 0 0 16px; } #x { font-weight: 700; }`,
			body: `<p id="p" class="a">x</p><div id="d" class="a">y</div><span id="x">z</span><span id="none">n</span>`,
			want: map[string]string{"p": "margin:0 0 16px;color:red", "d": "color:red", "x": "font-weight:700", "none": "(none)"},
			kept: "-",
		},
		{
			name: "the element's own style wins over the stylesheet",
			css:  `.a { color: red; padding: 0; }`,
			body: `<p id="p" class="a" style="color: blue">x</p>`,
			want: map[string]string{"p": "padding:0;color:blue"},
			kept: "-",
		},
		{
			name: "specificity, not source order",
			css:  `#x { color: green; } .a.b { color: blue; } .a { color: red; } p { color: black; }`,
			body: `<p id="x" class="a b">1</p><p id="y" class="a b">2</p><p id="z" class="a">3</p>`,
			want: map[string]string{"x": "color:green", "y": "color:blue", "z": "color:red"},
		},
		{
			name: "source order at equal specificity",
			css:  `.a { color: red; } .b { color: blue; }`,
			body: `<p id="p" class="b a">x</p>`,
			want: map[string]string{"p": "color:blue"},
		},
		{
			name: "!important beats the element's style, and is inlined without it",
			css:  `.a { color: red !important; margin: 0 }`,
			body: `<p id="p" class="a" style="color:blue;margin:4px">x</p><p id="q" class="a">y</p>`,
			want: map[string]string{"p": "margin:4px;color:red", "q": "margin:0;color:red"},
		},
		{
			name: "an !important of the element's own wins over the stylesheet's",
			css:  `.a { color: red !important; }`,
			body: `<p id="p" class="a" style="color: blue ! important">x</p>`,
			want: map[string]string{"p": "color:blue !important"},
		},
		{
			name: "descendant and child combinators",
			css:  `.box p { color: red; } .box > span { color: blue; } table td.c { color: green; }`,
			body: `<div class="box"><p id="in">x</p><div><span id="deep">y</span></div><span id="child">z</span></div><p id="out">o</p>` +
				`<table><tr><td id="td" class="c">t</td></tr></table>`,
			want: map[string]string{"in": "color:red", "deep": "(none)", "child": "color:blue", "out": "(none)", "td": "color:green"},
		},
		{
			name: "shorthands keep their order with longhands",
			css:  `.a { border: 1px solid red; } .b { border-color: blue; }`,
			body: `<p id="p" class="a" style="border-color:green">x</p><p id="q" class="a b">y</p>`,
			want: map[string]string{"p": "border:1px solid red;border-color:green", "q": "border:1px solid red;border-color:blue"},
		},
		{
			name: "repeated declarations of one block are fallbacks and stay",
			css:  `.a { background: #fff; background: linear-gradient(#fff, #eee); } .b { background: #000; }`,
			body: `<p id="p" class="a">x</p><p id="q" class="a b">y</p>`,
			want: map[string]string{"p": "background:#fff;background:linear-gradient(#fff, #eee)", "q": "background:#000"},
		},
		{
			name: "what cannot be inlined stays",
			css: `@import url("x.css");
:root { color-scheme: light dark; }
.a, .b:hover { color: red; }
a[href] { color: blue; }
* { margin: 0; }
p + p { margin-top: 8px; }
[data-ogsc] .a { color: white !important; }
@media (max-width: 600px) { .a { width: 100% !important; } }
.c { color: green; }`,
			body: `<p id="p" class="a b">x</p><p id="c" class="c">y</p>`,
			want: map[string]string{"p": "color:red", "c": "color:green"},
			kept: `@import url("x.css");
:root { color-scheme: light dark; }
.b:hover { color: red; }
a[href] { color: blue; }
* { margin: 0; }
p + p { margin-top: 8px; }
[data-ogsc] .a { color: white !important; }
@media (max-width: 600px) { .a { width: 100% !important; } }`,
		},
		{
			name: "comments, strings and odd spacing",
			css:  "/* a } comment */ .a{font-family:\"a;b}\" , serif;/* x */color :\n red ;;  } .B{color:blue}",
			body: `<p id="p" class="a">x</p><p id="q" class="b">case matters</p><p id="r" class="B">y</p>`,
			want: map[string]string{"p": `font-family:"a;b}" , serif;color:red`, "q": "(none)", "r": "color:blue"},
		},
		{
			name: "class names match whole words; type names in any case",
			css:  `.a { color: red; } P { margin: 0; }`,
			body: `<p id="p" class="ab  x-a	a">x</p><div id="d" class="ab">y</div>`,
			want: map[string]string{"p": "margin:0;color:red", "d": "(none)"},
		},
		{
			name: "an element nothing selects keeps its style as written",
			css:  `.a { color: red; }`,
			body: `<p id="p" style="margin:0 ;  COLOR: Blue">x</p>`,
			want: map[string]string{"p": "margin:0 ;  COLOR: Blue"},
		},
		{
			name: "a stylesheet with nothing to inline is left as written",
			css:  "@media (max-width: 600px) {\n  .a { color: red; }\n}",
			body: `<p id="p" class="a">x</p>`,
			want: map[string]string{"p": "(none)"},
			kept: "@media (max-width: 600px) {\n  .a { color: red; }\n}",
		},
		{
			name: "broken CSS does not stop the rest",
			css:  `.a { color: red; } .b { color: blue; .c { color: green; }`,
			body: `<p id="p" class="a">x</p>`,
			want: map[string]string{"p": "color:red"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			styles, kept := inlined(t, tt.css, tt.body)
			for id, want := range tt.want {
				require.Equal(t, want, styles[id], "#%s style", id)
			}
			if tt.kept != "" {
				require.Equal(t, tt.kept, kept, "<style> keeps")
			}
		})
	}
}

func TestInlineSkipsStyleForOtherMedia(t *testing.T) {
	t.Parallel()
	src := `<html><head><style media="print">.a{color:red}</style><style media="screen">.b{color:blue}</style></head><body><p id="p" class="a b">x</p></body></html>`
	got := inlineOnly(t, src)
	require.Contains(t, got, `<style media="print">.a{color:red}</style>`)
	require.Contains(t, got, `<p id="p" class="a b" style="color:blue">`)
}

// TestInlineStarters checks that the layout's classes reach the elements of
// every starter as style attributes, and that only what cannot be inlined
// is left in <style>.
func TestInlineStarters(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, name := range starters {
		if name == "check-in" {
			continue // on the plain "note" page, which has no stylesheet
		}
		r, err := s.Render(name, full())
		require.NoError(t, err, "Render(%s)", name)
		for _, want := range []string{
			`<td class="content" align="left" style="padding:40px 48px;font-family:`,
			`class="button-a" href="https://links.test/c/`,
			`style="display:inline-block;padding:14px 28px;`,
			`<body class="page" style="margin:0;padding:0;width:100%;`,
			`@media (prefers-color-scheme: dark)`,
			`@media only screen and (max-width: 620px)`,
			`[data-ogsc] .content { color: #e5e7eb !important; }`,
		} {
			if name == "confirm-opt-in" && strings.Contains(want, "links.test/c/") {
				continue // tracking none: its one button is the confirmation link, never rewritten
			}
			require.Contains(t, r.HTML, want, "%s: HTML", name)
		}
		style := r.HTML[strings.Index(r.HTML, "<style>"):strings.Index(r.HTML, "</style>")]
		for _, unwanted := range []string{"\n.card {", "\np {", "\n.content {", "\ntable {"} {
			require.NotContains(t, style, unwanted, "%s: <style>", name)

		}
	}
}
