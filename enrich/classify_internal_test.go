package enrich

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLexiconsAreFolded: every keyword is written as foldText and words
// leave a text, or it could never match.
func TestLexiconsAreFolded(t *testing.T) {
	t.Parallel()
	check := func(where, kw string) {
		t.Helper()
		bare := strings.Trim(kw, "*")
		require.Equal(t, strings.Join(words(foldText(bare)), " "), bare, "%s keyword %q is not written folded", where, kw)
	}
	for line := range strings.SplitSeq(industryLexicon, "\n") {
		_, list, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for kw := range strings.SplitSeq(list, ",") {
			check("industry", strings.TrimSpace(kw))
		}
	}
	for line := range strings.SplitSeq(titleLexicon, "\n") {
		lhs, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		check("title", strings.TrimSpace(lhs))
	}
}

// TestIndustryLexiconHasNoDuplicates: a keyword listed twice for one
// industry would count twice.
func TestIndustryLexiconHasNoDuplicates(t *testing.T) {
	t.Parallel()
	industry := ""
	seen := map[string]bool{}
	for line := range strings.SplitSeq(industryLexicon, "\n") {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "== "); ok {
			industry = name
			continue
		}
		_, list, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for kw := range strings.SplitSeq(list, ",") {
			key := industry + "/" + strings.TrimSpace(kw)
			require.False(t, seen[key], "%s listed twice", key)
			seen[key] = true
		}
	}
	require.Len(t, industryLex.names, 23)
}

func TestTitleLexiconHasNoDuplicates(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for line := range strings.SplitSeq(titleLexicon, "\n") {
		lhs, rhs, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		kw := strings.TrimSpace(lhs)
		if prev, dup := seen[kw]; dup {
			require.Equal(t, prev, strings.TrimSpace(rhs), "title keyword %q listed twice, differently", kw)
		}
		seen[kw] = strings.TrimSpace(rhs)
	}
}

func TestFoldText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "geschaftsfuhrer strasse", foldText("Geschäftsführer Straße"))
	require.Equal(t, "directrice generale", foldText("Directrice Générale"))
	require.Equal(t, "compania espana", foldText("Compañía España"))
	require.Equal(t, "oeuvre d'art", foldText("Œuvre d’art"))
	require.Equal(t, "lodz zolc", foldText("Łódź żółć"))
	require.Equal(t, []string{"co", "founder", "r", "d", "d", "affaires"}, words(foldText("Co-founder R&D d’affaires")))
}
