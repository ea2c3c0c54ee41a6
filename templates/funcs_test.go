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
