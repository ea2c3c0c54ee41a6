package enrich

import (
	"context"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The derivation step, on synthetic results: no network.

const home = "https://acme-robotics.de/"

func found(f Field, v, method string) Finding {
	return Finding{Field: f, Value: v, Provenance: Provenance{Source: home, Method: method, At: testTime}}
}

func siteResult(text string, fs ...Finding) Result {
	return Result{Source: "site", Domain: "acme-robotics.de", Status: StatusOK, Findings: fs, Text: text, At: testTime}
}

var later = testTime.Add(time.Hour)

// derived returns a profile's fields as field -> value, and fails on a
// field found twice where one value is expected.
func derived(t *testing.T, fs []Finding) map[Field]string {
	t.Helper()
	out := map[Field]string{}
	for _, f := range fs {
		if f.Field == FieldSaaS {
			out[f.Field] += f.Value + ";"
			continue
		}
		_, dup := out[f.Field]
		require.False(t, dup, "field %s derived twice: %v", f.Field, fs)
		out[f.Field] = f.Value
	}
	return out
}

func TestDeriveCompany(t *testing.T) {
	t.Parallel()
	mx := Finding{Field: FieldMailHost, Value: "Google Workspace", Provenance: Provenance{Source: "acme-robotics.de. MX 1 aspmx.l.google.com.", Method: MethodMX, At: testTime}}
	spf := func(v string) Finding {
		return Finding{Field: FieldSaaS, Value: v, Provenance: Provenance{Source: `acme-robotics.de. TXT "v=spf1 ..."`, Method: MethodSPF, At: testTime}}
	}
	dnsOK := Result{Source: "dns", Status: StatusOK, Findings: []Finding{mx, spf("Salesforce"), spf("HubSpot")}, At: testTime}
	robots := "We build collaborative robots for manufacturing: our factory automation and industrial robot arms serve machine shops and manufacturers."
	tests := []struct {
		name    string
		domain  string
		results []Result
		want    map[Field]string
	}{
		{"JSON-LD beats OpenGraph and the title; its country beats the TLD", "acme-robotics.fr", []Result{
			siteResult(robots,
				found(FieldName, "  Acme   Robotics ", MethodJSONLD), found(FieldEmployees, "51-200", MethodJSONLD),
				found(FieldCountry, "Deutschland", MethodJSONLD), found(FieldName, "Acme OG", MethodOpenGraph),
				found(FieldTitle, "Home | Acme", MethodTitle), found(FieldLinkedIn, "https://www.linkedin.com/company/acme", MethodJSONLD),
				found(FieldLinkedIn, "https://www.linkedin.com/company/other", MethodLink), found(FieldGitHub, "https://github.com/acme", MethodLink)),
			dnsOK,
		}, map[Field]string{FieldName: "Acme Robotics", FieldIndustry: "Manufacturing", FieldSize: "51-200", FieldCountry: "DE",
			FieldMailHost: "Google Workspace", FieldSaaS: "Salesforce;HubSpot;", FieldLinkedIn: "https://www.linkedin.com/company/acme",
			FieldGitHub: "https://github.com/acme"}},
		{"og:site_name when there is no JSON-LD; country of a ccTLD", "bistro.fr", []Result{
			siteResult("", found(FieldName, "Bistro Numérique", MethodOpenGraph), found(FieldTitle, "Accueil - Bistro", MethodTitle)),
		}, map[Field]string{FieldName: "Bistro Numérique", FieldCountry: "FR"}},
		{"a title cleaned of its page word and tagline", "acme-robotics.com", []Result{
			siteResult("", found(FieldTitle, "Home - Acme Robotics | Since 1990", MethodTitle)),
		}, map[Field]string{FieldName: "Acme Robotics"}},
		{"a title's first part when none spells the domain", "globex.com", []Result{
			siteResult("", found(FieldTitle, "Welcome | Initech: software for banks", MethodTitle)),
		}, map[Field]string{FieldName: "Initech"}},
		{"a title of page words only names nothing", "globex.com", []Result{
			siteResult("", found(FieldTitle, "Home", MethodTitle)),
		}, map[Field]string{}},
		{"no country on a generic ccTLD, an unreadable address country ignored", "acme.io", []Result{
			siteResult("", found(FieldCountry, "Planet Mars", MethodJSONLD)),
		}, map[Field]string{}},
		{"an unparsable head count is no size", "acme.com", []Result{
			siteResult("", found(FieldEmployees, "lots", MethodJSONLD)),
		}, map[Field]string{}},
		{"text too thin for the industry classifier", "acme.com", []Result{
			siteResult("It works!"),
		}, map[Field]string{}},
		{"an unavailable site: only DNS", "acme.co.uk", []Result{
			{Source: "site", Status: StatusUnavailable, Reason: "timeout: https://acme.co.uk/", Findings: []Finding{found(FieldName, "stale", MethodJSONLD)}},
			dnsOK,
		}, map[Field]string{FieldCountry: "GB", FieldMailHost: "Google Workspace", FieldSaaS: "Salesforce;HubSpot;"}},
		{"a provider fills what the site does not say", "acme.com", []Result{
			siteResult("It works!"),
			{Source: "provider", Status: StatusOK, Findings: []Finding{
				{Field: FieldName, Value: "ACME Corp", Provenance: Provenance{Source: "https://api.test/v1", Method: MethodProvider}},
				{Field: FieldIndustry, Value: "Robotics", Provenance: Provenance{Source: "https://api.test/v1", Method: MethodProvider}},
				{Field: FieldSize, Value: "250", Provenance: Provenance{Source: "https://api.test/v1", Method: MethodProvider}},
				{Field: FieldCountry, Value: "us", Provenance: Provenance{Source: "https://api.test/v1", Method: MethodProvider}},
			}},
		}, map[Field]string{FieldName: "ACME Corp", FieldIndustry: "Robotics", FieldSize: "201-500", FieldCountry: "US"}},
		{"nothing at all", "acme.com", nil, map[Field]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := DeriveCompany(tc.domain, tc.results, later)
			require.Equal(t, tc.want, derived(t, got))
		})
	}
}

// Every derived field says where it came from and by which rule.
func TestDeriveCompanyProvenance(t *testing.T) {
	t.Parallel()
	about := "https://acme-robotics.de/about"
	res := siteResult("Collaborative robots for manufacturing: industrial robot arms, factory automation for manufacturers.",
		found(FieldName, "Acme Robotics", MethodJSONLD),
		found(FieldEmployees, "about 120 employees", MethodJSONLD),
		found(FieldTitle, "Acme Robotics | Industrial robots", MethodTitle),
		Finding{Field: FieldDescription, Value: "Robot arms for factories.", Provenance: Provenance{Source: about, Method: MethodMeta, At: testTime}},
	)
	fs := DeriveCompany("acme-robotics.de", []Result{res}, later)
	by := map[Field]Finding{}
	for _, f := range fs {
		by[f.Field] = f
	}
	require.Equal(t, Provenance{Source: home, Method: MethodJSONLD, At: testTime}, by[FieldName].Provenance)
	require.Equal(t, Finding{Field: FieldSize, Value: "51-200", Provenance: Provenance{Source: home, Method: MethodTeamSize, At: testTime}}, by[FieldSize])
	require.Equal(t, Finding{Field: FieldCountry, Value: "DE", Provenance: Provenance{Source: "acme-robotics.de", Method: MethodTLD, At: later}}, by[FieldCountry],
		"no address country: the ccTLD, dated when derived")
	ind := by[FieldIndustry]
	require.Equal(t, "Manufacturing", ind.Value)
	require.Equal(t, MethodIndustryClassifier, ind.Method)
	require.Equal(t, home+" "+about, ind.Source, "the pages whose text was read, each once")
	require.Greater(t, ind.Confidence, 0.25)
	require.LessOrEqual(t, ind.Confidence, 1.0)

	// Text with no finding to name its page names the source.
	fs = DeriveCompany("acme.com", []Result{siteResult(res.Text)}, later)
	require.Equal(t, "site", fs[0].Source)
	require.Equal(t, FieldIndustry, fs[0].Field)
}

func TestDeriveTitle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		title      string
		dept, seni string
	}{
		{"Directrice commerciale", "Sales", "Director"},
		{"  Head   of Growth ", "Marketing", "Director"},
		{"CTO", "Engineering", "C-level"},
		{"Ninja", "", ""},
		{"", "", ""},
	} {
		fs := DeriveTitle(tc.title, testTime)
		got := derived(t, fs)
		require.Equal(t, tc.dept, got[FieldDepartment], tc.title)
		require.Equal(t, tc.seni, got[FieldSeniority], tc.title)
		for _, f := range fs {
			require.Equal(t, MethodTitleClassifier, f.Method)
			require.Equal(t, testTime, f.At)
			require.Contains(t, f.Source, "title \"")
		}
	}
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	ok := Result{Source: "site", Status: StatusOK, Findings: []Finding{{Field: FieldName}}}
	down := Result{Source: "dns", Status: StatusUnavailable, Reason: "dns: no MX or TXT record for acme.com"}
	off := Result{Source: "provider", Status: StatusSkipped, Reason: "provider: not configured"}
	for _, tc := range []struct {
		name    string
		results []Result
		status  Status
		reason  string
	}{
		{"all answered", []Result{ok, off}, StatusOK, ""},
		{"some answered", []Result{ok, down, off}, StatusPartial, "dns: dns: no MX or TXT record for acme.com"},
		{"none answered", []Result{down, off}, StatusUnavailable, "dns: dns: no MX or TXT record for acme.com"},
		{"none asked", []Result{off}, StatusSkipped, "no source was asked"},
	} {
		status, reason, reports := Summarise(tc.results)
		require.Equal(t, tc.status, status, tc.name)
		require.Equal(t, tc.reason, reason, tc.name)
		require.Len(t, reports, len(tc.results), tc.name)
	}
	_, _, reports := Summarise([]Result{ok})
	require.Equal(t, []SourceReport{{Source: "site", Status: StatusOK, Findings: 1}}, reports)
}

// countingSource records whether it was asked.
type countingSource struct{ asked atomic.Int32 }

func (*countingSource) Name() string { return "counting" }
func (c *countingSource) Research(_ context.Context, q Query) Result {
	c.asked.Add(1)
	return Result{Source: "counting", Domain: q.Domain, Status: StatusOK}
}

// An address that names no employer is skipped with WorkDomain's reason,
// and no source is asked; the title is still read.
func TestResearchSkips(t *testing.T) {
	t.Parallel()
	src := &countingSource{}
	r := NewResearcher(fixedClock{}, src)
	for email, reason := range map[string]string{
		"ada@gmail.com":                  RefusedFreeMail,
		"bob@mailinator.com":             RefusedDisposable,
		"not an address":                 RefusedUnparsable,
		"eve@localhost":                  RefusedInvalidDomain,
		"x@" + string(make([]byte, 300)): RefusedTooLong,
	} {
		p := r.Research(t.Context(), email, "VP Sales")
		require.Equal(t, StatusSkipped, p.Status, email)
		require.Equal(t, reason, p.Reason, email)
		require.Empty(t, p.Domain)
		require.Empty(t, p.Sources)
		require.Equal(t, map[Field]string{FieldDepartment: "Sales", FieldSeniority: "VP"}, derived(t, p.Fields))
	}
	require.Zero(t, src.asked.Load(), "a skipped address was researched")

	p := r.Research(t.Context(), "Ada@Mail.Acme-Robotics.co.uk", "")
	require.Equal(t, StatusOK, p.Status)
	require.Equal(t, "acme-robotics.co.uk", p.Domain, "the registrable domain is researched")
	require.Equal(t, int32(1), src.asked.Load())

	p = r.Research(t.Context(), "ada@Bücher.de", "")
	require.Equal(t, "xn--bcher-kva.de", p.Domain, "an IDN is researched in its ASCII form")
	require.Equal(t, map[Field]string{FieldCountry: "DE"}, derived(t, p.Fields))
}

// The whole pipeline against a local site and a local DNS server: the
// real sources, behind the loopback guard (which fails the test on any
// address outside 127.0.0.0/8).
func TestResearchLocal(t *testing.T) {
	t.Parallel()
	srv := serveAcme(t, nil)
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"),
		"acme-robotics.de. 60 IN A 127.0.0.1",
		"acme-robotics.de. 60 IN MX 1 aspmx.l.google.com.",
		`acme-robotics.de. 60 IN TXT "v=spf1 include:_spf.google.com include:_spf.salesforce.com -all"`,
		"nosite.fr. 60 IN MX 10 mx.ovh.net.",
		"intranet.de. 60 IN A 10.0.0.1",
		"intranet.de. 60 IN MX 10 intranet-de.mail.protection.outlook.com.",
	)
	site := NewSite(b.f)
	p := port(srv)
	site.URLFor = func(d string) string { return "http://" + d + ":" + p + "/" }
	r := NewResearcher(fixedClock{}, site, NewDNS(b.cfg.Resolver, fixedClock{}))

	for _, tc := range []struct {
		name, email, title string
		status             Status
		reason             string // a part of the profile's reason
		sources            []Status
		want               map[Field]string
	}{
		{"a site with JSON-LD and a known mail setup", "ada@acme-robotics.de", "Leiter Vertrieb", StatusOK, "",
			[]Status{StatusOK, StatusOK}, map[Field]string{
				FieldName: "Acme Robotics", FieldIndustry: "Manufacturing", FieldSize: "51-200", FieldCountry: "DE",
				FieldMailHost: "Google Workspace", FieldSaaS: "Google Workspace;Salesforce;",
				FieldLinkedIn: "https://www.linkedin.com/company/acme-robotics", FieldTwitter: "https://x.com/acmerobotics",
				FieldGitHub: "https://github.com/acme-robotics", FieldFacebook: "https://www.facebook.com/acmerobotics",
				FieldCrunchbase: "https://www.crunchbase.com/organization/acme-robotics",
				FieldDepartment: "Sales", FieldSeniority: "Director",
			}},
		{"no site, DNS only", "bob@nosite.fr", "", StatusPartial, "site: network: ",
			[]Status{StatusUnavailable, StatusOK}, map[Field]string{FieldCountry: "FR", FieldMailHost: "OVHcloud"}},
		{"a site on a private address is refused", "carol@intranet.de", "", StatusPartial, "site: refused: ",
			[]Status{StatusUnavailable, StatusOK}, map[Field]string{FieldCountry: "DE", FieldMailHost: "Microsoft 365"}},
		{"nothing answers: only the TLD rule", "eve@nowhere.de", "Buchhalterin", StatusUnavailable, "dns: dns: no MX or TXT record for nowhere.de",
			[]Status{StatusUnavailable, StatusUnavailable}, map[Field]string{FieldCountry: "DE", FieldDepartment: "Finance", FieldSeniority: "Individual contributor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prof := r.Research(t.Context(), tc.email, tc.title)
			require.Equal(t, tc.status, prof.Status, prof.Reason)
			require.Contains(t, prof.Reason, tc.reason)
			var statuses []Status
			for _, s := range prof.Sources {
				statuses = append(statuses, s.Status)
			}
			require.Equal(t, tc.sources, statuses)
			require.Equal(t, tc.want, derived(t, prof.Fields))
			require.Len(t, prof.Results, 2)
		})
	}
	name := DeriveCompany("acme-robotics.de", r.Research(t.Context(), "ada@acme-robotics.de", "").Results, testTime)[0]
	require.Equal(t, Finding{Field: FieldName, Value: "Acme Robotics", Provenance: Provenance{Source: "http://acme-robotics.de:" + p + "/", Method: MethodJSONLD, At: testTime}}, name)
	for _, a := range b.guard.addrs() {
		require.Equal(t, "127.0.0.1:"+p, a, "only the local server was dialled: the private address was refused before the guard")
	}
}

// A provider the operator configured fills in what the site does not say,
// through the same pipeline; the site's own facts still come first.
func TestResearchWithProvider(t *testing.T) {
	t.Parallel()
	var gotEmail atomic.Value
	srv := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<html><head><title>Globex | Home</title></head><body>It works!</body></html>`))
		case "/v1/find":
			gotEmail.Store(r.URL.Query().Get("email"))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"name":"Globex Corporation","sector":"Robotics","staff":"1,200 employees","hq":"France"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "globex.com. 60 IN A 127.0.0.1", "api.provider.test. 60 IN A 127.0.0.1")
	p := port(srv)
	site := NewSite(b.f)
	site.URLFor = func(d string) string { return "http://" + d + ":" + p + "/" }
	prov, err := NewProvider(b.f, ProviderConfig{Name: "acmedata", URL: "http://api.provider.test:" + p + "/v1/find?domain={domain}&email={email}",
		Fields: map[string]Field{"name": FieldName, "sector": FieldIndustry, "staff": FieldSize, "hq": FieldCountry}})
	require.NoError(t, err)

	prof := NewResearcher(fixedClock{}, site, prov).Research(t.Context(), "Grace@Globex.com", "")
	require.Equal(t, StatusOK, prof.Status, prof.Reason)
	require.Equal(t, "Grace@globex.com", gotEmail.Load(), "the provider gets the address, its domain in lower case")
	require.Equal(t, map[Field]string{FieldName: "Globex Corporation", FieldIndustry: "Robotics", FieldSize: "1001-5000", FieldCountry: "FR"},
		derived(t, prof.Fields), "a provider's name beats a guess from the page title; the site's thin text classifies nothing")
	size, _ := prof.Field(FieldSize)
	require.Equal(t, Provenance{Source: "http://api.provider.test:" + p + "/v1/find", Method: MethodTeamSize, At: testTime}, size.Provenance,
		"the provider's URL without its query (the email) is the source")
}
