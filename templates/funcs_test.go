package templates

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestDefaultFunc(t *testing.T) {
	t.Parallel()
	var nilMap map[string]any
	tests := []struct {
		name  string
		given []any
		want  any
	}{
		{"no value", nil, "fb"},
		{"nil", []any{nil}, "fb"},
		{"empty string", []any{""}, "fb"},
		{"blank string", []any{" \t\n"}, "fb"},
		{"string", []any{"Ada"}, "Ada"},
		{"zero is an answer", []any{0}, 0},
		{"false is an answer", []any{false}, false},
		{"empty slice", []any{[]string{}}, "fb"},
		{"nil map", []any{nilMap}, "fb"},
		{"map", []any{map[string]any{"a": 1}}, map[string]any{"a": 1}},
		{"nil pointer", []any{(*nurture.Contact)(nil)}, "fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, fallback("fb", tt.given...), "default")
		})
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Ada  ", "Ada"},
		{"Mary\r\n  Ann", "Mary Ann"},
		{"a\tb\vc\fd\x00e\x7ff\u0085g\u2028h\u2029i", "a b c d e f g h i"},
		{"\u202eevil\u202c \u200bzero\ufeff", "evil zero"},
		{"Ben & Jerry's <3", "Ben & Jerry's <3"},
		{"bad\xffutf8", "badutf8"},
		{"émoji 👩‍💻 kept", "émoji 👩‍💻 kept"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, oneLine(tt.in), "oneLine(%q)", tt.in)
	}
}

func TestFirstNameAndAttr(t *testing.T) {
	t.Parallel()
	c := nurture.Contact{FirstName: " Ada\n", Attributes: map[string]any{"plan": "pro", "seats": 3.0}}
	require.Equal(t, "Ada", firstName(c), "firstName")
	require.Empty(t, firstName(nurture.Contact{}), "firstName of nobody")
	require.Equal(t, "pro", attr(c, "plan"), "attr plan")
	require.Nil(t, attr(c, "missing"), "attr missing")
	require.Nil(t, attr(nurture.Contact{}, "plan"), "attr of a contact without attributes")
}

func TestDict(t *testing.T) {
	t.Parallel()
	m, err := dict("URL", "https://x", "Label", 3)
	require.NoError(t, err, "dict")
	require.Equal(t, map[string]any{"URL": "https://x", "Label": 3}, m, "dict")
	_, err = dict("odd")
	require.Error(t, err, "dict accepted an odd number of arguments")
	_, err = dict(1, 2)
	require.Error(t, err, "dict accepted a key that is not a string")
}

func TestMSO(t *testing.T) {
	t.Parallel()
	got, err := mso(`<table width="600">`)
	require.NoError(t, err, "mso")
	require.Equal(t, `<!--[if mso]><table width="600"><![endif]-->`, string(got), "mso")
	for _, bad := range []string{"--><script>alert(1)</script>", "a--!>b", "<!-- x"} {
		got, err := mso(bad)
		require.Error(t, err, "mso(%q) = %q, want an error", bad, got)
	}
}

// TestFuncsAreFresh checks that each Set gets its own function map: no
// state is shared between sets.
func TestFuncsAreFresh(t *testing.T) {
	t.Parallel()
	a, b := funcs(), funcs()
	a["upper"] = strings.ToLower
	upper, ok := b["upper"].(func(string) string)
	require.True(t, ok, "funcs() maps share state")
	require.Equal(t, "X", upper("x"), "funcs() maps share state")
}

func TestDid(t *testing.T) {
	t.Parallel()
	e := nurture.EngagementSummary{Actions: map[string]int64{"Project Created": 2, "teammate_invited": 1, "Report Scheduled": 0}}
	tests := []struct {
		names []string
		want  bool
	}{
		{[]string{"Project Created"}, true},
		{[]string{"project_created"}, true},
		{[]string{"PROJECT-CREATED"}, true},
		{[]string{"projectCreated"}, true},
		{[]string{"Teammate Invited"}, true},
		{[]string{"Report Scheduled"}, false}, // counted zero times
		{[]string{"Dashboard Shared"}, false},
		{[]string{"Dashboard Shared", "project.created"}, true},
		{nil, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, did(e, tt.names...), "did(%q)", tt.names)
	}
	require.False(t, did(nurture.EngagementSummary{}, "Project Created"), "did is true without any action")
}

func TestAudience(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    nurture.Contact
		want string
	}{
		{nurture.Contact{}, ""},
		{nurture.Contact{Title: "Chef"}, ""},
		{nurture.Contact{Role: "Engineering"}, "engineering"},
		{nurture.Contact{Title: "Senior Software Engineer"}, "engineering"},
		{nurture.Contact{Department: "R&D"}, "engineering"},
		{nurture.Contact{Title: "IT Manager"}, "engineering"},
		{nurture.Contact{Title: "Product Marketing Manager"}, "marketing"},
		{nurture.Contact{Title: "Sales Engineer"}, "sales"},
		{nurture.Contact{Title: "Customer Success Lead"}, "support"},
		{nurture.Contact{Title: "Product Designer"}, "design"},
		{nurture.Contact{Title: "Senior PM"}, "product"},
		{nurture.Contact{Title: "Head of People"}, "operations"},
		{nurture.Contact{Title: "CEO & Co-founder"}, "leadership"},
		{nurture.Contact{Title: "VP Engineering"}, "engineering"},
		{nurture.Contact{Role: "founder", Title: "Software Engineer"}, "leadership"}, // the role says first
		{nurture.Contact{Role: " ", Department: "Marketing", Title: "Engineer"}, "marketing"},
		{nurture.Contact{Title: "Devout"}, ""}, // whole words only
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, audience(tt.c), "audience(role %q, department %q, title %q)", tt.c.Role, tt.c.Department, tt.c.Title)
	}
}

func TestAssetAndResolve(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ base, path, want string }{
		{"https://cdn.test/email/", "x.png", "https://cdn.test/email/x.png"},
		{"https://cdn.test/email", "/x.png", "https://cdn.test/email/x.png"},
		{" ", "x.png", ""},
		{"", "x.png", ""},
	} {
		require.Equal(t, tt.want, asset(nurture.Product{AssetsURL: tt.base}, tt.path), "asset(%q, %q)", tt.base, tt.path)
	}
	for _, tt := range []struct{ base, ref, want string }{
		{"https://app.test/", "/changelog", "https://app.test/changelog"},
		{"https://app.test/start", "/changelog", "https://app.test/changelog"},
		{"https://app.test/a/b", "c?x=1", "https://app.test/a/c?x=1"},
		{"https://app.test/", "https://other.test/x", "https://other.test/x"},
		{"", "/changelog", ""},
		{"/relative", "/changelog", ""},
		{"app.test", "/changelog", ""},
		{"https://app.test/", "%zz", ""},
	} {
		require.Equal(t, tt.want, resolve(tt.base, tt.ref), "resolve(%q, %q)", tt.base, tt.ref)

	}
}
