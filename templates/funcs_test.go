package templates

import (
	"reflect"
	"strings"
	"testing"

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
			if got := fallback("fb", tt.given...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("default = %#v, want %#v", got, tt.want)
			}
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
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFirstNameAndAttr(t *testing.T) {
	t.Parallel()
	c := nurture.Contact{FirstName: " Ada\n", Attributes: map[string]any{"plan": "pro", "seats": 3.0}}
	if got := firstName(c); got != "Ada" {
		t.Errorf("firstName = %q, want Ada", got)
	}
	if got := firstName(nurture.Contact{}); got != "" {
		t.Errorf("firstName of nobody = %q, want empty", got)
	}
	if got := attr(c, "plan"); got != "pro" {
		t.Errorf("attr plan = %#v", got)
	}
	if got := attr(c, "missing"); got != nil {
		t.Errorf("attr missing = %#v, want nil", got)
	}
	if got := attr(nurture.Contact{}, "plan"); got != nil {
		t.Errorf("attr of a contact without attributes = %#v, want nil", got)
	}
}

func TestDict(t *testing.T) {
	t.Parallel()
	m, err := dict("URL", "https://x", "Label", 3)
	if err != nil || m["URL"] != "https://x" || m["Label"] != 3 || len(m) != 2 {
		t.Errorf("dict = %v, %v", m, err)
	}
	if _, err := dict("odd"); err == nil {
		t.Error("dict accepted an odd number of arguments")
	}
	if _, err := dict(1, 2); err == nil {
		t.Error("dict accepted a key that is not a string")
	}
}

func TestMSO(t *testing.T) {
	t.Parallel()
	got, err := mso(`<table width="600">`)
	if err != nil || string(got) != `<!--[if mso]><table width="600"><![endif]-->` {
		t.Errorf("mso = %q, %v", got, err)
	}
	for _, bad := range []string{"--><script>alert(1)</script>", "a--!>b", "<!-- x"} {
		if got, err := mso(bad); err == nil {
			t.Errorf("mso(%q) = %q, want an error", bad, got)
		}
	}
}

// TestFuncsAreFresh checks that each Set gets its own function map: no
// state is shared between sets.
func TestFuncsAreFresh(t *testing.T) {
	t.Parallel()
	a, b := funcs(), funcs()
	a["upper"] = strings.ToLower
	if _, ok := b["upper"].(func(string) string); !ok || b["upper"].(func(string) string)("x") != "X" {
		t.Error("funcs() maps share state")
	}
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
		if got := did(e, tt.names...); got != tt.want {
			t.Errorf("did(%q) = %v, want %v", tt.names, got, tt.want)
		}
	}
	if did(nurture.EngagementSummary{}, "Project Created") {
		t.Error("did is true without any action")
	}
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
		if got := audience(tt.c); got != tt.want {
			t.Errorf("audience(role %q, department %q, title %q) = %q, want %q", tt.c.Role, tt.c.Department, tt.c.Title, got, tt.want)
		}
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
		if got := asset(nurture.Product{AssetsURL: tt.base}, tt.path); got != tt.want {
			t.Errorf("asset(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
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
		if got := resolve(tt.base, tt.ref); got != tt.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tt.base, tt.ref, got, tt.want)
		}
	}
}
