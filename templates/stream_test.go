package templates

import (
	stdhtml "html"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// inlineOnly returns src with its CSS inlined, and nothing else changed.
func inlineOnly(t testing.TB, src string) string {
	t.Helper()
	var out strings.Builder
	var last atomic.Pointer[cascade]
	_, err := renderHTML([]byte(src), &out, &styleCache{}, &last, nil, "", false)
	require.NoError(t, err, "renderHTML")
	return out.String()
}

func attrValue(n *html.Node, key string) string {
	v, _ := attrOf(n, key)
	return v
}

// anchorHrefs returns the href of every <a> start tag that
// golang.org/x/net/html's tokenizer reads in src, in order ("" for none):
// the links as a mail client's parser sees them.
func anchorHrefs(src string) []string {
	z := html.NewTokenizer(strings.NewReader(src))
	var hrefs []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			return hrefs
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if string(name) != "a" {
				continue
			}
			href, found := "", false
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				if string(k) == "href" && !found {
					href, found = string(v), true
				}
			}
			hrefs = append(hrefs, href)
		}
	}
}

// FuzzRenderHTML runs the one pass over any HTML, with CSS, tracking and
// the text part, and checks that what it writes reads back as it meant:
// it parses, has the links of the input in the same order (each as it was
// or replaced with its tracked URL, and only trackable ones replaced), and
// its text part is clean.
func FuzzRenderHTML(f *testing.F) {
	for _, seed := range []string{
		`<!DOCTYPE html><html><head><style>.a{color:red} p{margin:0} @media (max-width:1px){.a{color:blue}}</style></head><body><p class="a"><a href="https://e.test/1">one</a></p></body></html>`,
		`<a href="https://e.test/x`,
		`<a href=https://e.test/x"y>q</a><a href='https://e.test/'b=c>r</a>`,
		`<!-- <a href="https://e.test/c"> -->`,
		`<!-- never closed <a href="https://e.test/c">`,
		`<p>a < b <a href="https://e.test/?a=1&amp;b=2&copy=3">x</a></p>`,
		`<table><tr><td><a href="https://e.test/t">cell</a><tr><td>next</table>`,
		`<template><a href="https://e.test/tpl">t</a></template><a href="https://e.test/after">a</a>`,
		`<a href="https://e.test/n" data-notrack>n</a><a href="mailto:x@e.test">m</a>`,
		`<title><a href="https://e.test/title"></title><textarea><a href="https://e.test/ta"></textarea>`,
		`<a href="https://e.test/1" href="https://evil.test/2">dup</a><a/href="https://e.test/s">slash</a>`,
		`<style>.a{color:red}</style><div class=a style="display:none"><a href="https://e.test/h">hidden</a></div>`,
		`<ul><li>one<li>two<ol start=3><li>three</ol></ul><pre>  x
 y</pre><br></br>`,
		`<p><b>unclosed <i>tags <div>block</p></div>`,
		`<!x><?php echo 1 ?></ 3><![CDATA[ <a href="https://e.test/cd"> ]]>`,
		`<body><a href=" https://e.test/space ">s</a></body><p>after body</p>`,
		"<a href=\"https://e.test/\x00\">nul</a>\x00<a\thref\n=\r\"https://e.test/ws\">ws</a>",
		`<style media="print">.a{color:red}</style><style>`,
		`<script><!--<script></script><a href="https://e.test/in-script">x</a>--></script><a href="https://e.test/after">y</a>`,
		`<script><!--</script><a href="https://e.test/out">x</a>`,
		`<script>if (a<b) document.write("<a href='https://e.test/js'>")</script>`,
		`<svg><style><a href="https://e.test/svg-style">s</a></style></svg><style>.a{color:red}</style><a class=a href="https://e.test/html">h</a>`,
		`<svg><![CDATA[<a href="https://e.test/cdata">]]></svg><a href="https://e.test/after">a</a>`,
		`<svg><foreignObject><a href="https://e.test/fo">f</a><style>.x{}</style></foreignObject><title><a href="https://e.test/t">t</a></title></svg>`,
		`<svg><p><a href="https://e.test/breakout">p</a></svg><math><mi><style><a href="https://e.test/mi"></style></mi><mtext><a href="https://e.test/mt">m</a></mtext></math>`,
		`<svg><stYle><A</stYle><A>`,
		`<svg><title><A `,
		`<svg><![CDATA[><A `,
		`<math><annotation-xml encoding="text/html"><a href="https://e.test/ax">x</a></annotation-xml></math><svg><font color=red><a href="https://e.test/font">f</a></svg>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var calls []string
		d := Data{Track: &Tracking{
			Click: func(i int, target string) string {
				calls = append(calls, target)
				return "https://links.test/c/" + strconv.Itoa(i)
			},
			OpenPixel: "https://links.test/o/pixel.gif",
		}}
		tr := newTracker(trackAll, &d)
		pixel, err := tr.pixel()
		require.NoError(t, err)
		var out strings.Builder
		var last atomic.Pointer[cascade]
		text, err := renderHTML([]byte(src), &out, &styleCache{}, &last, tr, pixel, true)
		if err != nil {
			return // nested too deep, as html.Parse would say
		}
		got := out.String()
		_, err = html.Parse(strings.NewReader(got))
		require.NoError(t, err, "output does not parse:\n%s", got)
		inTree, err := html.Parse(strings.NewReader(src))
		require.NoError(t, err, "input does not parse")
		require.True(t, utf8.ValidString(text), "text part %q", text)
		require.NotContains(t, text, "\r", "text part")
		require.Equal(t, cleanText(text), text, "text part is not clean")
		require.LessOrEqual(t, strings.Count(got, `src="https://links.test/o/pixel.gif"`), 1, "pixels")
		in, outHrefs := anchorHrefs(src), anchorHrefs(got)
		require.Len(t, outHrefs, len(in), "links in %q, out %q:\n%s", in, outHrefs, got)
		tracked := 0
		for i, h := range outHrefs {
			if h == in[i] {
				continue
			}
			require.Equal(t, "https://links.test/c/"+strconv.Itoa(tracked), h, "link %d: %q became %q", i, in[i], h)
			require.Less(t, tracked, len(calls), "link %d: %q became %q", i, in[i], h)
			require.Equal(t, strings.TrimSpace(in[i]), calls[tracked], "link %d: %q became %q", i, in[i], h)
			require.True(t, trackable(strings.TrimSpace(in[i])), "link %d: %q is not trackable but was tracked", i, in[i])
			tracked++
		}
		require.Len(t, calls, tracked, "links tracked in the output against calls to Click")

		// The same as a browser's parser builds the documents, which knows
		// SVG and MathML, where HTML comes back, and scripts' escapes. The
		// pixel is left out: after a formatting element left open, such
		// as an <a>, the parser wraps it in a copy of that element.
		outTree, err := html.Parse(strings.NewReader(strings.Replace(got, pixel, "", 1)))
		require.NoError(t, err, "output without the pixel does not parse:\n%s", got)
		in, outHrefs = treeHrefs(inTree), treeHrefs(outTree)
		require.Len(t, outHrefs, len(in), "parsed, links in %q, out %q:\n%s", in, outHrefs, got)
		for i, h := range outHrefs {
			if h == in[i] {
				continue
			}
			k, err := strconv.Atoi(strings.TrimPrefix(h, "https://links.test/c/"))
			require.NoError(t, err, "parsed, link %d: %q became %q\n%s", i, in[i], h, got)
			require.Less(t, k, len(calls), "parsed, link %d: %q became %q\n%s", i, in[i], h, got)
			require.Equal(t, strings.TrimSpace(in[i]), calls[k], "parsed, link %d: %q became %q\n%s", i, in[i], h, got)
		}
	})
}

// treeHrefs returns the href of every HTML <a> element of a parsed
// document, in document order ("" for none).
func treeHrefs(n *html.Node) []string {
	var hrefs []string
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Namespace == "" && d.Data == "a" {
			hrefs = append(hrefs, attrValue(d, "href"))
		}
	}
	return hrefs
}

// FuzzFastPaths checks that the shortcuts of cleanText and oneLine give
// what the long way does.
func FuzzFastPaths(f *testing.F) {
	for _, seed := range []string{"", "a", "a b", "a  b", " a", "a\n", "a \nb", "a\tb\n", "\nA", "é\u00a0\nb", "x\u2028", "a\r\nb", "\ufffd", "ok\n\nok"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, cleanTextSlow(s), cleanText(s), "cleanText(%q)", s)
		require.Equal(t, oneLineSlow(s), oneLine(s), "oneLine(%q)", s)
	})
}

// TestPartialRemembers checks that {{partial}} gives what {{template}}
// gives, for each data, and remembers only plain dicts.
func TestPartialRemembers(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/p.html": `{{define "subject"}}P{{end}}{{define "topic"}}product{{end}}
{{define "item"}}<i>{{.Text}} {{.N}}</i>{{end}}
{{define "body"}}{{partial "item" "Text" .Contact.FirstName "N" 1}}{{template "item" (dict "Text" .Contact.FirstName "N" 1)}}{{partial "item" (dict "Text" .Contact.Attributes "N" "1")}}{{partial "item" "Text" (print .Contact.FirstName) "N" "1"}}{{end}}`}))
	require.NoError(t, err, "Load")
	for _, name := range []string{"Ada", "<b>Bob</b>", "Ada", "Zoë & Co"} {
		d := data(ada())
		d.Contact.FirstName = name
		d.Contact.Attributes = map[string]any{"x": name}
		r, err := s.Render("p", d)
		require.NoError(t, err, "Render")
		esc := html.EscapeString(name)
		want := "<i>" + esc + " 1</i><i>" + esc + " 1</i><i>map[x:" + esc + "] 1</i><i>" + esc + " 1</i>"
		require.Contains(t, r.HTML, want, "HTML for %q", name)
	}
}

// TestDecodeCommon checks the shortcut for entities against the decoders
// it stands for, in text and in attributes.
func TestDecodeCommon(t *testing.T) {
	t.Parallel()
	var refs []string
	for name := range commonEntities {
		refs = append(refs, "&"+name+";")
	}
	refs = append(refs, "&#39;", "&#x27;", "&#8594;", "&#xD7FF;", "&#128512;", "&#X1f600;", "a&amp;b&lt;c", "&#1;")
	for _, ref := range refs {
		got, ok := decodeCommon([]byte(ref))
		require.True(t, ok, "decodeCommon(%q) refused it", ref)
		require.Equal(t, stdhtml.UnescapeString(ref), string(got), "decodeCommon(%q) against html.UnescapeString", ref)
		require.Equal(t, decodeAttr(&scanAttr{val: []byte(ref), quote: '"'}), string(got), "decodeCommon(%q) against x/net/html in an attribute", ref)
	}
	for _, ref := range []string{"&nbsp", "&copy=1", "&#0;", "&#x80;", "&#xD800;", "&#1114112;", "&unknown;", "a\rb", "&;", "&#;", "&#x;"} {
		got, ok := decodeCommon([]byte(ref))
		require.False(t, ok, "decodeCommon(%q) = %q, want a refusal", ref, got)
	}
}

// TestStyleChangesWithData checks an email whose <style> comes late or
// depends on the data: every element gets the rules of the document it is
// in, and Click is still called once per link.
func TestStyleChangesWithData(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{
		"mail/_layout.html": `{{define "layout"}}<html><body>{{template "body" .}}</body></html>{{end}}`,
		"mail/css.html": `{{define "subject"}}CSS{{end}}{{define "topic"}}product{{end}}
{{define "body"}}<p class="x"><a href="https://app.acme.test/a">a</a></p><style>.x { color: {{.Contact.Attributes.color}}; }</style>{{end}}`,
	}))
	require.NoError(t, err, "Load")
	for _, color := range []string{"red", "blue", "blue", "green"} {
		var c clicks
		d := data(ada())
		d.Contact.Attributes = map[string]any{"color": color}
		d.Track = c.tracking()
		r, err := s.Render("css", d)
		require.NoError(t, err, "Render")
		require.Contains(t, r.HTML, `<p class="x" style="color:`+color+`">`, "HTML")
		require.NotContains(t, r.HTML, "<style", "the inlined <style> stayed")
		require.Len(t, c.targets, 1, "Click called for %q (out of order: %q), want once", c.targets, c.bad)
		require.Empty(t, c.bad, "Click called out of order")

	}
}
