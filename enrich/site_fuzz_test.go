package enrich

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExtractPage feeds arbitrary bytes to the page extraction: it must
// never panic, and whatever it keeps must stay within its bounds and be
// well formed (absolute http(s) URLs, canonical profile links, valid UTF-8).
func FuzzExtractPage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "site", "*.html"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<a href="https://x.com/acme">x</a><a href="/about">About</a><meta property="og:image" content="javascript:alert(1)">`))
	f.Add([]byte(`<script type="application/ld+json">[{"@type":"Organization","logo":{"url":"//cdn.test/l.png"},"sameAs":["https://github.com/a"]}]</script>`))
	f.Add([]byte(`<title><script>x</script></title><svg><title>svg</title></svg>`))
	base, _ := url.Parse("https://acme.test/")
	f.Fuzz(func(t *testing.T, body []byte) {
		p := extractPage(base, body)
		if len(p.Text) > MaxText || !utf8.ValidString(p.Text) {
			t.Fatalf("text of %d bytes, valid UTF-8 %v", len(p.Text), utf8.ValidString(p.Text))
		}
		for _, v := range []string{p.Title, p.MetaDescription, p.OGSiteName, p.OGDescription} {
			if len(v) > maxValue || !utf8.ValidString(v) {
				t.Fatalf("value %q out of bounds", v)
			}
		}
		checkAbsolute(t, p.OGImage)
		if p.About != "" {
			u, err := url.Parse(p.About)
			if err != nil || !sameSite(base, u) {
				t.Fatalf("about page %q is not on the site", p.About)
			}
		}
		if len(p.Links) > maxLinks {
			t.Fatalf("%d links kept", len(p.Links))
		}
		for _, l := range p.Links {
			u, err := url.Parse(l.URL)
			if err != nil {
				t.Fatalf("link %q: %v", l.URL, err)
			}
			// A canonical profile link is recognised as itself.
			if f, canon, ok := socialProfile(u); !ok || f != l.Field || canon != l.URL {
				t.Fatalf("link %+v is not canonical: %v %q %q", l, ok, f, canon)
			}
		}
		for _, o := range p.Orgs {
			checkOrg(t, o)
		}
		for _, fd := range pageFindings(p, Provenance{Source: base.String()}) {
			if fd.Value == "" {
				t.Fatalf("empty finding %+v", fd)
			}
		}
	})
}

// FuzzParseJSONLD feeds arbitrary JSON-LD: no panic, bounded values, and
// an independent reading of the simplest case (a top-level Organization
// with a string name) agrees with it.
func FuzzParseJSONLD(f *testing.F) {
	f.Add([]byte(`{"@context":"https://schema.org","@type":"Organization","name":"Acme","numberOfEmployees":{"@type":"QuantitativeValue","minValue":10,"maxValue":50}}`))
	f.Add([]byte(`{"@graph":[{"@type":"WebSite","publisher":{"@type":"Corporation","name":"Acme","address":[{"addressCountry":{"name":"France"}}]}}]}`))
	f.Add([]byte(`[{"@type":["Thing","Organization"],"name":" Acme\n Inc ","logo":"/logo.png","sameAs":"https://twitter.com/acme"}]`))
	f.Add([]byte(`<!-- {"@type":"Organization","name":"Commented"} -->`))
	f.Add([]byte(`{"@type": "Organization", "name": "Broken, }`))
	f.Add([]byte(`{"@type":"Organization","numberOfEmployees":-5,"foundingDate":12}`))
	f.Add([]byte(strings.Repeat(`{"@graph":`, 50) + `{"@type":"Organization","name":"deep"}` + strings.Repeat(`}`, 50)))
	base, _ := url.Parse("https://acme.test/")
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs := parseJSONLD(base, data)
		if len(orgs) > maxJSONLD {
			t.Fatalf("%d organisations", len(orgs))
		}
		for _, o := range orgs {
			checkOrg(t, o)
		}
		var top map[string]any
		if json.Unmarshal(data, &top) != nil {
			return
		}
		name, isString := top["name"].(string)
		if t0, _ := top["@type"].(string); t0 == "Organization" && isString {
			if len(orgs) == 0 || orgs[0].Name != clip(collapse(name), maxValue) {
				t.Fatalf("top-level Organization named %q read as %+v", name, orgs)
			}
		}
	})
}

func checkOrg(t *testing.T, o orgFacts) {
	t.Helper()
	for _, v := range []string{o.Name, o.LegalName, o.Description, o.Country, o.Founded} {
		if len(v) > maxValue || !utf8.ValidString(v) {
			t.Fatalf("value %q out of bounds", v)
		}
	}
	checkAbsolute(t, o.Logo)
	for _, s := range o.SameAs {
		checkAbsolute(t, s)
	}
	if len(o.SameAs) > maxLinks+1 {
		t.Fatalf("%d sameAs kept", len(o.SameAs))
	}
	if e := o.Employees; e != "" {
		for _, part := range strings.FieldsFunc(e, func(r rune) bool { return r == '-' || r == '+' }) {
			if n, err := strconv.ParseFloat(part, 64); err != nil || n < 0 {
				t.Fatalf("employees %q is not a count or a range", e)
			}
		}
	}
}

func checkAbsolute(t *testing.T, s string) {
	t.Helper()
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("%q is not an absolute http(s) URL", s)
	}
}
