package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// industrySpec is what the sites of one industry say about themselves:
// texts written to carry the keywords enrich's classifier knows for it
// (docs/classifiers.md), and only those.
type industrySpec struct {
	industry    string // one of enrich.Industries
	noun        string // the second word of its companies' names
	tagline     string
	description string
	body        []string // home page paragraphs
	about       string   // the about page's paragraph
}

// industries are the 20 industries the bench's companies are spread over.
var industries = []industrySpec{
	{"Software", "Software", "Workflow software for busy teams",
		"%s makes SaaS software that automates approvals, with an open API and an SDK.",
		[]string{"Connect your CRM and ERP in minutes: our software as a service platform syncs records both ways.", "Developer tools, a REST API and an open source SDK let your engineers build on it."},
		"We are a software company: our SaaS product and its API serve thousands of teams."},
	{"IT Services", "Systems", "Managed services and IT support",
		"%s is a managed service provider: IT support, hosting and cybersecurity for mid-sized firms.",
		[]string{"Our help desk answers around the clock, and our engineers run your servers in our own data center.", "Managed services, cybersecurity audits and hosting under one contract."},
		"As a systems integrator and managed service provider, we look after the IT of 300 companies."},
	{"Manufacturing", "Machining", "Precision parts made in our own factory",
		"%s is a contract manufacturing partner: CNC machining and injection molding for industrial equipment makers.",
		[]string{"Our factory runs 40 CNC machines in three shifts; metalworking and machinery assembly under one roof.", "From prototypes to series production, we are the manufacturer behind your components."},
		"Founded as a machining workshop, we grew into a manufacturer of industrial equipment with two factories."},
	{"Retail & E-commerce", "Outfitters", "Outdoor gear, delivered",
		"%s is an online store for outdoor clothing and shoes, with free shipping on every order.",
		[]string{"Shop now: new collections every season in our online shop, and free shipping from the first order.", "Add to cart, check out in a minute, and return for free: e-commerce as it should be."},
		"We started as one retail store and became an online retailer shipping to twelve countries."},
	{"Financial Services", "Capital", "Payments and lending for small businesses",
		"%s is a fintech offering payments, lending and banking to small businesses.",
		[]string{"Accept payments, get loans in 48 hours and manage your banking in one app.", "Our payment processing and lending products are regulated financial services."},
		"A fintech founded by former investment bank staff, with asset management and payments teams."},
	{"Insurance", "Assurance", "Insurance made simple",
		"%s is an insurance broker and insurtech covering businesses and families.",
		[]string{"Compare insurance from 40 insurers and sign your policy online.", "Our underwriting team and reinsurance partners back every claim."},
		"An independent insurance broker: we work with insurers and reinsurance partners across Europe."},
	{"Healthcare", "Health", "Care closer to home",
		"%s runs clinics and telehealth services for patients and physicians.",
		[]string{"Our clinics and telemedicine platform connect patients with physicians and nurses in minutes.", "Medical devices, diagnostics and therapy, coordinated by your care team."},
		"Founded by physicians, we run healthcare clinics and a telehealth service for 200,000 patients."},
	{"Education", "Academy", "Online courses that students finish",
		"%s offers online courses and tutoring for students and teachers.",
		[]string{"Our e-learning platform follows the school curriculum, with tutoring by qualified teachers.", "Students learn at their pace; teachers see their progress."},
		"An edtech company started by teachers: education should reach every student."},
	{"Logistics & Transportation", "Freight", "Freight forwarding across Europe",
		"%s handles freight forwarding, warehousing and last mile delivery.",
		[]string{"Our trucking fleet and warehouses keep your supply chain moving.", "Freight, warehousing and courier services from one logistics partner."},
		"A logistics company with 12 warehouses and a fleet of 300 trucks."},
	{"Construction", "Builders", "Building what lasts",
		"%s is a general contractor for construction, roofing and civil engineering.",
		[]string{"From foundations to roofing, our builders deliver construction projects on time.", "Plumbing, HVAC and masonry by our own contractors."},
		"A family construction company: general contractor, civil engineering and roofing since 1982."},
	{"Real Estate", "Realty", "Homes for sale and to let",
		"%s is a real estate agency: homes for sale, apartments for rent and property management.",
		[]string{"Our estate agents know every street; browse homes for sale and apartments for rent.", "Property management and commercial property for landlords and investors."},
		"A real estate firm of 40 estate agents and a property management team."},
	{"Marketing & Advertising", "Creative", "A marketing agency that measures",
		"%s is a digital agency for SEO, PPC and content marketing.",
		[]string{"Performance marketing, lead generation and branding by one creative agency.", "SEO and content marketing that bring leads, measured every week."},
		"An advertising agency turned digital agency: branding, SEO and growth marketing."},
	{"Media & Publishing", "Press", "Stories worth reading",
		"%s is a publisher of magazines, books and podcasts.",
		[]string{"Our magazines and books reach two million readers; our podcasts twice as many.", "Independent journalism, documentary film and publishing since 1990."},
		"A publishing house: magazines, books, podcasts and a documentary production company."},
	{"Hospitality & Travel", "Hotels", "Stays by the sea",
		"%s runs hotels and resorts, and a travel agency for tailor-made holidays.",
		[]string{"Our hotels and resorts welcome guests all year; each has its own restaurant.", "Plan your holidays with our travel agency: tourism done gently."},
		"A hospitality group of eight hotels, two resorts and a travel agency."},
	{"Energy & Utilities", "Energy", "Clean energy for every roof",
		"%s installs solar panels, heat pumps and EV charging for renewable energy at home.",
		[]string{"Solar, wind power and heat pumps: renewable energy and cheaper electricity.", "We supply electricity from renewables and install EV charging points."},
		"An energy company: solar, wind energy and heat pumps for homes and businesses."},
	{"Telecommunications", "Telecom", "Fibre broadband everywhere",
		"%s is an internet service provider with fibre broadband, a mobile network and VoIP.",
		[]string{"Fibre broadband up to 2 Gbit/s, 5G on our mobile network, VoIP for your office.", "A telecom operator with its own fibre optic network."},
		"A telecommunications company: broadband, fibre and mobile network in 200 towns."},
	{"Legal", "Legal", "Lawyers for growing companies",
		"%s is a law firm advising companies on contracts, litigation and intellectual property.",
		[]string{"Our lawyers handle litigation, arbitration and patents for growing companies.", "Legal advice on intellectual property, from patents to trademarks."},
		"A law firm of 25 lawyers and attorneys, founded in 2001."},
	{"Consulting", "Partners", "Strategy that gets done",
		"%s is a management consulting firm for strategy consulting and advisory.",
		[]string{"Our consultants bring management consulting and advisory services to boards.", "Strategy consulting from diagnosis to delivery."},
		"A consultancy of 60 consultants in management consulting and advisory services."},
	{"Automotive", "Motors", "Cars you will keep",
		"%s is a car dealership for new and used vehicles, electric vehicles and car repair.",
		[]string{"Browse our cars and electric vehicles, or book a car repair in our workshop.", "Auto parts, car rental and a dealership with 300 vehicles in stock."},
		"An automotive group of four dealerships, with auto parts and car repair."},
	{"Food & Beverage", "Brewing", "Craft beer since 1998",
		"%s is a brewery making craft beer and other beverages.",
		[]string{"Our brewery makes craft beer, cider and soft beverages from local malt.", "Visit the brewery: beer, wine and coffee from our own roastery."},
		"An independent brewery and coffee roastery making craft beer and beverages."},
}

// prefixes are the first words of the companies' names: with the 20
// industries' nouns they make 1,000 distinct names and domains.
var prefixes = []string{
	"Acme", "Alder", "Amber", "Apex", "Aster", "Beacon", "Birch", "Bright", "Cedar", "Cobalt",
	"Copper", "Crest", "Delta", "Ember", "Falcon", "Fern", "Flint", "Garnet", "Glacier", "Harbor",
	"Hazel", "Helix", "Indigo", "Iron", "Juniper", "Kestrel", "Lark", "Linden", "Lumen", "Maple",
	"Meridian", "Nimbus", "Nordwind", "Oak", "Onyx", "Orchid", "Pebble", "Pine", "Quartz", "Raven",
	"Ridge", "Sable", "Sierra", "Slate", "Spruce", "Summit", "Tern", "Thistle", "Willow", "Zephyr",
}

// maxDomains is how many distinct companies the generator makes.
var maxDomains = len(prefixes) * len(industries)

// place is a country where companies are, with its TLD and a city.
type place struct {
	tld, country, countryName, city string
}

var places = []place{
	{"com", "US", "United States", "Austin"}, {"de", "DE", "Germany", "Hamburg"}, {"fr", "FR", "France", "Lyon"},
	{"co.uk", "GB", "United Kingdom", "Leeds"}, {"es", "ES", "Spain", "Valencia"}, {"io", "US", "United States", "Denver"},
	{"nl", "NL", "Netherlands", "Utrecht"}, {"com", "CA", "Canada", "Toronto"}, {"it", "IT", "Italy", "Turin"},
	{"com", "GB", "United Kingdom", "Bristol"}, {"ch", "CH", "Switzerland", "Basel"},
}

// mailHost is a mail provider as DNS shows it: MX hosts (a %s is the
// domain's label, for Microsoft 365) and the SPF include that goes with
// them.
type mailHost struct {
	provider string // what enrich names it (its MX table)
	mx       []string
	include  string
	tool     string // what enrich names the include (its SPF table), or ""
}

var mailHosts = []mailHost{
	{"Google Workspace", []string{"1 aspmx.l.google.com.", "5 alt1.aspmx.l.google.com.", "10 alt3.aspmx.l.google.com."}, "_spf.google.com", "Google Workspace"},
	{"Microsoft 365", []string{"0 %s.mail.protection.outlook.com."}, "spf.protection.outlook.com", "Microsoft 365"},
	{"Zoho Mail", []string{"10 mx.zoho.eu.", "20 mx2.zoho.eu."}, "zoho.eu", "Zoho"},
	{"Proton Mail", []string{"10 mail.protonmail.ch.", "20 mailsec.protonmail.ch."}, "_spf.protonmail.ch", "Proton Mail"},
	{"Fastmail", []string{"10 in1-smtp.messagingengine.com.", "20 in2-smtp.messagingengine.com."}, "spf.messagingengine.com", "Fastmail"},
	{"Mimecast", []string{"10 eu-smtp-inbound-1.mimecast.com.", "10 eu-smtp-inbound-2.mimecast.com."}, "_netblocks.mimecast.com", "Mimecast"},
	{"OVHcloud", []string{"1 mx1.mail.ovh.net.", "5 mx2.mail.ovh.net."}, "mx.ovh.com", ""},
}

// sendingTools are SPF includes of services that send mail for a company,
// with the names enrich gives them.
var sendingTools = []struct{ include, tool string }{
	{"sendgrid.net", "SendGrid"}, {"servers.mcsv.net", "Mailchimp"}, {"_spf.salesforce.com", "Salesforce"},
	{"mail.zendesk.com", "Zendesk"}, {"1234567.spf01.hubspotemail.net", "HubSpot"}, {"amazonses.com", "Amazon SES"},
	{"mktomail.com", "Marketo"}, {"spf.mandrillapp.com", "Mailchimp Transactional (Mandrill)"},
	{"_spf.atlassian.net", "Atlassian"}, {"intercom.io", "Intercom"},
}

// employeeCounts are what the sites' JSON-LD says of their head count: a
// number, or a QuantitativeValue range.
var employeeCounts = []any{
	8, 25, 60, map[string]any{"@type": "QuantitativeValue", "minValue": 51, "maxValue": 200},
	350, 1200, map[string]any{"@type": "QuantitativeValue", "value": 4800}, 14,
}

// company is one generated company: what its site and DNS say, and so what
// research should find.
type company struct {
	index     int
	name      string
	slug      string // the domain's first label
	domain    string
	spec      *industrySpec
	place     place
	employees any
	mail      mailHost
	tools     []string // SPF includes of sending tools
	founded   int
}

// makeCompanies generates n companies (n <= maxDomains), deterministically:
// the i-th company is the same in every run.
func makeCompanies(n int) []*company {
	out := make([]*company, n)
	for i := range out {
		spec := &industries[i%len(industries)]
		prefix := prefixes[(i/len(industries))%len(prefixes)]
		c := &company{
			index:     i,
			name:      prefix + " " + spec.noun,
			slug:      strings.ToLower(prefix + "-" + spec.noun),
			spec:      spec,
			place:     places[i%len(places)],
			employees: employeeCounts[i%len(employeeCounts)],
			mail:      mailHosts[i%len(mailHosts)],
			founded:   1960 + i*7%63,
		}
		c.domain = c.slug + "." + c.place.tld
		for k := range i % 4 {
			c.tools = append(c.tools, sendingTools[(i+3*k)%len(sendingTools)].include)
		}
		out[i] = c
	}
	return out
}

// expectedTools are the SaaS findings research should read from the
// company's SPF record.
func (c *company) expectedTools() []string {
	var out []string
	if c.mail.tool != "" {
		out = append(out, c.mail.tool)
	}
	for _, inc := range c.tools {
		for _, t := range sendingTools {
			if t.include == inc {
				out = append(out, t.tool)
			}
		}
	}
	return out
}

// spf is the company's SPF record.
func (c *company) spf() string {
	parts := []string{"v=spf1", "include:" + c.mail.include}
	for _, t := range c.tools {
		parts = append(parts, "include:"+t)
	}
	return strings.Join(append(parts, "~all"), " ")
}

// aboutPath is where the sites keep their about page.
const aboutPath = "/about-us"

// sitePaths are the paths research is expected to fetch, once each.
var sitePaths = []string{"/robots.txt", "/", aboutPath}

func (c *company) jsonLD() string {
	country := c.place.country
	if c.index%2 == 1 {
		country = c.place.countryName // sites write either
	}
	org := map[string]any{
		"@context":          "https://schema.org",
		"@type":             "Organization",
		"name":              c.name,
		"legalName":         c.name + " " + legalForm(c.place.country),
		"url":               "https://" + c.domain + "/",
		"logo":              "https://" + c.domain + "/static/logo.svg",
		"description":       fmt.Sprintf(c.spec.description, c.name),
		"numberOfEmployees": c.employees,
		"foundingDate":      fmt.Sprint(c.founded),
		"address":           map[string]any{"@type": "PostalAddress", "addressLocality": c.place.city, "addressCountry": country},
		"sameAs":            []string{"https://www.linkedin.com/company/" + c.slug + "/", "https://x.com/" + strings.ReplaceAll(c.slug, "-", "")},
	}
	b, _ := json.Marshal(org) // escapes <, > and &: safe inside <script>
	return string(b)
}

func legalForm(country string) string {
	switch country {
	case "DE", "CH":
		return "GmbH"
	case "FR":
		return "SAS"
	case "ES":
		return "S.L."
	case "GB":
		return "Ltd"
	case "NL":
		return "B.V."
	case "IT":
		return "S.r.l."
	}
	return "Inc."
}

// homePage is the company's home page: a title with a tagline, meta and
// OpenGraph descriptions, JSON-LD, a navigation linking the about page
// among others, two paragraphs and social links.
func (c *company) homePage() string {
	e := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s | %s</title>
<meta name="description" content="%s">
<meta property="og:type" content="website">
<meta property="og:site_name" content="%s">
<meta property="og:title" content="%s">
<meta property="og:description" content="%s.">
<meta property="og:image" content="/static/og-card.png">
<link rel="stylesheet" href="/static/site.css">
<script type="application/ld+json">%s</script>
<script>window.dataLayer = window.dataLayer || [];</script>
</head>
<body>
<header><a href="/"><img src="/static/logo.svg" alt="%s"></a>
<nav><a href="/">Home</a> <a href="/products">Products</a> <a href="/pricing">Pricing</a> <a href="%s">About us</a> <a href="/blog">Blog</a> <a href="/contact">Contact</a></nav></header>
<main>
<h1>%s</h1>
`, e(c.name), e(c.spec.tagline), e(fmt.Sprintf(c.spec.description, c.name)), e(c.name), e(c.name), e(c.spec.tagline),
		c.jsonLD(), e(c.name), aboutPath, e(c.spec.tagline))
	for _, p := range c.spec.body {
		fmt.Fprintf(&b, "<p>%s</p>\n", e(p))
	}
	fmt.Fprintf(&b, `<p><a href="/contact">Talk to us</a> or <a href="/pricing">see the pricing</a>.</p>
</main>
<footer>
<p>&copy; %d %s %s, %s</p>
<a href="https://www.linkedin.com/company/%s/">LinkedIn</a> <a href="https://x.com/%s">X</a> <a href="https://github.com/%s">GitHub</a>
<a href="/privacy">Privacy</a> <a href="/imprint">Imprint</a>
</footer>
</body>
</html>
`, 2026, e(c.name), legalForm(c.place.country), e(c.place.city), c.slug, strings.ReplaceAll(c.slug, "-", ""), c.slug)
	return b.String()
}

// aboutPage is the company's about page.
func (c *company) aboutPage() string {
	e := html.EscapeString
	return fmt.Sprintf(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>About us | %s</title>
<meta name="description" content="The story and the team of %s.">
</head>
<body>
<nav><a href="/">Home</a> <a href="%s">About us</a> <a href="/contact">Contact</a></nav>
<main>
<h1>About %s</h1>
<p>%s</p>
<p>Founded in %d, headquartered in %s, %s.</p>
<h2>Leadership</h2>
<ul><li>Ada Moreau, Chief Executive Officer</li><li>Jonas Weber, Head of Operations</li></ul>
</main>
</body>
</html>
`, e(c.name), e(c.name), aboutPath, e(c.name), e(c.spec.about), c.founded, e(c.place.city), e(c.place.countryName))
}

// robots is the company's robots.txt: it keeps crawlers out of the cart
// and the admin pages, not out of the pages research reads.
func (c *company) robots(host string) string {
	return "User-agent: *\nDisallow: /cart/\nDisallow: /admin/\nDisallow: /search\n\nUser-agent: BadBot\nDisallow: /\n\nSitemap: http://" + host + "/sitemap.xml\n"
}

// sites serves every company's site on one listener, the Host header
// choosing the company, and counts each request by host and path.
type sites struct {
	byDomain map[string]*company

	mu       sync.Mutex
	requests map[string]int // "host path" -> requests
	agents   map[string]int // User-Agent -> requests
	unknown  int            // requests for a host that is no company's
}

func newSites(cs []*company) *sites {
	s := &sites{byDomain: map[string]*company{}, requests: map[string]int{}, agents: map[string]int{}}
	for _, c := range cs {
		s.byDomain[c.domain] = c
	}
	return s
}

func (s *sites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c := s.byDomain[strings.TrimPrefix(host, "www.")]
	s.mu.Lock()
	s.agents[r.UserAgent()]++
	if c == nil {
		s.unknown++
	} else {
		s.requests[host+" "+r.URL.Path]++
	}
	s.mu.Unlock()
	if c == nil {
		http.Error(w, "no such site", http.StatusNotFound)
		return
	}
	switch r.URL.Path {
	case "/robots.txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(c.robots(r.Host)))
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(c.homePage()))
	case aboutPath:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(c.aboutPage()))
	default:
		http.NotFound(w, r)
	}
}

// siteCounts is what the sites served.
type siteCounts struct {
	total      int
	maxPerPath int            // the most requests of one path of one host
	perDomain  map[string]int // requests per company domain (www. included)
	byPath     map[string]int // requests per path, over all hosts
	repeated   []string       // "host path" fetched more than once
	unexpected []string       // "host path" research should not have fetched
	unknown    int
	agents     []string
}

func (s *sites) counts() siteCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := siteCounts{perDomain: map[string]int{}, byPath: map[string]int{}, unknown: s.unknown}
	expected := map[string]bool{}
	for _, p := range sitePaths {
		expected[p] = true
	}
	for k, n := range s.requests {
		host, path, _ := strings.Cut(k, " ")
		out.total += n
		out.perDomain[strings.TrimPrefix(host, "www.")] += n
		out.byPath[path] += n
		out.maxPerPath = max(out.maxPerPath, n)
		if n > 1 {
			out.repeated = append(out.repeated, fmt.Sprintf("%s (%d times)", k, n))
		}
		if !expected[path] || strings.HasPrefix(host, "www.") {
			out.unexpected = append(out.unexpected, k)
		}
	}
	for a := range s.agents {
		out.agents = append(out.agents, a)
	}
	sort.Strings(out.repeated)
	sort.Strings(out.unexpected)
	sort.Strings(out.agents)
	return out
}
