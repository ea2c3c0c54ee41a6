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
	if _, err := renderHTML([]byte(src), &out, &styleCache{}, &last, nil, "", false); err != nil {
		t.Fatalf("renderHTML: %v", err)
	}
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
		if _, err := html.Parse(strings.NewReader(got)); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, got)
		}
		inTree, err := html.Parse(strings.NewReader(src))
		require.NoError(t, err, "input does not parse")
		if !utf8.ValidString(text) || strings.Contains(text, "\r") {
			t.Errorf("text part %q", text)
		}
		if clean := cleanText(text); clean != text {
			t.Errorf("text part is not clean:\n%q\nclean:\n%q", text, clean)
		}
		if n := strings.Count(got, `src="https://links.test/o/pixel.gif"`); n > 1 {
			t.Errorf("%d pixels", n)
		}
		in, outHrefs := anchorHrefs(src), anchorHrefs(got)
		if len(in) != len(outHrefs) {
			t.Fatalf("%d links in, %d out:\n%q\n%q\n%s", len(in), len(outHrefs), in, outHrefs, got)
		}
		tracked := 0
		for i, h := range outHrefs {
			if h == in[i] {
				continue
			}
			if want := "https://links.test/c/" + strconv.Itoa(tracked); h != want || tracked >= len(calls) || calls[tracked] != strings.TrimSpace(in[i]) {
				t.Fatalf("link %d: %q became %q", i, in[i], h)
			}
			if !trackable(strings.TrimSpace(in[i])) {
				t.Fatalf("link %d: %q is not trackable but was tracked", i, in[i])
			}
			tracked++
		}
		if tracked != len(calls) {
			t.Fatalf("%d links tracked in the output, %d calls to Click", tracked, len(calls))
		}

		// The same as a browser's parser builds the documents, which knows
		// SVG and MathML, where HTML comes back, and scripts' escapes. The
		// pixel is left out: after a formatting element left open, such
		// as an <a>, the parser wraps it in a copy of that element.
		outTree, err := html.Parse(strings.NewReader(strings.Replace(got, pixel, "", 1)))
		if err != nil {
			t.Fatalf("output without the pixel does not parse: %v\n%s", err, got)
		}
		in, outHrefs = treeHrefs(inTree), treeHrefs(outTree)
		if len(in) != len(outHrefs) {
			t.Fatalf("parsed, %d links in, %d out:\n%q\n%q\n%s", len(in), len(outHrefs), in, outHrefs, got)
		}
		for i, h := range outHrefs {
			if h == in[i] {
				continue
			}
			k, err := strconv.Atoi(strings.TrimPrefix(h, "https://links.test/c/"))
			if err != nil || k >= len(calls) || calls[k] != strings.TrimSpace(in[i]) {
				t.Fatalf("parsed, link %d: %q became %q\n%s", i, in[i], h, got)
			}
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
		if got, want := cleanText(s), cleanTextSlow(s); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", s, got, want)
		}
		if got, want := oneLine(s), oneLineSlow(s); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", s, got, want)
		}
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
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML for %q lacks %s", name, want)
		}
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
		if !ok {
			t.Errorf("decodeCommon(%q) refused it", ref)
			continue
		}
		if want := stdhtml.UnescapeString(ref); string(got) != want {
			t.Errorf("decodeCommon(%q) = %q, html.UnescapeString gives %q", ref, got, want)
		}
		if want := decodeAttr(&scanAttr{val: []byte(ref), quote: '"'}); string(got) != want {
			t.Errorf("decodeCommon(%q) = %q, x/net/html gives %q in an attribute", ref, got, want)
		}
	}
	for _, ref := range []string{"&nbsp", "&copy=1", "&#0;", "&#x80;", "&#xD800;", "&#1114112;", "&unknown;", "a\rb", "&;", "&#;", "&#x;"} {
		if got, ok := decodeCommon([]byte(ref)); ok {
			t.Errorf("decodeCommon(%q) = %q, want a refusal", ref, got)
		}
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
		if want := `<p class="x" style="color:` + color + `">`; !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, r.HTML)
		}
		if strings.Contains(r.HTML, "<style") {
			t.Errorf("the inlined <style> stayed:\n%s", r.HTML)
		}
		if len(c.targets) != 1 || len(c.bad) > 0 {
			t.Errorf("Click called for %q (out of order: %q), want once", c.targets, c.bad)
		}
	}
}
