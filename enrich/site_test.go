package enrich

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// siteBundle is a web-site source over a local server, reached by the name
// domain through the local DNS server.
type siteBundle struct {
	site *Site
	base string
}

func setupSite(t *testing.T, pages map[string]string, extra http.HandlerFunc) siteBundle {
	t.Helper()
	srv := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := pages[r.URL.Path]; ok {
			body, err := os.ReadFile(filepath.Join("testdata", "site", name))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(body)
			return
		}
		if extra != nil {
			extra(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"),
		"acme.test. 60 IN A 127.0.0.1", "www.acme.test. 60 IN A 127.0.0.1")
	s := NewSite(b.f)
	p := port(srv)
	s.URLFor = func(d string) string { return "http://" + d + ":" + p + "/" }
	return siteBundle{site: s, base: "http://acme.test:" + p}
}

func values(r Result, f Field) []string {
	var out []string
	for _, x := range r.All(f) {
		out = append(out, x.Value)
	}
	return out
}

func TestSiteJSONLD(t *testing.T) {
	t.Parallel()
	b := setupSite(t, map[string]string{"/": "jsonld.html", "/company/about-us": "about.html"}, nil)
	r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.Equal(t, "site", r.Source)

	name, ok := r.First(FieldName)
	require.True(t, ok)
	require.Equal(t, "Acme Robotics", name.Value)
	require.Equal(t, Provenance{Source: b.base + "/", Method: MethodJSONLD, At: testTime}, name.Provenance)

	for f, want := range map[Field]string{
		FieldLegalName:  "Acme Robotics GmbH",
		FieldEmployees:  "51-200",
		FieldCountry:    "DE",
		FieldFounded:    "2014-03-01",
		FieldLogo:       "https://acme.test/static/logo.svg",
		FieldImage:      b.base + "/static/og-card.png",
		FieldLinkedIn:   "https://www.linkedin.com/company/acme-robotics",
		FieldTwitter:    "https://x.com/acmerobotics",
		FieldGitHub:     "https://github.com/acme-robotics",
		FieldFacebook:   "https://www.facebook.com/acmerobotics",
		FieldCrunchbase: "https://www.crunchbase.com/organization/acme-robotics",
		FieldTitle:      "Acme Robotics | Industrial robots for small factories",
	} {
		got, ok := r.First(f)
		require.True(t, ok, f)
		require.Equal(t, want, got.Value, f)
	}
	// One profile per network here: share buttons and intents are not profiles,
	// and the same link in sameAs and the footer is one finding.
	require.Len(t, r.All(FieldTwitter), 1)
	require.Len(t, r.All(FieldFacebook), 1)
	require.Len(t, r.All(FieldLinkedIn), 1, "the about page's de.linkedin.com link is the same company page")
	require.Equal(t, []string{"Collaborative robot arms for manufacturers.", "Collaborative robots for manufacturing.",
		"Acme Robotics builds collaborative robot arms for small and mid-sized manufacturers.",
		"Founded in Hamburg in 2014, Acme Robotics employs 120 people."}, values(r, FieldDescription))

	// The about page was read, and its findings name it as their source.
	titles := r.All(FieldTitle)
	require.Len(t, titles, 2)
	require.Equal(t, "About Acme Robotics", titles[1].Value)
	require.Equal(t, b.base+"/company/about-us", titles[1].Source)
	require.Contains(t, r.Text, "palletise")
	require.Contains(t, r.Text, "machine shops")
	require.NotContains(t, r.Text, "dataLayer", "scripts are not text")
	require.NotContains(t, r.Text, "font-family", "styles are not text")
}

func TestSiteOpenGraphOnly(t *testing.T) {
	t.Parallel()
	b := setupSite(t, map[string]string{"/": "opengraph.html"}, nil)
	r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status, "an about page that is missing is not a failure")
	name, ok := r.First(FieldName)
	require.True(t, ok)
	require.Equal(t, Finding{Field: FieldName, Value: "Bistro Numérique",
		Provenance: Provenance{Source: b.base + "/", Method: MethodOpenGraph, At: testTime}}, name)
	require.Equal(t, []string{"Logiciel de caisse et de réservation pour restaurants."}, values(r, FieldDescription))
	require.Equal(t, []string{"https://cdn.bistro.test/og.jpg"}, values(r, FieldImage))
	require.Empty(t, r.All(FieldEmployees))
}

func TestSiteNothingUseful(t *testing.T) {
	t.Parallel()
	b := setupSite(t, map[string]string{"/": "nothing.html"}, nil)
	r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status)
	require.Empty(t, r.Findings)
	require.Equal(t, "It works!", r.Text)
}

func TestSiteBadJSONLD(t *testing.T) {
	t.Parallel()
	b := setupSite(t, map[string]string{"/": "badjson.html"}, nil)
	r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status)
	require.Equal(t, []string{"Globex Corporation"}, values(r, FieldName), "the broken script is skipped, the next one read")
	require.Equal(t, []string{"4200"}, values(r, FieldEmployees))
	require.Equal(t, []string{"United States"}, values(r, FieldCountry))
	require.Equal(t, []string{b.base + "/img/logo.png"}, values(r, FieldLogo))
	require.Equal(t, []string{"https://github.com/globex"}, values(r, FieldGitHub))
}

func TestSiteFailuresAreQuiet(t *testing.T) {
	t.Parallel()
	huge := "<html><head><title>Huge</title></head><body>" + strings.Repeat("<p>lorem ipsum dolor</p>", 5<<20/24+1)
	var disallowedHits atomic.Int32
	tests := []struct {
		name   string
		h      http.HandlerFunc
		status Status
		reason string
	}{
		{"5 MB page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(huge))
		}, StatusOK, ""},
		{"slow page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/robots.txt" {
				http.NotFound(w, r)
				return
			}
			<-r.Context().Done()
		}, StatusUnavailable, ReasonTimeout},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/robots.txt":
				http.NotFound(w, r)
			case "/":
				http.Redirect(w, r, "/home", http.StatusFound)
			default:
				http.Redirect(w, r, "/", http.StatusFound)
			}
		}, StatusUnavailable, ReasonRedirects},
		{"disallowed by robots.txt", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/robots.txt" {
				_, _ = w.Write([]byte("User-agent: *\nDisallow: /\n"))
				return
			}
			disallowedHits.Add(1)
		}, StatusUnavailable, ReasonRobots},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/robots.txt" {
				http.NotFound(w, r)
				return
			}
			http.Error(w, "boom", http.StatusInternalServerError)
		}, StatusUnavailable, ReasonStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSite(t, nil, tt.h)
			// Only the slow page waits for the timeout; the others get room
			// for a loaded machine (a 5 MB page under -race).
			timeout := 10 * time.Second
			if tt.reason == ReasonTimeout {
				timeout = 500 * time.Millisecond
			}
			b.site.fetcher.cfg.Timeout = timeout
			b.site.fetcher.client.Timeout = timeout
			r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
			require.Equal(t, tt.status, r.Status, r.Reason)
			require.Equal(t, "acme.test", r.Domain)
			if tt.reason != "" {
				require.True(t, strings.HasPrefix(r.Reason, tt.reason+":"), r.Reason)
			}
			if tt.name == "5 MB page" {
				require.Equal(t, []string{"Huge"}, values(r, FieldTitle))
				require.LessOrEqual(t, len(r.Text), MaxText)
			}
		})
	}
	require.Zero(t, disallowedHits.Load())
}

func TestSiteUnknownDomain(t *testing.T) {
	t.Parallel()
	b := setupSite(t, nil, nil)
	r := b.site.Research(t.Context(), Query{Domain: "nowhere.test"})
	require.Equal(t, StatusUnavailable, r.Status)
	require.Contains(t, r.Reason, "nowhere.test")
}

func TestSocialProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		field Field
		want  string
	}{
		{"https://www.linkedin.com/company/acme/about/", FieldLinkedIn, "https://www.linkedin.com/company/acme"},
		{"https://fr.linkedin.com/company/acme", FieldLinkedIn, "https://www.linkedin.com/company/acme"},
		{"https://www.linkedin.com/in/ada-lovelace", "", ""},
		{"https://www.linkedin.com/shareArticle?url=x", "", ""},
		{"https://twitter.com/acme", FieldTwitter, "https://x.com/acme"},
		{"https://x.com/acme_inc/status/1", FieldTwitter, "https://x.com/acme_inc"},
		{"https://twitter.com/intent/tweet?text=x", "", ""},
		{"https://twitter.com/share", "", ""},
		{"https://github.com/acme/widgets", FieldGitHub, "https://github.com/acme"},
		{"https://github.com/orgs/acme/people", FieldGitHub, "https://github.com/acme"},
		{"https://github.com/features", "", ""},
		{"https://github.com/", "", ""},
		{"https://www.facebook.com/acme.inc/", FieldFacebook, "https://www.facebook.com/acme.inc"},
		{"https://www.facebook.com/profile.php?id=1234", FieldFacebook, "https://www.facebook.com/profile.php?id=1234"},
		{"https://www.facebook.com/sharer/sharer.php?u=x", "", ""},
		{"https://www.crunchbase.com/organization/acme", FieldCrunchbase, "https://www.crunchbase.com/organization/acme"},
		{"https://www.crunchbase.com/person/ada", "", ""},
		{"https://notlinkedin.com/company/acme", "", ""},
		{"javascript:alert(1)", "", ""},
	}
	for _, tt := range tests {
		u, err := urlParse(tt.in)
		require.NoError(t, err)
		f, got, ok := socialProfile(u)
		require.Equal(t, tt.field != "", ok, tt.in)
		require.Equal(t, tt.field, f, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestSiteDecodesItsCharset(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "site", "latin1.html"))
	require.NoError(t, err)
	b := setupSite(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html") // the charset is only in the page
		_, _ = w.Write(body)
	})
	r := b.site.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.Equal(t, []string{"Müller & Söhne Maschinenbau"}, values(r, FieldTitle))
	require.Equal(t, []string{"Präzisionsteile für die Automobilindustrie seit 1952."}, values(r, FieldDescription))
	require.Contains(t, r.Text, "Fräsen")
}

func TestSiteFallsBackToWWW(t *testing.T) {
	t.Parallel()
	// Only www.acme.test resolves.
	srv := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<title>WWW only</title>`))
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "www.wwwonly.test. 60 IN A 127.0.0.1")
	s := NewSite(b.f)
	s.URLFor = func(d string) string { return "http://" + d + ":" + port(srv) + "/" }
	r := s.Research(t.Context(), Query{Domain: "wwwonly.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	title, _ := r.First(FieldTitle)
	require.Equal(t, "WWW only", title.Value)
	require.Equal(t, "http://www.wwwonly.test:"+port(srv)+"/", title.Source)
}

func TestSiteConcurrentResearch(t *testing.T) {
	t.Parallel()
	var robots atomic.Int32
	b := setupSite(t, map[string]string{"/": "jsonld.html", "/company/about-us": "about.html"},
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/robots.txt" {
				robots.Add(1)
			}
			http.NotFound(w, r)
		})
	done := make(chan Result)
	for range 8 {
		go func() { done <- b.site.Research(t.Context(), Query{Domain: "acme.test"}) }()
	}
	for range 8 {
		r := <-done
		require.Equal(t, StatusOK, r.Status, r.Reason)
		name, _ := r.First(FieldName)
		require.Equal(t, "Acme Robotics", name.Value)
	}
	require.LessOrEqual(t, robots.Load(), int32(8), "robots.txt is fetched at most once per racing research, then shared (16 without the cache)")
}
