package enrich

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// pageFacts is what one HTML page says about its company, before it
// becomes findings. extractPage fills it in one pass of x/net/html's
// tokenizer: the page is never held as a tree.
type pageFacts struct {
	Title           string
	MetaDescription string
	OGSiteName      string
	OGDescription   string
	OGImage         string
	Orgs            []orgFacts
	Links           []socialLink // profile pages linked from the page, in page order
	About           string       // an absolute URL of the site's about page, when linked
	Text            string       // visible text, at most MaxText bytes
}

// orgFacts is one JSON-LD Organization (or Corporation, ...) object.
type orgFacts struct {
	Name, LegalName, Description, Logo, Employees, Country, Founded string
	SameAs                                                          []string
}

type socialLink struct {
	Field Field
	URL   string
}

// Bounds on what a page can make us keep: a hostile page cannot grow a
// result beyond them.
const (
	maxValue     = 1000 // bytes of one text value
	maxLinks     = 64   // social links kept from one page
	maxJSONLD    = 16   // JSON-LD scripts parsed per page
	maxJSONDepth = 8    // nesting of JSON-LD walked
)

// extractPage reads a page fetched from base. It tolerates anything: broken
// HTML, broken JSON-LD, binary data.
func extractPage(base *url.URL, body []byte) pageFacts {
	var (
		p        pageFacts
		z        = html.NewTokenizer(bytes.NewReader(body))
		skip     int // depth inside script, style, noscript, template
		inTitle  bool
		inLD     bool
		inA      bool
		aHref    string
		aText    strings.Builder
		text     strings.Builder
		ldCount  int
		seenLink = map[socialLink]bool{}
	)
	addLink := func(raw string) {
		if len(p.Links) >= maxLinks {
			return
		}
		u, err := base.Parse(strings.TrimSpace(raw))
		if err != nil {
			return
		}
		if f, canon, ok := socialProfile(u); ok {
			l := socialLink{Field: f, URL: canon}
			if !seenLink[l] {
				seenLink[l] = true
				p.Links = append(p.Links, l)
			}
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			p.Text = clip(collapse(text.String()), MaxText)
			return p
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			if tt == html.EndTagToken {
				switch a {
				case atom.Script, atom.Style, atom.Noscript, atom.Template:
					if skip > 0 {
						skip--
					}
					inLD = false
				case atom.Title:
					inTitle = false
				case atom.A:
					if inA {
						if p.About == "" && isAboutLink(aHref, aText.String()) {
							if u, err := base.Parse(strings.TrimSpace(aHref)); err == nil && sameSite(base, u) {
								u.Fragment = ""
								p.About = u.String()
							}
						}
						inA = false
					}
				}
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Noscript, atom.Template:
				if tt == html.StartTagToken {
					skip++
					t, _, _ := strings.Cut(strings.ToLower(attrs["type"]), ";")
					inLD = a == atom.Script && strings.TrimSpace(t) == "application/ld+json"
				}
			case atom.Title:
				inTitle = p.Title == "" && tt == html.StartTagToken
			case atom.Meta:
				content := attrs["content"]
				switch strings.ToLower(firstNonEmpty(attrs["property"], attrs["name"])) {
				case "description":
					p.MetaDescription = keep(p.MetaDescription, content)
				case "og:site_name":
					p.OGSiteName = keep(p.OGSiteName, content)
				case "og:description":
					p.OGDescription = keep(p.OGDescription, content)
				case "og:image", "og:image:url", "og:image:secure_url":
					if p.OGImage == "" {
						p.OGImage = absoluteHTTP(base, content)
					}
				}
			case atom.A:
				if tt == html.StartTagToken {
					inA, aHref = true, attrs["href"]
					aText.Reset()
				}
				addLink(attrs["href"])
			case atom.Link:
				if strings.EqualFold(attrs["rel"], "me") {
					addLink(attrs["href"])
				}
			}
		case html.TextToken:
			raw := z.Text()
			switch {
			case inLD:
				if ldCount < maxJSONLD {
					ldCount++
					p.Orgs = append(p.Orgs, parseJSONLD(base, raw)...)
				}
			case inTitle:
				p.Title = clip(collapse(string(raw)), maxValue)
				inTitle = false
			case skip > 0:
			default:
				if inA && aText.Len() < 200 {
					aText.Write(raw)
				}
				if text.Len() < 2*MaxText {
					text.Write(raw)
					text.WriteByte(' ')
				}
			}
		}
	}
}

// parseJSONLD returns the organisations a JSON-LD script describes: at its
// top level, in an array, in @graph, or as the publisher of a WebSite or
// WebPage. Broken JSON yields nothing, never an error: a page with bad
// markup still has its title and OpenGraph.
func parseJSONLD(base *url.URL, raw []byte) []orgFacts {
	raw = bytes.TrimSpace(raw)
	// Wrappers some CMSs still emit around script bodies.
	for _, w := range [][2]string{{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"//<![CDATA[", "//]]>"}} {
		if len(raw) >= len(w[0])+len(w[1]) && bytes.HasPrefix(raw, []byte(w[0])) && bytes.HasSuffix(raw, []byte(w[1])) {
			raw = bytes.TrimSpace(raw[len(w[0]) : len(raw)-len(w[1])])
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	var out []orgFacts
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > maxJSONDepth || len(out) >= maxJSONLD {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case map[string]any:
			if g, ok := x["@graph"]; ok {
				walk(g, depth+1)
			}
			if isOrgType(x["@type"]) {
				out = append(out, orgFrom(base, x))
				return
			}
			if hasType(x["@type"], "WebSite", "WebPage", "AboutPage") {
				walk(x["publisher"], depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}

var orgTypes = []string{"Organization", "Corporation", "LocalBusiness", "OnlineBusiness", "NGO", "NewsMediaOrganization", "EducationalOrganization"}

func isOrgType(t any) bool { return hasType(t, orgTypes...) }

// hasType reports whether a JSON-LD @type (a string or an array of them,
// with or without the schema.org prefix) is one of names.
func hasType(t any, names ...string) bool {
	match := func(s string) bool {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "http://schema.org/"), "https://schema.org/")
		s = strings.TrimPrefix(s, "schema:")
		for _, n := range names {
			if s == n {
				return true
			}
		}
		return false
	}
	switch x := t.(type) {
	case string:
		return match(x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && match(s) {
				return true
			}
		}
	}
	return false
}

func orgFrom(base *url.URL, o map[string]any) orgFacts {
	f := orgFacts{
		Name:        str(o["name"]),
		LegalName:   str(o["legalName"]),
		Description: str(o["description"]),
		Founded:     str(o["foundingDate"]),
		Employees:   employees(o["numberOfEmployees"]),
		Country:     country(o["address"]),
	}
	switch l := o["logo"].(type) {
	case string:
		f.Logo = absoluteHTTP(base, l)
	case map[string]any:
		f.Logo = absoluteHTTP(base, firstNonEmpty(str(l["url"]), str(l["contentUrl"])))
	}
	switch s := o["sameAs"].(type) {
	case string:
		f.SameAs = appendURL(f.SameAs, base, s)
	case []any:
		for _, e := range s {
			if v, ok := e.(string); ok && len(f.SameAs) < maxLinks {
				f.SameAs = appendURL(f.SameAs, base, v)
			}
		}
	}
	return f
}

func appendURL(list []string, base *url.URL, raw string) []string {
	if u := absoluteHTTP(base, raw); u != "" {
		return append(list, u)
	}
	return list
}

// employees reads numberOfEmployees: a number, a numeric string, or a
// QuantitativeValue with a value or a minValue/maxValue range.
func employees(v any) string {
	switch x := v.(type) {
	case float64:
		return number(x)
	case string:
		s := strings.TrimSpace(x)
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
	case map[string]any:
		if s := employees(x["value"]); s != "" {
			return s
		}
		lo, hi := employees(x["minValue"]), employees(x["maxValue"])
		switch {
		case lo != "" && hi != "":
			return lo + "-" + hi
		case lo != "":
			return lo + "+"
		case hi != "":
			return "0-" + hi
		}
	}
	return ""
}

func number(x float64) string {
	if x < 0 || x > 1e9 || x != x {
		return ""
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// country reads address.addressCountry: the address may be one object or
// several, the country a code, a name or a Country object.
func country(v any) string {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if c := country(e); c != "" {
				return c
			}
		}
	case map[string]any:
		switch c := x["addressCountry"].(type) {
		case string:
			return clip(collapse(c), maxValue)
		case map[string]any:
			return firstNonEmpty(str(c["name"]), str(c["identifier"]))
		}
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return clip(collapse(s), maxValue)
}

// absoluteHTTP resolves raw against base and returns it when it is an http
// or https URL, else "".
func absoluteHTTP(base *url.URL, raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 2048 {
		return ""
	}
	u, err := base.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.User = nil
	return u.String()
}

var aboutPaths = []string{"about", "about-us", "aboutus", "company", "our-company", "who-we-are",
	"a-propos", "qui-sommes-nous", "notre-histoire", "ueber-uns", "uber-uns", "unternehmen",
	"sobre-nosotros", "quienes-somos", "nosotros", "empresa"}

var aboutTexts = []string{"about", "about us", "our company", "who we are", "company",
	"à propos", "a propos", "qui sommes-nous", "qui sommes nous", "über uns", "ueber uns", "unternehmen",
	"sobre nosotros", "quiénes somos", "quienes somos", "nosotros", "empresa"}

// isAboutLink reports whether a link leads to an about page, by its path's
// last segment or its text, in English, French, German or Spanish.
func isAboutLink(href, text string) bool {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return false
	}
	seg := strings.ToLower(strings.Trim(u.Path, "/"))
	if i := strings.LastIndexByte(seg, '/'); i >= 0 {
		seg = seg[i+1:]
	}
	seg = strings.TrimSuffix(strings.TrimSuffix(seg, ".html"), ".htm")
	for _, p := range aboutPaths {
		if seg == p {
			return true
		}
	}
	t := strings.ToLower(collapse(text))
	for _, a := range aboutTexts {
		if t == a {
			return true
		}
	}
	return false
}

// sameSite reports whether u is on base's site (www. or not).
func sameSite(base, u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	return limitKey(u.Hostname()) == limitKey(base.Hostname()) && u.Port() == base.Port()
}

// collapse folds runs of white space (and control characters) into one
// space and trims the ends; invalid UTF-8 becomes U+FFFD.
func collapse(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func keep(old, s string) string {
	if old != "" {
		return old
	}
	return clip(collapse(s), maxValue)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
