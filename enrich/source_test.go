package enrich

import (
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
