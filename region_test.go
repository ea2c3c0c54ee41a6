package nurture_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestRegionsResolve(t *testing.T) {
	t.Parallel()
	euUS := nurture.Regions{Names: []string{"eu", "us", "in"}, Default: "us"}
	onlyEU := nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	tests := []struct {
		name           string
		regions        nurture.Regions
		trait, country string
		want           string
	}{
		{"no regions declared", nurture.Regions{}, "eu", "FR", ""},
		{"trait names a declared region", euUS, "eu", "US", "eu"},
		{"trait in upper case", euUS, "EU", "", "eu"},
		{"trait with spaces", euUS, "  In ", "", "in"},
		{"trait spelled out", euUS, "Europe", "", "eu"},
		{"trait spelled out, region not declared", onlyEU, "India", "", "eu"},
		{"unknown trait, country decides", euUS, "Mars", "DE", "eu"},
		{"country in lower case", euUS, "", "fr", "eu"},
		{"country of India", euUS, "", "IN", "in"},
		{"country whose region is not declared", onlyEU, "", "IN", "eu"},
		{"country with a fallback region", euUS, "", "GB", "eu"},
		{"country with a more specific region declared", nurture.Regions{Names: []string{"eu", "uk"}, Default: "eu"}, "", "GB", "uk"},
		{"canada falls back to us", euUS, "", "CA", "us"},
		{"unknown country", euUS, "", "ZZ", "us"},
		{"nothing told", euUS, "", "", "us"},
		{"trait wins over country", euUS, "us", "FR", "us"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.regions.Resolve(tt.trait, tt.country); got != tt.want {
				t.Errorf("Resolve(%q, %q) = %q, want %q", tt.trait, tt.country, got, tt.want)
			}
		})
	}
}

func TestParseRegionList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"eu", []string{"eu"}, ""},
		{"eu,us,in", []string{"eu", "us", "in"}, ""},
		{" eu , us-east ", []string{"eu", "us-east"}, ""},
		{"EU", nil, "lower-case"},
		{"eu,,us", nil, "empty region"},
		{"eu,eu", nil, "twice"},
		{"-eu", nil, "lower-case"},
		{"eu_west", nil, "lower-case"},
		{"éu", nil, "lower-case"},
		{strings.Repeat("a", 33), nil, "longer than 32"},
	}
	for _, tt := range tests {
		got, err := nurture.ParseRegionList(tt.text)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseRegionList(%q) error = %v, want one saying %q", tt.text, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseRegionList(%q): %v", tt.text, err)
		case tt.wantErr == "" && strings.Join(got, ",") != strings.Join(tt.want, ","):
			t.Errorf("ParseRegionList(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestTaskQueue(t *testing.T) {
	t.Parallel()
	tests := []struct{ region, class, want string }{
		{"", "", "default"},
		{"", "critical", "critical"},
		{"eu", "low", "eu.low"},
		{"us-east", "", "us-east.default"},
	}
	for _, tt := range tests {
		m := nurture.Message{Region: tt.region, Queue: tt.class}
		if got := m.TaskQueue(); got != tt.want {
			t.Errorf("TaskQueue(%q, %q) = %q, want %q", tt.region, tt.class, got, tt.want)
		}
	}
}

// FuzzParseRegionList checks that every list it accepts is made of names
// CheckRegionName accepts, each once, and that a region's environment
// suffix is a valid variable name part.
func FuzzParseRegionList(f *testing.F) {
	for _, s := range []string{"", "eu", "eu,us,in", " eu , us ", "EU", "eu,eu", "a-b,c-d-e", "-", ",", "eu,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		names, err := nurture.ParseRegionList(text)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if err := nurture.CheckRegionName(n); err != nil {
				t.Fatalf("accepted %q from %q: %v", n, text, err)
			}
			if seen[n] {
				t.Fatalf("accepted %q twice from %q", n, text)
			}
			seen[n] = true
			for _, r := range nurture.RegionEnvSuffix(n) {
				if envChar := 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'; !envChar {
					t.Fatalf("env suffix of %q has %q", n, r)
				}
			}
			if q := nurture.TaskQueue(n, "low"); strings.Count(q, ".") != 1 {
				t.Fatalf("queue %q of region %q", q, n)
			}
		}
		again, err := nurture.ParseRegionList(strings.Join(names, ","))
		if err != nil || strings.Join(again, ",") != strings.Join(names, ",") {
			t.Fatalf("round trip of %q: %q, %v", names, again, err)
		}
	})
}

// FuzzRegionsResolve checks that a contact's region is always a declared
// one when regions are declared, whatever its traits say.
func FuzzRegionsResolve(f *testing.F) {
	for _, s := range [][2]string{{"eu", ""}, {"Europe", "US"}, {"", "IN"}, {"x", "gb"}, {"\xff", "\x00"}} {
		f.Add(s[0], s[1])
	}
	r := nurture.Regions{Names: []string{"eu", "us", "in"}, Default: "us"}
	f.Fuzz(func(t *testing.T, trait, country string) {
		if got := r.Resolve(trait, country); !r.Has(got) {
			t.Fatalf("Resolve(%q, %q) = %q, not declared", trait, country, got)
		}
		if got := (nurture.Regions{}).Resolve(trait, country); got != "" {
			t.Fatalf("without regions Resolve(%q, %q) = %q", trait, country, got)
		}
	})
}

// The fingerprint changes with anything that changes how a contact
// resolves, and with nothing else.
func TestRegionsFingerprint(t *testing.T) {
	t.Parallel()
	base := nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}
	require.Empty(t, nurture.Regions{}.Fingerprint(), "no regions, nothing to catch up with")
	require.NotEmpty(t, base.Fingerprint())
	for _, tc := range []struct {
		name string
		r    nurture.Regions
		same bool
	}{
		{"the same", nurture.Regions{Names: []string{"eu", "us"}, Default: "eu"}, true},
		{"declared in another order", nurture.Regions{Names: []string{"us", "eu"}, Default: "eu"}, true},
		{"another default", nurture.Regions{Names: []string{"eu", "us"}, Default: "us"}, false},
		{"one more region", nurture.Regions{Names: []string{"eu", "us", "in"}, Default: "eu"}, false},
		{"one fewer region", nurture.Regions{Names: []string{"eu"}, Default: "eu"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.same, tc.r.Fingerprint() == base.Fingerprint())
		})
	}
}
