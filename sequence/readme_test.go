package sequence_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// readmeSection returns the README's section called title.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	_, s, ok := strings.Cut(string(b), "\n## "+title+"\n")
	require.True(t, ok, "README.md has no section %q", title)
	s, _, _ = strings.Cut(s, "\n## ")
	return s
}

// TestREADMEExample: the example file of the README's Sequences section is
// a valid sequence for the built-in templates.
func TestREADMEExample(t *testing.T) {
	t.Parallel()
	s := readmeSection(t, "Sequences")
	_, rest, ok := strings.Cut(s, "```yaml\n")
	require.True(t, ok, "no yaml example in the Sequences section")
	example, _, _ := strings.Cut(rest, "```")
	tmpl, err := templates.Default()
	require.NoError(t, err)
	_, err = sequence.Parse("README.md", []byte(example), tmpl)
	require.NoError(t, err, "the README's example does not validate")
}

// TestREADMECountryZones: the README lists the country time zone table
// the code uses.
func TestREADMECountryZones(t *testing.T) {
	t.Parallel()
	s := readmeSection(t, "Sequences")
	_, table, _ := strings.Cut(s, "<summary>Country time zones</summary>")
	table, _, _ = strings.Cut(table, "</details>")
	entries := strings.Split(strings.Join(strings.Fields(table), " "), " · ")
	require.GreaterOrEqual(t, len(entries), 60, "entries in the README's table")
	var codes []string
	for _, e := range entries {
		code, zone, _ := strings.Cut(e, " ")
		codes = append(codes, code)
		require.Equal(t, zone, sequence.CountryZone(code), "the README's zone of %s", code)
	}
	require.Equal(t, strings.Join(sequence.CountryCodes(), " "), strings.Join(codes, " "), "the countries the README lists and the code knows")
}
