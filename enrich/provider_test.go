package enrich

import (
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func setupProvider(t *testing.T, h http.HandlerFunc, tmpl string) (*Provider, string) {
	t.Helper()
	srv := serveOn(t, "127.0.0.1", h)
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"),
		"api.provider.test. 60 IN A 127.0.0.1", "other.test. 60 IN A 127.0.0.1")
	base := "http://api.provider.test:" + port(srv)
	p, err := NewProvider(b.f, ProviderConfig{
		Name:   "acmedata",
		URL:    base + tmpl,
		Header: "X-Api-Key",
		Key:    "secret",
		Fields: map[string]Field{
			"company.name":              FieldName,
			"company.category.industry": FieldIndustry,
			"company.metrics.employees": FieldEmployees,
			"company.tags":              "tag",
			"company.missing.path":      FieldCountry,
		},
	})
	require.NoError(t, err)
	return p, base
}

func TestProvider(t *testing.T) {
	t.Parallel()
	var gotQuery, gotKey atomic.Value
	p, base := setupProvider(t, func(w http.ResponseWriter, r *http.Request) {
		gotQuery.Store(r.URL.RawQuery)
		gotKey.Store(r.Header.Get("X-Api-Key"))
		switch r.URL.Query().Get("domain") {
		case "acme.test":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(`{"company":{"name":"Acme Robotics","category":{"industry":"Manufacturing"},
				"metrics":{"employees":120},"tags":["B2B","Robotics",{"x":1}]}}`))
		case "unknown.test":
			http.NotFound(w, r)
		case "badjson.test":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"company": {"name": "Acme"`))
		case "nokey.test":
			http.Error(w, `{"error":"bad key"}`, http.StatusUnauthorized)
		case "busy.test":
			http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
		case "html.test":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<html>{"company":{}}</html>`))
		}
	}, "/v1/find?domain={domain}&email={email}")

	r := p.Research(t.Context(), Query{Domain: "acme.test", Email: "ada+x@acme.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.Equal(t, "acmedata", r.Source)
	require.Equal(t, "domain=acme.test&email=ada%2Bx%40acme.test", gotQuery.Load(), "values are escaped")
	require.Equal(t, "secret", gotKey.Load())
	prov := Provenance{Source: base + "/v1/find", Method: MethodProvider, At: testTime}
	require.Equal(t, []Finding{
		{Field: FieldIndustry, Value: "Manufacturing", Provenance: prov},
		{Field: FieldEmployees, Value: "120", Provenance: prov},
		{Field: FieldName, Value: "Acme Robotics", Provenance: prov},
		{Field: "tag", Value: "B2B", Provenance: prov},
		{Field: "tag", Value: "Robotics", Provenance: prov},
	}, r.Findings, "the email is not in the provenance")

	r = p.Research(t.Context(), Query{Domain: "unknown.test", Email: "a@unknown.test"})
	require.Equal(t, StatusOK, r.Status)
	require.Empty(t, r.Findings)

	for domain, reason := range map[string]string{
		"badjson.test": "provider: bad JSON: unexpected EOF",
		"nokey.test":   "provider: the key was refused (401)",
		"busy.test":    "provider: rate limited (429)",
		"html.test":    "provider: content_type",
	} {
		r := p.Research(t.Context(), Query{Domain: domain, Email: "a@" + domain})
		require.Equal(t, StatusUnavailable, r.Status, domain)
		require.Equal(t, reason, r.Reason, domain)
	}

	r = p.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusSkipped, r.Status, "the URL needs an email")
}

func TestProviderKeepsItsKeyOnItsHost(t *testing.T) {
	t.Parallel()
	var leaked atomic.Bool
	var p *Provider
	p, _ = setupProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "" && r.Header.Get("X-Api-Key") != "" && r.URL.Path == "/elsewhere" {
			leaked.Store(true)
		}
		if r.URL.Path == "/v1/companies/acme.test" {
			http.Redirect(w, r, "http://other.test:"+r.Host[len("api.provider.test:"):]+"/elsewhere", http.StatusFound)
		}
	}, "/v1/companies/{domain}")
	r := p.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusUnavailable, r.Status)
	require.Equal(t, "provider: refused", r.Reason)
	require.False(t, leaked.Load())
}

func TestProviderConfig(t *testing.T) {
	t.Parallel()
	f := NewFetcher(FetchConfig{})
	p, err := NewProvider(f, ProviderConfig{})
	require.NoError(t, err)
	require.False(t, p.Enabled())
	r := p.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusSkipped, r.Status, "off by default")

	fields := map[string]Field{"industry": FieldIndustry}
	for _, bad := range []ProviderConfig{
		{URL: "ftp://api.test/{domain}", Fields: fields},
		{URL: "https://api.test/{domain}", Header: "X-Key: x", Key: "k", Fields: fields},
		{URL: "https://api.test/{domain}", Key: "k", Fields: fields},
		{URL: "https://api.test/{domain}", Header: "X-Key", Key: "k\r\nX-Evil: 1", Fields: fields},
		{URL: "https://api.test/{domain}"},
		{URL: "https://api.test/{domain}", Fields: map[string]Field{"a..b": FieldIndustry}},
	} {
		_, err := NewProvider(f, bad)
		require.Error(t, err, "%+v", bad)
	}
}
