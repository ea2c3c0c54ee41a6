package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/testkit"
)

// acmePage is a company home page with JSON-LD, as sites write them.
const acmePage = `<!doctype html><html><head><title>Acme Robotics | Industrial robots</title>
<meta name="description" content="Collaborative robot arms for manufacturers.">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"Acme Robotics",
"numberOfEmployees":{"@type":"QuantitativeValue","minValue":51,"maxValue":200},
"address":{"@type":"PostalAddress","addressCountry":"DE"},"sameAs":["https://www.linkedin.com/company/acme-robotics"]}</script>
</head><body><h1>Robots for small factories</h1><p>Our industrial robot arms automate manufacturing in machine shops:
factory automation for manufacturers.</p></body></html>`

// enrichEnv is the command's test wiring: a local web server for
// acme-robotics.de, a local DNS server that knows it and nosite.fr, and a
// fetcher that admits loopback only through a guard that fails the test
// on any other address. Nothing leaves 127.0.0.0/8.
type enrichEnv struct {
	opts   enrichOptions
	ua     chan string
	mu     sync.Mutex
	dialed []string
}

func setupEnrich(t *testing.T) *enrichEnv {
	t.Helper()
	e := &enrichEnv{ua: make(chan string, 10)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case e.ua <- r.UserAgent():
		default:
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(acmePage))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	guard := enrich.LoopbackOnly(func(address string) { t.Errorf("connection to %s, outside 127.0.0.0/8", address) })
	e.opts = enrichOptions{
		fetch: enrich.FetchConfig{
			Resolver: enrich.NewResolver(testkit.StartDNS(t,
				"acme-robotics.de. 60 IN A 127.0.0.1",
				"acme-robotics.de. 60 IN MX 1 aspmx.l.google.com.",
				`acme-robotics.de. 60 IN TXT "v=spf1 include:_spf.google.com include:_spf.salesforce.com -all"`,
				"nosite.fr. 60 IN MX 10 mx.ovh.net.",
			)),
			Limiter:       enrich.Unlimited{},
			AllowLoopback: netip.MustParsePrefix("127.0.0.0/8"),
			WrapDial: func(next enrich.DialFunc) enrich.DialFunc {
				next = guard(next)
				return func(ctx context.Context, network, address string) (net.Conn, error) {
					e.mu.Lock()
					e.dialed = append(e.dialed, address)
					e.mu.Unlock()
					return next(ctx, network, address)
				}
			},
		},
		siteURL: func(domain string) string { return "http://" + domain + ":" + port + "/" },
	}
	return e
}

func (e *enrichEnv) run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd, ok := config.LookupCommand("enrich")
	require.True(t, ok)
	var out, errOut bytes.Buffer
	code := runEnrich(t.Context(), cmd, args, func(k string) string { return env[k] }, &out, &errOut, e.opts)
	return code, out.String(), errOut.String()
}

func (e *enrichEnv) dials() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.dialed...)
}

// TestEnrichCommand: the table names each field, its value, where it was
// read and how; the contact URL reaches the User-Agent. PostgreSQL and
// Redis are pointed at closed ports: the command needs neither.
func TestEnrichCommand(t *testing.T) {
	t.Parallel()
	e := setupEnrich(t)
	code, out, errOut := e.run(t, map[string]string{"NURTURE_ENRICH_CONTACT_URL": "https://ops.example.com/bot",
		"NURTURE_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "NURTURE_REDIS_URL": "redis://127.0.0.1:1/0"},
		"--email", "ada@acme-robotics.de", "--title", "Leiter Vertrieb")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ada@acme-robotics.de: researched acme-robotics.de: ok\n")
	home := regexpQuote(e.opts.siteURL("acme-robotics.de"))
	for _, row := range []string{
		`name +Acme Robotics +` + home + ` +json-ld`,
		`industry +Manufacturing \(confidence 0\.\d\d\) +` + home + ` +classifier:industry`,
		`size +51-200 +` + home + ` +team-size`,
		`country +DE +` + home + ` +address`,
		`mail_provider +Google Workspace +acme-robotics\.de\. MX 1 aspmx\.l\.google\.com\. +mx`,
		`saas +Salesforce +acme-robotics\.de\. TXT .* +spf`,
		`linkedin +https://www\.linkedin\.com/company/acme-robotics +` + home + ` +json-ld`,
		`department +Sales +title "Leiter Vertrieb" +classifier:title`,
		`seniority +Director +title "Leiter Vertrieb" +classifier:title`,
		`site +ok, \d+ findings`,
		`dns +ok, 3 findings`,
	} {
		require.Regexp(t, "(?m)^ *"+row, out)
	}
	require.Contains(t, out, "Nothing was stored.")
	require.Contains(t, <-e.ua, "+https://ops.example.com/bot")
	require.NotEmpty(t, e.dials())
	for _, a := range e.dials() {
		require.True(t, strings.HasPrefix(a, "127.0.0.1:"), a)
	}
}

// TestEnrichCommandJSON: --json prints the profile with each field's
// provenance; a site that does not answer makes it partial.
func TestEnrichCommandJSON(t *testing.T) {
	t.Parallel()
	e := setupEnrich(t)
	code, out, errOut := e.run(t, nil, "--email", "bob@nosite.fr", "--json")
	require.Equal(t, 0, code, errOut)
	var p struct {
		Email   string `json:"email"`
		Domain  string `json:"domain"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Sources []struct {
			Source, Status, Reason string
			Findings               int
		} `json:"sources"`
		Fields []struct {
			Field      string `json:"field"`
			Value      string `json:"value"`
			Provenance struct {
				Source, Method, At string
			} `json:"provenance"`
		} `json:"fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &p), out)
	require.Equal(t, "bob@nosite.fr", p.Email)
	require.Equal(t, "nosite.fr", p.Domain)
	require.Equal(t, "partial", p.Status)
	require.Contains(t, p.Reason, "site: ")
	require.Len(t, p.Sources, 2)
	require.Equal(t, "unavailable", p.Sources[0].Status)
	require.Equal(t, "ok", p.Sources[1].Status)
	require.Len(t, p.Fields, 2)
	require.Equal(t, "country", p.Fields[0].Field)
	require.Equal(t, "FR", p.Fields[0].Value)
	require.Equal(t, "tld", p.Fields[0].Provenance.Method)
	require.Equal(t, "mail_provider", p.Fields[1].Field)
	require.Equal(t, "OVHcloud", p.Fields[1].Value)
	require.Equal(t, "nosite.fr. MX 10 mx.ovh.net.", p.Fields[1].Provenance.Source)
	require.NotEmpty(t, p.Fields[1].Provenance.At)

	// Neither source answers: unavailable, exit 1.
	code, out, _ = e.run(t, nil, "--email", "eve@nowhere.de")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "eve@nowhere.de: researched nowhere.de: unavailable (site: ")
	require.Contains(t, out, "dns      unavailable, 0 findings: dns: no MX or TXT record for nowhere.de")
}

// TestEnrichCommandSkipsAndMistakes: free mail is skipped without a
// request, and a bad address is a usage error naming --email.
func TestEnrichCommandSkipsAndMistakes(t *testing.T) {
	t.Parallel()
	e := setupEnrich(t)
	code, out, errOut := e.run(t, nil, "--email", "ada@gmail.com", "--title", "CTO")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ada@gmail.com: skipped (free_mail): nothing was fetched")
	require.Regexp(t, `(?m)^department +Engineering +title "CTO" +classifier:title`, out)

	code, out, errOut = e.run(t, nil, "--email", "temp@mailinator.com", "--json")
	require.Equal(t, 0, code, errOut)
	require.JSONEq(t, `{"email":"temp@mailinator.com","status":"skipped","reason":"disposable","fields":[],"at":`+jsonAt(t, out)+`}`, out)
	require.Empty(t, e.dials(), "a skipped address caused a connection")

	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"no email", []string{"--title", "CTO"}, "--email is required"},
		{"not an address", []string{"--email", "ada at acme"}, `--email "ada at acme": unparsable`},
		{"a display name", []string{"--email", "Ada <ada@acme-robotics.de>"}, `--email "Ada <ada@acme-robotics.de>": unparsable`},
		{"no public domain", []string{"--email", "ada@localhost"}, `--email "ada@localhost": invalid domain`},
		{"300 characters", []string{"--email", strings.Repeat("a", 300) + "@acme.com"}, "--email \"aaaa"},
		{"an unknown flag", []string{"--emial", "ada@acme.com"}, "flag provided but not defined: -emial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(t, nil, tc.args...)
			require.Equal(t, 2, code, out)
			require.Contains(t, errOut, tc.says)
			require.Empty(t, out)
		})
	}
	require.Empty(t, e.dials(), "a refused address caused a connection")

	// run dispatches to the command (here: a usage error, so no research).
	var errOut2 bytes.Buffer
	require.Equal(t, 2, run(context.Background(), []string{"enrich", "--email", "nope"}, func(string) string { return "" }, &bytes.Buffer{}, &errOut2))
	require.Contains(t, errOut2.String(), "--email")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "/", `/`, ":", `:`).Replace(s)
}

// jsonAt returns the "at" member of a JSON object, as JSON.
func jsonAt(t *testing.T, out string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	return string(m["at"])
}

// What a site or a provider wrote reaches the terminal on one line and
// without escape sequences.
func TestEnrichOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Acme\x1b]0;owned\x07 Robotics", 80, "Acme ]0;owned Robotics"},
		{"two\nlines\r\tand\u009b31m", 80, "two lines and 31m"},
		{"bad \xff byte", 80, "bad \uFFFD byte"},
		{strings.Repeat("é", 100), 10, strings.Repeat("é", 9) + "…"},
	} {
		require.Equal(t, tc.want, oneLine(tc.in, tc.n), "%q", tc.in)
	}
}

// TestEnrichCommandProvider: the provider settings plug an HTTP JSON API
// in without code: its key travels in the configured header, its answer's
// paths fill the mapped fields, and a bad mapping is a usage error naming
// the settings.
func TestEnrichCommandProvider(t *testing.T) {
	t.Parallel()
	e := setupEnrich(t)
	keys, domains := make(chan string, 1), make(chan string, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys <- r.Header.Get("X-Api-Key")
		domains <- r.URL.Query().Get("domain")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"company":{"legalName":"Acme Robotics GmbH","category":{"industry":"Industrial Machinery"}},"metrics":{"employees":180}}`))
	}))
	t.Cleanup(api.Close)
	env := map[string]string{
		"NURTURE_ENRICH_PROVIDER_URL":    api.URL + "/v2/companies/find?domain={domain}",
		"NURTURE_ENRICH_PROVIDER_HEADER": "X-Api-Key",
		"NURTURE_ENRICH_PROVIDER_KEY":    "sk_test_123",
		"NURTURE_ENRICH_PROVIDER_FIELDS": "company.legalName=legal_name,company.category.industry=industry,metrics.employees=employees",
	}
	code, out, errOut := e.run(t, env, "--email", "ada@acme-robotics.de")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "sk_test_123", <-keys)
	require.Equal(t, "acme-robotics.de", <-domains)
	require.Regexp(t, `(?m)^ *provider +ok, 3 findings`, out, out)
	require.NotContains(t, out, "sk_test_123", "the key is never printed")

	env["NURTURE_ENRICH_PROVIDER_FIELDS"] = "company.name=Company Name"
	code, _, errOut = e.run(t, env, "--email", "ada@acme-robotics.de")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "NURTURE_ENRICH_PROVIDER_URL, _HEADER, _KEY, _FIELDS: provider field")
}
