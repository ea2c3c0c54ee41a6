package enrich

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		reason   string // a part of the error message when refused
	}{
		{"acme.com", "acme.com", ""},
		{"  Acme.COM. ", "acme.com", ""},
		{"sub.acme.co.uk", "sub.acme.co.uk", ""},
		{"bücher.de", "xn--bcher-kva.de", ""},
		{"münchen.example", "xn--mnchen-3ya.example", ""},
		{"xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"", "", "empty domain"},
		{"localhost", "", "no dot"},
		{"acme..com", "", "not a host name label"},
		{"-acme.com", "", ""},
		{"acme_corp.com", "", ""},
		{"acme.com/path", "", ""},
		{"ada@acme.com", "", ""},
		{"127.0.0.1", "", "IP address"},
		{"[::1]", "", ""},
		{"exa mple.com", "", ""},
		{strings.Repeat("a", 63) + "." + strings.Repeat("b", 300) + ".com", "", ""},
		{strings.Repeat("abcdefghi.", 30) + "com", "", "longer than 253"},
		{strings.Repeat("x", 5000), "", "longer than 253"},
		{"gооgle.com", "xn--ggle-55da.com", ""}, // a homograph is researched as what it is
		{"a\u200db.com", "", ""},                // a joiner IDNA disallows here
		{"\xff\xfe.com", "", ""},
	}
	for _, tt := range tests {
		got, err := ParseDomain(tt.in)
		if tt.want != "" {
			require.NoError(t, err, tt.in)
			require.Equal(t, tt.want, got, tt.in)
			continue
		}
		require.ErrorIs(t, err, ErrBadInput, "%q gave %q", tt.in, got)
		require.Contains(t, err.Error(), tt.reason, tt.in)
		require.Less(t, len(err.Error()), 300, "a reason fit to record")
	}
}

func TestQueryFromEmail(t *testing.T) {
	t.Parallel()
	q, err := QueryFromEmail("ada@Bücher.de")
	require.NoError(t, err)
	require.Equal(t, Query{Domain: "xn--bcher-kva.de", Email: "ada@xn--bcher-kva.de"}, q)

	for _, bad := range []string{"", "ada", "ada@", "@acme.com", "Ada <ada@acme.com>", "ada@acme.com, bob@acme.com",
		"ada@localhost", "ada@" + strings.Repeat("a", 300) + ".com", strings.Repeat("a", 2000) + "@acme.com"} {
		_, err := QueryFromEmail(bad)
		require.ErrorIs(t, err, ErrBadInput, bad)
	}
}

func TestResultFirstAndAll(t *testing.T) {
	t.Parallel()
	r := Result{Findings: []Finding{{Field: FieldName, Value: "a"}, {Field: FieldTitle, Value: "t"}, {Field: FieldName, Value: "b"}}}
	f, ok := r.First(FieldName)
	require.True(t, ok)
	require.Equal(t, "a", f.Value)
	require.Len(t, r.All(FieldName), 2)
	_, ok = r.First(FieldLogo)
	require.False(t, ok)
}

// Every source refuses a bad domain with a recorded reason, whoever called
// it, and researches an IDN under its A-label.
func TestSourcesRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "xn--bcher-kva.test. 60 IN MX 1 aspmx.l.google.com.")
	site := NewSite(b.f)
	prov, err := NewProvider(b.f, ProviderConfig{URL: "http://api.test/{domain}", Fields: map[string]Field{"a": FieldName}})
	require.NoError(t, err)
	dns := NewDNS(b.cfg.Resolver, fixedClock{})
	for _, s := range []Source{site, dns, prov} {
		for _, bad := range []string{"", "not a domain", strings.Repeat("a", 300) + ".com", "127.0.0.1", "\xff.com"} {
			r := s.Research(t.Context(), Query{Domain: bad})
			require.Equal(t, StatusSkipped, r.Status, "%s %q", s.Name(), bad)
			require.Contains(t, r.Reason, "cannot research", "%s %q", s.Name(), bad)
			require.LessOrEqual(t, len(r.Domain), MaxDomainLength)
		}
	}
	r := dns.Research(t.Context(), Query{Domain: "Bücher.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.Equal(t, "xn--bcher-kva.test", r.Domain)
	require.Equal(t, []string{"Google Workspace"}, values(r, FieldMailHost))
	require.Empty(t, b.guard.addrs(), "nothing was fetched")
}

type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) Research(context.Context, Query) Result {
	panic("parser bug")
}

func TestResearchAll(t *testing.T) {
	t.Parallel()
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "acme.test. 60 IN MX 1 aspmx.l.google.com.")
	prov, err := NewProvider(b.f, ProviderConfig{})
	require.NoError(t, err)
	rs := ResearchAll(t.Context(), Query{Domain: "acme.test"}, NewDNS(b.cfg.Resolver, fixedClock{}), panicky{}, prov)
	require.Len(t, rs, 3)
	require.Equal(t, "dns", rs[0].Source)
	require.Equal(t, StatusOK, rs[0].Status)
	require.Equal(t, Result{Source: "panicky", Domain: "acme.test", Status: StatusUnavailable, Reason: "internal: parser bug"}, rs[1])
	require.Equal(t, StatusSkipped, rs[2].Status)
}
