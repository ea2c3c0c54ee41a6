package templates

import (
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// linkProbe has a link of every kind the rewriter must tell apart.
const linkProbe = `{{define "subject"}}Links{{end}}
{{define "topic"}}product{{end}}
{{define "body"}}
<p><a id="one" href="https://app.acme.test/one">one</a></p>
<p><a id="two" href="HTTP://APP.acme.test/two">two</a></p>
<p><a id="three" href=" https://app.acme.test/three?a=1&b=2 ">three</a></p>
<p><a id="mail" href="mailto:help@acme.test">mail us</a></p>
<p><a id="tel" href="tel:+15551234">call us</a></p>
<p><a id="anchor" href="#top">top</a> <a id="relative" href="/pricing">pricing</a> <a id="nohref">nothing</a></p>
<p><a id="notrack" href="https://app.acme.test/private" data-notrack>private</a></p>
<p><a id="unsub" href="{{.Links.Unsubscribe}}">leave</a> <a id="prefs" href="{{.Links.Preferences}}">choose</a> <a id="view" href="{{.Links.ViewInBrowser}}">view</a></p>
<p><a id="creds" href="https://user:pw@app.acme.test/">credentials</a> <a id="ftp" href="ftp://files.acme.test/x">ftp</a></p>
<p><a id="again" href="https://app.acme.test/one">one again</a></p>
{{end}}`

// links returns the href of each element with an id, and which elements
// still carry data-notrack.
func links(t *testing.T, src string) (hrefs map[string]string, marked []string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	require.NoError(t, err)
	hrefs = map[string]string{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if id := attrValue(n, "id"); id != "" {
			hrefs[id] = attrValue(n, "href")
		}
		for _, a := range n.Attr {
			if a.Key == noTrackAttr {
				marked = append(marked, n.Data+"#"+attrValue(n, "id"))
			}
		}
	}
	return hrefs, marked
}

func TestTrackRewritesLinks(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/links.html": linkProbe}))
	require.NoError(t, err, "Load")
	d := data(ada())
	var c clicks
	d.Track = c.tracking()
	r, err := s.Render("links", d)
	require.NoError(t, err, "Render")
	require.Empty(t, c.bad, "Click called out of order")
	wantTargets := []string{"https://app.acme.test/one", "HTTP://APP.acme.test/two", "https://app.acme.test/three?a=1&b=2", "https://app.acme.test/one"}
	require.Equal(t, wantTargets, c.targets, "Click targets")
	hrefs, marked := links(t, r.HTML)
	want := map[string]string{
		"one":      "https://links.test/c/0",
		"two":      "https://links.test/c/1",
		"three":    "https://links.test/c/2",
		"again":    "https://links.test/c/3",
		"mail":     "mailto:help@acme.test",
		"tel":      "tel:+15551234",
		"anchor":   "#top",
		"relative": "/pricing",
		"nohref":   "",
		"notrack":  "https://app.acme.test/private",
		"unsub":    d.Links.Unsubscribe,
		"prefs":    d.Links.Preferences,
		"view":     d.Links.ViewInBrowser,
		"creds":    "https://user:pw@app.acme.test/",
		"ftp":      "ftp://files.acme.test/x",
	}
	for id, href := range want {
		require.Equal(t, href, hrefs[id], "<a id=%s> href", id)
	}
	require.Empty(t, marked, "data-notrack left")
	text := unwrap(r.Text)
	for _, w := range []string{
		"one (https://links.test/c/0)", "two (https://links.test/c/1)", "three (https://links.test/c/2)", "one again (https://links.test/c/3)",
		"mail us (mailto:help@acme.test)", "private (https://app.acme.test/private)",
		"leave (" + d.Links.Unsubscribe + ")", "View in browser (" + d.Links.ViewInBrowser + ")",
		"Unsubscribe (" + d.Links.Unsubscribe + ")",
	} {
		require.Contains(t, text, w, "text")
	}
	require.NotContains(t, r.Text, "app.acme.test/one", "text has an untracked target")
}

// TestTrackIndexesAreStable renders every starter twice and checks that
// link i leads to the same target both times, and that indexes follow the
// order of the document.
func TestTrackIndexesAreStable(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, name := range starters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var runs [2]clicks
			for i := range runs {
				d := full()
				d.Track = runs[i].tracking()
				r, err := s.Render(name, d)
				require.NoError(t, err, "Render")
				require.Empty(t, runs[i].bad, "Click called out of order")
				// The tracked links appear in the HTML in index order.
				last := -1
				for _, href := range hrefsOf(t, r.HTML) {
					if rest, ok := strings.CutPrefix(href, "https://links.test/c/"); ok {
						require.Equal(t, strconv.Itoa(last+1), rest, "tracked link %s follows link %d", rest, last)
						last++
					}
				}
				require.Len(t, runs[i].targets, last+1, "tracked links in the HTML against calls to Click")
			}
			require.Equal(t, runs[0].targets, runs[1].targets, "targets differ between renders")
			if name != "check-in" && name != "confirm-opt-in" { // a note, and an untracked confirmation: nothing to click but the recipient's own links
				require.NotEmpty(t, runs[0].targets, "no link was tracked")
			}
		})
	}
}

// hrefsOf returns the href of every <a> in document order.
func hrefsOf(t *testing.T, src string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	require.NoError(t, err)
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			out = append(out, attrValue(n, "href"))
		}
	}
	return out
}

// pixels returns the open pixels of a document, and whether the last one is
// the last element of the body.
func pixels(t *testing.T, src string) (n int, last bool) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	require.NoError(t, err)
	var body *html.Node
	for e := range doc.Descendants() {
		if e.Type != html.ElementNode {
			continue
		}
		if e.Data == "body" {
			body = e
		}
		if e.Data == "img" && strings.HasPrefix(attrValue(e, "src"), "https://links.test/o/") {
			n++
			require.Equal(t, "1", attrValue(e, "width"), "pixel width")
			require.Equal(t, "1", attrValue(e, "height"), "pixel height")
			alt, ok := attrOf(e, "alt")
			require.True(t, ok, "pixel has no alt; want an empty alt")
			require.Empty(t, alt, "pixel alt")
			last = e.Parent == body && lastElement(body) == e
		}
	}
	return n, last
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

func lastElement(n *html.Node) *html.Node {
	for c := n.LastChild; c != nil; c = c.PrevSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

func TestTrackModes(t *testing.T) {
	t.Parallel()
	body := `{{define "subject"}}Hi{{end}}{{define "topic"}}product{{end}}{{define "body"}}<p><a href="https://app.acme.test/x">x</a></p>{{end}}`
	tests := []struct {
		name   string
		block  string // the tracking block, or "" for none
		track  func() *Tracking
		clicks bool
		pixel  bool
	}{
		{"no block means all", "", goldenTracking, true, true},
		{"all", `{{define "tracking"}}all{{end}}`, goldenTracking, true, true},
		{"all, spaced", "{{define \"tracking\"}}\n  all\n{{end}}", goldenTracking, true, true},
		{"clicks", `{{define "tracking"}}clicks{{end}}`, goldenTracking, true, false},
		{"opens", `{{define "tracking"}}opens{{end}}`, goldenTracking, false, true},
		{"none", `{{define "tracking"}}none{{end}}`, goldenTracking, false, false},
		{"no Tracking (a preview)", "", func() *Tracking { return nil }, false, false},
		{"no pixel URL", "", func() *Tracking { tr := goldenTracking(); tr.OpenPixel = ""; return tr }, true, false},
		{"no Click", "", func() *Tracking { tr := goldenTracking(); tr.Click = nil; return tr }, false, true},
		{"Click declines", "", func() *Tracking {
			tr := goldenTracking()
			tr.Click = func(int, string) string { return "" }
			return tr
		}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Load(fsWith(t, map[string]string{"mail/probe.html": body + tt.block}))
			require.NoError(t, err, "Load")
			d := data(ada())
			d.Track = tt.track()
			r, err := s.Render("probe", d)
			require.NoError(t, err, "Render")
			clicked := strings.Contains(r.HTML, `href="https://links.test/c/0"`)
			require.Equal(t, tt.clicks, clicked, "link tracked")
			if !clicked {
				require.Contains(t, r.HTML, `href="https://app.acme.test/x"`, "untracked link lost its target")
			}
			require.Equal(t, tt.clicks, strings.Contains(r.Text, "https://links.test/c/0"), "text has the tracked link")
			n, last := pixels(t, r.HTML)
			if tt.pixel {
				require.Equal(t, 1, n, "pixels")
				require.True(t, last, "the pixel is not the last element of the body")
			} else {
				require.Zero(t, n, "pixels")
			}
		})
	}
}

func TestTrackPixelOncePerStarter(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, name := range starters {
		if name == "confirm-opt-in" {
			continue // tracking none: whether the person opened it is not ours to know
		}
		r, err := s.Render(name, full())
		require.NoError(t, err, "Render(%s)", name)
		n, last := pixels(t, r.HTML)
		require.Equal(t, 1, n, "%s: pixels", name)
		require.True(t, last, "%s: the pixel is not the last element of the body", name)
		require.NotContains(t, r.Text, "links.test/o/", "%s: the pixel shows in the text", name)
	}
}

func TestTrackRejectsBadPixel(t *testing.T) {
	t.Parallel()
	s := setup(t)
	d := full()
	d.Track.OpenPixel = "javascript:alert(1)"
	_, err := s.Render("welcome", d)
	require.ErrorContains(t, err, "open pixel", "Render with a bad pixel URL")
}

func TestTrackHandWrittenText(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{
		"mail/note.html": `{{define "subject"}}Note{{end}}{{define "topic"}}product{{end}}
{{define "body"}}<p><a href="https://app.acme.test/a?x=1&y=2">a</a> <a href="https://app.acme.test/b">b</a></p>{{end}}`,
		"mail/note.txt": "See https://app.acme.test/a?x=1&y=2. And (https://app.acme.test/b), " +
			"not https://app.acme.test/c nor https://app.acme.test/bb.\nUnsubscribe: {{.Links.Unsubscribe}}\n",
	}))
	require.NoError(t, err, "Load")
	d := data(ada())
	d.Track = goldenTracking()
	r, err := s.Render("note", d)
	require.NoError(t, err, "Render")
	want := "See https://links.test/c/0. And (https://links.test/c/1), not https://app.acme.test/c nor https://app.acme.test/bb.\n" +
		"Unsubscribe: https://links.acme.test/u/tok123\n"
	require.Equal(t, want, r.Text, "text")
}

// TestTrackExemptsRecipientLinks checks that the recipient's own links are
// recognised after html/template has normalised them.
func TestTrackExemptsRecipientLinks(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/links.html": linkProbe}))
	require.NoError(t, err, "Load")
	d := data(ada())
	d.Links = Links{
		Unsubscribe:   "https://links.acme.test/u/tok 1|x'(é)",
		Preferences:   "https://links.acme.test/u/tok%2F1?a=b&c=[d]",
		ViewInBrowser: " https://links.acme.test/v/tok1 ",
	}
	var c clicks
	d.Track = c.tracking()
	r, err := s.Render("links", d)
	require.NoError(t, err, "Render")
	for _, target := range c.targets {
		require.NotContains(t, target, "links.acme.test", "a recipient link was tracked")
	}
	require.Len(t, c.targets, 4, "links tracked")
	_ = r
}

// TestNormalizeURLMatchesHTMLTemplate checks normalizeURL against what
// html/template writes in an href.
func TestNormalizeURLMatchesHTMLTemplate(t *testing.T) {
	t.Parallel()
	tmpl := htmltemplate.Must(htmltemplate.New("").Parse(`<a href="{{.}}">x</a>`))
	for _, u := range []string{
		"https://a.test/", "https://a.test/p q", "https://a.test/?q=a b&c='d'", "https://a.test/%zz%41", "https://a.test/é?ü=1",
		"https://a.test/(x)<y>{z}|\\^`", "https://a.test/#frag!$*+,;=@[]", "https://a.test/%2", "https://a.test/\x7f",
	} {
		var b strings.Builder
		require.NoError(t, tmpl.Execute(&b, u))
		require.Equal(t, []string{normalizeURL(u)}, hrefsOf(t, b.String()), "html/template wrote %q differently from normalizeURL", u)
	}
}

// TestTrackHostileValuesNeverBecomeTargets renders every starter, and a
// template that puts contact data in text, attributes and query strings,
// for hostile names: the links the caller is asked to track are always the
// template's own, on the hosts it names.
func TestTrackHostileValuesNeverBecomeTargets(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/probe.html": strings.Replace(attrProbe, `<a href="{{.Contact.Company}}">site</a>`, "", 1)}))
	require.NoError(t, err, "Load")
	for _, name := range append([]string{"probe"}, starters...) {
		var benign clicks
		d := full()
		d.Track = benign.tracking()
		_, err := s.Render(name, d)
		require.NoError(t, err, "Render(%s)", name)
		for _, v := range append(hostile, `<a href="https://evil.test/x">x</a>`, "https://evil.test/y", `https://evil.test/z" data-x="`) {
			t.Run(name+"/"+v, func(t *testing.T) {
				t.Parallel()
				var c clicks
				d := full()
				d.Contact.FirstName, d.Contact.LastName, d.Contact.Company, d.Contact.Industry = v, v, v, v
				d.Contact.Role, d.Contact.Title, d.Contact.TeamSize, d.Contact.TimeZone = v, v, v, v
				d.Track = c.tracking()
				r, err := s.Render(name, d)
				require.NoError(t, err, "Render")
				checkSafeHTML(t, r.HTML)
				require.Len(t, c.targets, len(benign.targets), "links tracked, against a benign contact's")
				for _, target := range c.targets {
					u, err := url.Parse(target)
					require.NoError(t, err, "tracked target %q", target)
					require.Equal(t, "app.acme.test", u.Host, "tracked target %q is not on the template's host", target)
				}
				for _, href := range hrefsOf(t, r.HTML) {
					require.NotContains(t, href, "evil.test", "a hostile value became a link")
				}

			})
		}
	}
}
