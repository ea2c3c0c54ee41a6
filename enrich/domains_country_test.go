package enrich_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
)

func TestCountryOfAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"FR": "FR", "fr": "FR", " de ": "DE", "UK": "GB", "GB": "GB", "DEU": "DE", "usa": "US", "U.S.A.": "US",
		"France": "FR", "Deutschland": "DE", "Allemagne": "DE", "Alemania": "DE", "Germany": "DE",
		"Royaume-Uni": "GB", "United Kingdom": "GB", "Vereinigtes Königreich": "GB", "Reino Unido": "GB",
		"España": "ES", "Espagne": "ES", "Spanien": "ES", "Österreich": "AT", "Suisse": "CH", "Schweiz": "CH",
		"États-Unis": "US", "Estados Unidos": "US", "The Netherlands": "NL", "Pays-Bas": "NL",
		"Côte d'Ivoire": "CI", "México": "MX", "Brasil": "BR", "Türkiye": "TR",
		// Unknown or not a country.
		"": "", "Europe": "", "EU": "", "ZZ": "", "Paris, France": "", "Atlantis": "",
	}
	for in, want := range tests {
		require.Equal(t, want, enrich.CountryOfAddress(in), in)
	}
}

func FuzzCountryOfAddress(f *testing.F) {
	for _, s := range []string{"FR", "Deutschland", "Royaume-Uni", "U.S.A.", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := enrich.CountryOfAddress(s)
		if got != "" && (len(got) != 2 || got[0] < 'A' || got[0] > 'Z' || got[1] < 'A' || got[1] > 'Z') {
			t.Fatalf("CountryOfAddress(%q) = %q: not an alpha-2 code", s, got)
		}
	})
}
