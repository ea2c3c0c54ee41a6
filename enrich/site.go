package enrich

import (
	"context"
	"net/url"
	"strings"

	"golang.org/x/net/html/charset"

	nurture "github.com/nurture-email/nurture"
)

// Site researches a company's web site: its home page and, when the home
// page links one on the same site, its about page.
type Site struct {
	fetcher *Fetcher
	clock   nurture.Clock
	// URLFor is the home page of a domain; nil is https://domain/. Tests
	// point it at a local server's port.
	URLFor func(domain string) string
}

// NewSite returns the web-site source, fetching through f.
func NewSite(f *Fetcher) *Site {
	return &Site{fetcher: f, clock: f.cfg.Clock}
}

// Name is "site".
func (*Site) Name() string { return "site" }

// Research fetches the home page (and the about page) and reports the
// company facts they hold. A home page that cannot be read makes the
// result unavailable, with the fetcher's reason; an about page that cannot
// be read is only a missed extra.
func (s *Site) Research(ctx context.Context, q Query) Result {
	q, bad, ok := normalise(s.Name(), q, s.clock.Now())
	if !ok {
		return bad
	}
	home := "https://" + q.Domain + "/"
	if s.URLFor != nil {
		home = s.URLFor(q.Domain)
	}
	resp, err := s.fetcher.GetHTML(ctx, home)
	if err != nil && ReasonOf(err) == ReasonNetwork && !strings.HasPrefix(q.Domain, "www.") {
		// Many companies serve their site on www only: the bare name
		// does not resolve or does not answer.
		www := "https://www." + q.Domain + "/"
		if s.URLFor != nil {
			www = s.URLFor("www." + q.Domain)
		}
		if r2, err2 := s.fetcher.GetHTML(ctx, www); err2 == nil {
			resp, err = r2, nil
		}
	}
	if err != nil {
		return unavailable(s.Name(), q.Domain, err.Error(), s.clock.Now())
	}
	r := Result{Source: s.Name(), Domain: q.Domain, Status: StatusOK, At: resp.At}
	base, _ := url.Parse(resp.URL) // the fetcher made this URL
	facts := extractPage(base, decodeHTML(resp))
	r.Findings = pageFindings(facts, Provenance{Source: resp.URL, At: resp.At})
	text := facts.Text
	if facts.About != "" && facts.About != resp.URL {
		if about, err := s.fetcher.GetHTML(ctx, facts.About); err == nil {
			aboutBase, _ := url.Parse(about.URL)
			af := extractPage(aboutBase, decodeHTML(about))
			r.Findings = append(r.Findings, pageFindings(af, Provenance{Source: about.URL, At: about.At})...)
			text = strings.TrimSpace(text + " " + af.Text)
		}
	}
	r.Findings = dedupe(r.Findings)
	r.Text = clip(text, MaxText)
	return r
}

// pageFindings turns a page's facts into findings, best first within each
// field: JSON-LD, which a site writes for machines, before OpenGraph, before
// the meta description and the title.
func pageFindings(p pageFacts, prov Provenance) []Finding {
	var out []Finding
	add := func(f Field, v, method string) {
		if v == "" {
			return
		}
		pr := prov
		pr.Method = method
		out = append(out, Finding{Field: f, Value: v, Provenance: pr})
	}
	for _, o := range p.Orgs {
		add(FieldName, o.Name, MethodJSONLD)
		add(FieldLegalName, o.LegalName, MethodJSONLD)
		add(FieldDescription, o.Description, MethodJSONLD)
		add(FieldLogo, o.Logo, MethodJSONLD)
		add(FieldEmployees, o.Employees, MethodJSONLD)
		add(FieldCountry, o.Country, MethodJSONLD)
		add(FieldFounded, o.Founded, MethodJSONLD)
		for _, s := range o.SameAs {
			add(FieldSameAs, s, MethodJSONLD)
			if u, err := url.Parse(s); err == nil {
				if f, canon, ok := socialProfile(u); ok {
					add(f, canon, MethodJSONLD)
				}
			}
		}
	}
	add(FieldName, p.OGSiteName, MethodOpenGraph)
	add(FieldDescription, p.OGDescription, MethodOpenGraph)
	add(FieldImage, p.OGImage, MethodOpenGraph)
	add(FieldDescription, p.MetaDescription, MethodMeta)
	add(FieldTitle, p.Title, MethodTitle)
	for _, l := range p.Links {
		add(l.Field, l.URL, MethodLink)
	}
	return out
}

// dedupe keeps the first finding of each field and value: the same link in
// sameAs and in the footer is one fact, found first in JSON-LD.
func dedupe(fs []Finding) []Finding {
	type key struct {
		f Field
		v string
	}
	seen := map[key]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := key{f.Field, f.Value}
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// decodeHTML returns a page's body as UTF-8: the charset comes from the
// Content-Type, else a BOM or <meta charset> in the first 1024 bytes, else
// UTF-8 (x/net/html/charset's rules, which are the HTML standard's). An
// encoding it cannot decode leaves the body as it is.
func decodeHTML(r *Response) []byte {
	ct := "text/html"
	if r.Charset != "" {
		ct += "; charset=" + r.Charset
	}
	enc, name, _ := charset.DetermineEncoding(r.Body, ct)
	if name == "utf-8" {
		return r.Body
	}
	b, err := enc.NewDecoder().Bytes(r.Body)
	if err != nil {
		return r.Body
	}
	return b
}
