package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	nurture "github.com/nurture-email/nurture"
)

// ProviderConfig configures an HTTP JSON provider: how a paid enrichment
// API (Clearbit-like) plugs in without code. The zero value is off.
type ProviderConfig struct {
	// Name names the provider in results; default "provider".
	Name string
	// URL is the request's URL, with {domain} and {email} replaced by the
	// query's values, query-escaped. Empty switches the provider off.
	// Example: https://api.example.com/v2/companies/find?domain={domain}
	URL string
	// Header and Key: a header sent with the key as its value
	// ("Authorization" and "Bearer sk_..."), or nothing when Header is
	// empty. The key is never recorded and never follows a redirect to
	// another host.
	Header string
	Key    string
	// Fields maps a path in the JSON answer ("company.industry",
	// "metrics.employees", "tags.0": dots between object keys and array
	// indexes) to the field it fills. An array of strings at a path makes
	// one finding per string.
	Fields map[string]Field
}

// Provider is the HTTP JSON provider source. It fetches through the same
// Fetcher as the site, so the SSRF rules apply to it too; robots.txt does
// not (the operator chose this API).
type Provider struct {
	cfg     ProviderConfig
	fetcher *Fetcher
	clock   nurture.Clock
	paths   []string // cfg.Fields' keys, sorted: findings come in a stable order
}

// NewProvider returns the provider source, or an error naming what is
// wrong with cfg. A cfg with no URL gives a provider that skips every query.
func NewProvider(f *Fetcher, cfg ProviderConfig) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = "provider"
	}
	p := &Provider{cfg: cfg, fetcher: f, clock: f.cfg.Clock}
	if cfg.URL == "" {
		return p, nil
	}
	u, err := url.Parse(strings.NewReplacer("{domain}", "x.test", "{email}", "x%40x.test").Replace(cfg.URL))
	if err != nil {
		return nil, fmt.Errorf("provider URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("provider URL %q: want an http or https URL", cfg.URL)
	}
	if strings.ContainsAny(cfg.Header, ": \r\n") || cfg.Header == "" && cfg.Key != "" {
		return nil, fmt.Errorf("provider header %q: want a header name for the key", cfg.Header)
	}
	if strings.ContainsAny(cfg.Key, "\r\n") {
		return nil, errors.New("provider key: contains a line break")
	}
	if len(cfg.Fields) == 0 {
		return nil, errors.New("provider fields: map at least one JSON path to a field")
	}
	for path, field := range cfg.Fields {
		if path == "" || strings.Contains(path, "..") || field == "" {
			return nil, fmt.Errorf("provider field %q -> %q: want a dotted JSON path and a field name", path, field)
		}
		if !fieldName(string(field)) {
			return nil, fmt.Errorf("provider field %q -> %q: a field name is lower-case letters, digits and _ (name, industry, size, employees, country, or one of your own)", path, field)
		}
		p.paths = append(p.paths, path)
	}
	slices.Sort(p.paths)
	return p, nil
}

// Name is the configured name, default "provider".
func (p *Provider) Name() string { return p.cfg.Name }

// Enabled reports whether a URL is configured.
func (p *Provider) Enabled() bool { return p.cfg.URL != "" }

// Research asks the provider about the query and maps its answer. A 404
// is an answer (the provider knows nothing of the company): status ok,
// no findings.
func (p *Provider) Research(ctx context.Context, q Query) Result {
	now := p.clock.Now()
	if !p.Enabled() {
		return Result{Source: p.Name(), Domain: q.Domain, Status: StatusSkipped, Reason: "provider: not configured", At: now}
	}
	q, bad, ok := normalise(p.Name(), q, now)
	if !ok {
		return bad
	}
	if strings.Contains(p.cfg.URL, "{email}") && q.Email == "" {
		return Result{Source: p.Name(), Domain: q.Domain, Status: StatusSkipped, Reason: "provider: its URL needs an email address", At: now}
	}
	raw := strings.NewReplacer("{domain}", url.QueryEscape(q.Domain), "{email}", url.QueryEscape(q.Email)).Replace(p.cfg.URL)
	var h http.Header
	if p.cfg.Header != "" {
		h = http.Header{}
		h.Set(p.cfg.Header, p.cfg.Key)
	}
	resp, err := p.fetcher.GetJSON(ctx, raw, h)
	var fe *FetchError
	switch {
	case errors.As(err, &fe) && fe.Reason == ReasonStatus && fe.Status == http.StatusNotFound:
		return Result{Source: p.Name(), Domain: q.Domain, Status: StatusOK, At: now}
	case errors.As(err, &fe) && fe.Reason == ReasonStatus:
		return unavailable(p.Name(), q.Domain, "provider: "+statusReason(fe.Status), now)
	case err != nil:
		// The URL may hold the email (and, for some APIs, a key): the
		// reason names only the failure.
		return unavailable(p.Name(), q.Domain, "provider: "+ReasonOf(err), now)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return unavailable(p.Name(), q.Domain, "provider: bad JSON: "+err.Error(), now)
	}
	r := Result{Source: p.Name(), Domain: q.Domain, Status: StatusOK, At: resp.At}
	prov := Provenance{Source: redactURL(resp.URL), Method: MethodProvider, At: resp.At}
	for _, path := range p.paths {
		for _, v := range scalars(lookupPath(doc, path)) {
			r.Findings = append(r.Findings, Finding{Field: p.cfg.Fields[path], Value: v, Provenance: prov})
		}
	}
	return r
}

func statusReason(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("the key was refused (%d)", code)
	case http.StatusTooManyRequests:
		return "rate limited (429)"
	}
	return fmt.Sprintf("answered %d", code)
}

// redactURL keeps a provider URL's scheme, host and path: its query may
// carry the person's email address or a key, which provenance must not.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// lookupPath walks a decoded JSON document along a dotted path.
func lookupPath(doc any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			doc = x[i]
		default:
			return nil
		}
	}
	return doc
}

// scalars renders a JSON value as finding values: a string, number or
// boolean as one, an array of them as several, anything else as none.
func scalars(v any) []string {
	switch x := v.(type) {
	case string:
		if s := clip(collapse(x), maxValue); s != "" {
			return []string{s}
		}
	case json.Number:
		return []string{x.String()}
	case bool:
		return []string{strconv.FormatBool(x)}
	case []any:
		var out []string
		for _, e := range x {
			if _, nested := e.([]any); nested || len(out) >= maxLinks {
				continue
			}
			out = append(out, scalars(e)...)
		}
		return out
	}
	return nil
}

// fieldName reports whether s may name a field: lower-case ASCII letters,
// digits and underscores, at most 40 of them.
func fieldName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
