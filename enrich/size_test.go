package enrich_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	nurture "github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/enrich"
)

func TestParseTeamSize(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		// Ranges as providers and sites write them.
		{"51-200", "51-200"},
		{"51 - 200 employees", "51-200"},
		{"11–50 employees", "11-50"},
		{"1,001-5,000", "1001-5000"},
		{"10,001+", "10001+"},
		{"10001+ employees", "10001+"},
		{"10-50", "11-50"},
		{"50 to 200 employees", "51-200"},
		{"between 200 and 500 people", "201-500"},
		{"entre 50 et 200 salariés", "51-200"},
		{"zwischen 50 und 200 Mitarbeiter", "51-200"},
		{"de 11 a 50 empleados", "11-50"},
		// Counts, with the thousands written four ways.
		{"about 1,200 employees", "1001-5000"},
		{"1.200 Mitarbeiter", "1001-5000"},
		{"1 200 salariés", "1001-5000"},
		{"1\u00a0200 collaborateurs", "1001-5000"},
		{"1'200 Mitarbeitende", "1001-5000"},
		{"1.5k staff", "1001-5000"},
		{"5 mil empleados", "1001-5000"},
		{"42", "11-50"},
		{"  7 ", "1-10"},
		{"ca. 350", "201-500"},
		{"Team size: 25", "11-50"},
		{"Employees: 8,500", "5001-10000"},
		{"Mitarbeiter: 80", "51-200"},
		// Bounds: a site's "N+" means more than N.
		{"500+", "501-1000"},
		{"50+ people", "51-200"},
		{"more than 500 employees", "501-1000"},
		{"over 10,000 employees", "10001+"},
		{"plus de 1 000 collaborateurs", "1001-5000"},
		{"über 300 Mitarbeiter", "201-500"},
		{"más de 500 empleados", "501-1000"},
		{"fewer than 10 people", "1-10"},
		{"moins de 50 salariés", "11-50"},
		{"weniger als 200 Mitarbeiter", "51-200"},
		// A number in a longer text counts only next to a word for staff.
		{"Founded in 1998, we are 250 employees across Europe.", "201-500"},
		{"Founded in 1998 in Lyon.", ""},
		{"Pricing from 49 per month", ""},
		{"We serve 10,000 customers with a team of 35 people", "11-50"},
		// Nothing usable.
		{"", ""},
		{"many", ""},
		{"0", ""},
		{"-", ""},
		{"employees", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			got := enrich.ParseTeamSize(tt.text)
			require.Equal(t, tt.want, got)
			if got != "" {
				// Every range is one the domain accepts as a team size.
				norm, err := nurture.NormalizeTeamSize(got)
				require.NoError(t, err)
				require.Equal(t, got, norm)
			}
		})
	}
}

func TestTeamSizeOfAndBetween(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{
		-1: "", 0: "", 1: "1-10", 10: "1-10", 11: "11-50", 50: "11-50", 51: "51-200",
		200: "51-200", 201: "201-500", 500: "201-500", 501: "501-1000", 1000: "501-1000",
		1001: "1001-5000", 5000: "1001-5000", 5001: "5001-10000", 10000: "5001-10000",
		10001: "10001+", 2_000_000: "10001+",
	} {
		require.Equal(t, want, enrich.TeamSizeOf(n), n)
	}
	require.Equal(t, "51-200", enrich.TeamSizeBetween(51, 200))
	require.Equal(t, "51-200", enrich.TeamSizeBetween(200, 51))
	require.Equal(t, "201-500", enrich.TeamSizeBetween(100, 500))
	require.Equal(t, "1-10", enrich.TeamSizeBetween(0, 10))
	require.Equal(t, "10001+", enrich.TeamSizeBetween(10000, 0))
	require.Equal(t, "201-500", enrich.TeamSizeBetween(300, 0))
	require.Empty(t, enrich.TeamSizeBetween(0, 0))
}

func TestTeamSizeFromJSONLD(t *testing.T) {
	t.Parallel()
	tests := []struct{ json, want string }{
		{`250`, "201-500"},
		{`"1,200"`, "1001-5000"},
		{`"51-200"`, "51-200"},
		{`{"@type":"QuantitativeValue","value":42}`, "11-50"},
		{`{"@type":"QuantitativeValue","minValue":51,"maxValue":200}`, "51-200"},
		{`{"@type":"QuantitativeValue","minValue":"1001","maxValue":"5000"}`, "1001-5000"},
		{`{"@type":"QuantitativeValue","minValue":10001}`, "10001+"},
		{`{"@type":"QuantitativeValue"}`, ""},
		{`1e300`, "10001+"},
		{`-5`, ""},
		{`null`, ""},
		{`[10]`, ""},
		{`true`, ""},
	}
	for _, tt := range tests {
		var v any
		require.NoError(t, json.Unmarshal([]byte(tt.json), &v))
		require.Equal(t, tt.want, enrich.TeamSizeFromJSONLD(v), tt.json)
	}
}

func FuzzParseTeamSize(f *testing.F) {
	for _, s := range []string{"51-200", "about 1,200 employees", "1.5k", "plus de 1 000 salariés", "9999999999999999999999 staff", "1,2,3.4.5-6+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := enrich.ParseTeamSize(text)
		if got == "" {
			return
		}
		require.Contains(t, enrich.TeamSizeRanges, got)
		require.Equal(t, got, enrich.ParseTeamSize(text))
	})
}
