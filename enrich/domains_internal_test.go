package enrich

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDomainListEntriesAreDomains catches a typo in the embedded lists:
// every exact entry is a valid lower-case domain under a real top-level
// domain, every NAME.* entry a valid label, and no entry is on both
// lists.
func TestDomainListEntriesAreDomains(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]domainList{"free-mail": freeMail, "disposable": disposable} {
		require.NotEmpty(t, l.exact, name)
		for d := range l.exact {
			host, _, reason := registrable(d)
			require.Empty(t, reason, "%s entry %q", name, d)
			require.Equal(t, d, host, "%s entry %q is not written as its ASCII lower-case form", name, d)
		}
		for b := range l.brands {
			require.NotContains(t, b, ".", "%s brand %q", name, b)
			_, _, reason := registrable(b + ".com")
			require.Empty(t, reason, "%s brand %q", name, b)
		}
	}
	for d := range freeMail.exact {
		require.False(t, disposable.exact[d], "%s is on both lists", d)
	}
	for b := range freeMail.brands {
		require.False(t, disposable.brands[b], "%s.* is on both lists", b)
	}
	require.Greater(t, len(disposable.exact)+len(disposable.brands), 300, "a few hundred disposable domains")
}

func TestParseDomainList(t *testing.T) {
	t.Parallel()
	l := parseDomainList("# comment\n\n Example.COM  # trailing comment\nbrand.*\n")
	require.Equal(t, map[string]bool{"example.com": true}, l.exact)
	require.Equal(t, map[string]bool{"brand": true}, l.brands)
	require.True(t, l.has("mail.example.com", "example.com"))
	require.True(t, l.has("brand.co.uk", "brand.co.uk"))
	require.False(t, l.has("brandx.com", "brandx.com"))
	require.False(t, l.has("example.com.evil.net", "evil.net"))
	require.True(t, l.has("example.com", "example.com"))
}

// TestCountryNamesAreISOCodes: every name maps to a real alpha-2 code and
// is written folded, as CountryOfAddress looks it up.
func TestCountryNamesAreISOCodes(t *testing.T) {
	t.Parallel()
	require.Greater(t, len(countryNameCodes), 200)
	for name, code := range countryNameCodes {
		require.True(t, isoCountrySet[strings.ToLower(code)], "%q maps to %q, not an ISO code", name, code)
		require.Equal(t, name, strings.Join(words(foldText(name)), " "), "%q is not written folded", name)
	}
}
