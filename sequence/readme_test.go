package sequence_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// readmeSection returns the README's section called title.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(b), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", title)
	}
	s, _, _ = strings.Cut(s, "\n## ")
	return s
}

// TestREADMEExample: the example file of the README's Sequences section is
// a valid sequence for the built-in templates.
func TestREADMEExample(t *testing.T) {
	t.Parallel()
	s := readmeSection(t, "Sequences")
	_, rest, ok := strings.Cut(s, "```yaml\n")
	if !ok {
		t.Fatal("no yaml example in the Sequences section")
	}
	example, _, _ := strings.Cut(rest, "```")
	tmpl, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sequence.Parse("README.md", []byte(example), tmpl); err != nil {
		t.Errorf("the README's example does not validate:\n%v", err)
	}
}

// TestREADMECountryZones: the README lists the country time zone table
// the code uses.
func TestREADMECountryZones(t *testing.T) {
	t.Parallel()
	s := readmeSection(t, "Sequences")
	_, table, _ := strings.Cut(s, "<summary>Country time zones</summary>")
	table, _, _ = strings.Cut(table, "</details>")
	entries := strings.Split(strings.Join(strings.Fields(table), " "), " · ")
	if len(entries) < 60 {
		t.Fatalf("only %d entries in the README's table", len(entries))
	}
	var codes []string
	for _, e := range entries {
		code, zone, _ := strings.Cut(e, " ")
		codes = append(codes, code)
		if got := sequence.CountryZone(code); got != zone {
			t.Errorf("README says %s is %s; the code says %q", code, zone, got)
		}
	}
	if got, want := strings.Join(codes, " "), strings.Join(sequence.CountryCodes(), " "); got != want {
		t.Errorf("the README lists the countries\n%s\nthe code knows\n%s", got, want)
	}
}
