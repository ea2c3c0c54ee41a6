package templates

import (
	htmltemplate "html/template"
	"net/url"
	"slices"
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
	if len(c.bad) > 0 {
		t.Errorf("Click called out of order: %q", c.bad)
	}
	wantTargets := []string{"https://app.acme.test/one", "HTTP://APP.acme.test/two", "https://app.acme.test/three?a=1&b=2", "https://app.acme.test/one"}
	if !slices.Equal(c.targets, wantTargets) {
		t.Errorf("Click targets =\n%q\nwant\n%q", c.targets, wantTargets)
	}
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
		if hrefs[id] != href {
			t.Errorf("<a id=%s href=%q>, want %q", id, hrefs[id], href)
		}
	}
	if len(marked) > 0 {
		t.Errorf("data-notrack left on %q", marked)
	}
	text := unwrap(r.Text)
	for _, w := range []string{
		"one (https://links.test/c/0)", "two (https://links.test/c/1)", "three (https://links.test/c/2)", "one again (https://links.test/c/3)",
		"mail us (mailto:help@acme.test)", "private (https://app.acme.test/private)",
		"leave (" + d.Links.Unsubscribe + ")", "View in browser (" + d.Links.ViewInBrowser + ")",
		"Unsubscribe (" + d.Links.Unsubscribe + ")",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, r.Text)
		}
	}
	if strings.Contains(r.Text, "app.acme.test/one") {
		t.Errorf("text has an untracked target:\n%s", r.Text)
	}
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
				if len(runs[i].bad) > 0 {
					t.Errorf("Click called out of order: %q", runs[i].bad)
				}
				// The tracked links appear in the HTML in index order.
				last := -1
				for _, href := range hrefsOf(t, r.HTML) {
					if rest, ok := strings.CutPrefix(href, "https://links.test/c/"); ok {
						if want := strconv.Itoa(last + 1); rest != want {
							t.Errorf("tracked link %s follows link %d", rest, last)
						}
						last++
					}
				}
				if last+1 != len(runs[i].targets) {
					t.Errorf("%d tracked links in the HTML, %d calls to Click", last+1, len(runs[i].targets))
				}
			}
			if !slices.Equal(runs[0].targets, runs[1].targets) {
				t.Errorf("targets differ between renders:\n%q\n%q", runs[0].targets, runs[1].targets)
			}
			if len(runs[0].targets) == 0 && name != "check-in" { // a note: nothing to click but the recipient's own links
				t.Error("no link was tracked")
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
			if attrValue(e, "width") != "1" || attrValue(e, "height") != "1" {
				t.Errorf("pixel is %sx%s", attrValue(e, "width"), attrValue(e, "height"))
			}
			if alt, ok := attrOf(e, "alt"); !ok || alt != "" {
				t.Errorf("pixel alt = %q, %v; want an empty alt", alt, ok)
			}
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
			if clicked != tt.clicks {
				t.Errorf("link tracked: %v, want %v", clicked, tt.clicks)
			}
			if !clicked && !strings.Contains(r.HTML, `href="https://app.acme.test/x"`) {
				t.Errorf("untracked link lost its target")
			}
			if got := strings.Contains(r.Text, "https://links.test/c/0"); got != tt.clicks {
				t.Errorf("text has the tracked link: %v, want %v", got, tt.clicks)
			}
			n, last := pixels(t, r.HTML)
			switch {
			case tt.pixel && (n != 1 || !last):
				t.Errorf("%d pixels (last element of the body: %v), want 1 at the end", n, last)
			case !tt.pixel && n != 0:
				t.Errorf("%d pixels, want none", n)
			}
		})
	}
}

func TestTrackPixelOncePerStarter(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, name := range starters {
		r, err := s.Render(name, full())
		if err != nil {
			t.Fatalf("Render(%s): %v", name, err)
		}
		if n, last := pixels(t, r.HTML); n != 1 || !last {
			t.Errorf("%s: %d pixels (last element of the body: %v), want 1 at the end", name, n, last)
		}
		if strings.Contains(r.Text, "links.test/o/") {
			t.Errorf("%s: the pixel shows in the text", name)
		}
	}
}

func TestTrackRejectsBadPixel(t *testing.T) {
	t.Parallel()
	s := setup(t)
	d := full()
	d.Track.OpenPixel = "javascript:alert(1)"
	if _, err := s.Render("welcome", d); err == nil || !strings.Contains(err.Error(), "open pixel") {
		t.Errorf("Render with a bad pixel URL: %v", err)
	}
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
	if r.Text != want {
		t.Errorf("text =\n%q\nwant\n%q", r.Text, want)
	}
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
		if strings.Contains(target, "links.acme.test") {
			t.Errorf("a recipient link was tracked: %q", target)
		}
	}
	if len(c.targets) != 4 {
		t.Errorf("%d links tracked, want 4: %q", len(c.targets), c.targets)
	}
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
		if err := tmpl.Execute(&b, u); err != nil {
			t.Fatal(err)
		}
		hrefs := hrefsOf(t, b.String())
		if len(hrefs) != 1 || hrefs[0] != normalizeURL(u) {
			t.Errorf("html/template wrote %q as %q, normalizeURL gives %q", u, hrefs, normalizeURL(u))
		}
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
		if _, err := s.Render(name, d); err != nil {
			t.Fatalf("Render(%s): %v", name, err)
		}
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
				if len(c.targets) != len(benign.targets) {
					t.Errorf("%d links tracked, %d for a benign contact: %q", len(c.targets), len(benign.targets), c.targets)
				}
				for _, target := range c.targets {
					u, err := url.Parse(target)
					if err != nil || (u.Host != "app.acme.test") {
						t.Errorf("tracked target %q is not on the template's host", target)
					}
				}
				for _, href := range hrefsOf(t, r.HTML) {
					if strings.Contains(href, "evil.test") {
						t.Errorf("a hostile value became a link: %q", href)
					}
				}
			})
		}
	}
}
