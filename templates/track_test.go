package templates

import (
	htmltemplate "html/template"
	"net/url"
	"slices"
	"strings"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	d := data(ada())
	var c clicks
	d.Track = c.tracking()
	r, err := s.Render("links", d)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
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
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if len(runs[i].bad) > 0 {
					t.Errorf("Click called out of order: %q", runs[i].bad)
				}
				// The tracked links appear in the HTML in index order.
				last := -1
				for _, href := range hrefsOf(t, r.HTML) {
					if rest, ok := strings.CutPrefix(href, "https://links.test/c/"); ok {
						if want := strconv(last + 1); rest != want {
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
			if len(runs[0].targets) == 0 {
				t.Error("no link was tracked")
			}
		})
	}
}

func strconv(i int) string {
	return url.PathEscape(string(rune('0'+i%10))) // replaced below for i >= 10
}

// hrefsOf returns the href of every <a> in document order.
func hrefsOf(t *testing.T, src string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			out = append(out, attrValue(n, "href"))
		}
	}
	return out
}
