package enrich_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
)

// titleCase is one line of testdata/classify/titles.tsv.
type titleCase struct {
	line       int
	title      string
	department enrich.Department
	seniority  enrich.Seniority
}

func readTitleCases(t testing.TB) []titleCase {
	t.Helper()
	f, err := os.Open("testdata/classify/titles.tsv")
	require.NoError(t, err)
	defer f.Close()
	var cases []titleCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 3, "titles.tsv:%d", n)
		dash := func(s string) string {
			if s == "-" {
				return ""
			}
			return s
		}
		cases = append(cases, titleCase{n, dash(cols[0]), enrich.Department(dash(cols[1])), enrich.Seniority(dash(cols[2]))})
	}
	require.NoError(t, sc.Err())
	return cases
}

func TestClassifyTitle(t *testing.T) {
	t.Parallel()
	cases := readTitleCases(t)
	require.GreaterOrEqual(t, len(cases), 100, "the table must keep at least 100 real-world titles")
	for _, tc := range cases {
		t.Run(tc.title, func(t *testing.T) {
			t.Parallel()
			dept, level := enrich.ClassifyTitle(tc.title)
			require.Equal(t, tc.department, dept, "department of %q (titles.tsv:%d)", tc.title, tc.line)
			require.Equal(t, tc.seniority, level, "seniority of %q (titles.tsv:%d)", tc.title, tc.line)
		})
	}
}

// TestClassifyTitleIgnoresCaseAccentsAndPunctuation: how a title is typed
// does not change what it says.
func TestClassifyTitleIgnoresCaseAccentsAndPunctuation(t *testing.T) {
	t.Parallel()
	for _, group := range [][]string{
		{"Directrice commerciale", "DIRECTRICE COMMERCIALE", "directrice  commerciale.", "Directrice-Commerciale"},
		{"Geschäftsführer", "GESCHÄFTSFÜHRER", "Geschaftsfuhrer", "geschäftsführer (m/w/d)"},
		{"VP Sales", "V.P. Sales", "vp, sales", "VP - Sales"},
		{"Co-founder & CEO", "co-founder/ceo", "Cofounder, CEO", "Co founder and C.E.O."},
		{"Ingénieure logiciel", "Ingenieure Logiciel", "INGÉNIEURE LOGICIEL"},
	} {
		wantDept, wantLevel := enrich.ClassifyTitle(group[0])
		require.NotEmpty(t, wantLevel, group[0])
		for _, title := range group[1:] {
			dept, level := enrich.ClassifyTitle(title)
			require.Equal(t, wantDept, dept, title)
			require.Equal(t, wantLevel, level, title)
		}
	}
}

var departments = map[enrich.Department]bool{
	"": true, enrich.DepartmentSales: true, enrich.DepartmentMarketing: true, enrich.DepartmentEngineering: true,
	enrich.DepartmentProduct: true, enrich.DepartmentSupport: true, enrich.DepartmentFinance: true,
	enrich.DepartmentHR: true, enrich.DepartmentOperations: true, enrich.DepartmentLegal: true,
	enrich.DepartmentIT: true, enrich.DepartmentExecutive: true,
}

var seniorities = map[enrich.Seniority]bool{
	"": true, enrich.SeniorityCLevel: true, enrich.SeniorityVP: true, enrich.SeniorityDirector: true,
	enrich.SeniorityManager: true, enrich.SeniorityIndividual: true,
}

func FuzzClassifyTitle(f *testing.F) {
	for _, tc := range readTitleCases(f) {
		f.Add(tc.title)
	}
	f.Add("chief chief officer officer")
	f.Add("Chief")
	f.Add(strings.Repeat("Head of ", 100))
	f.Add("\xff\xfe V.P.")
	f.Fuzz(func(t *testing.T, title string) {
		dept, level := enrich.ClassifyTitle(title)
		if !departments[dept] || !seniorities[level] {
			t.Fatalf("ClassifyTitle(%q) = %q, %q: not one of the fixed values", title, dept, level)
		}
		if d2, l2 := enrich.ClassifyTitle(title); d2 != dept || l2 != level {
			t.Fatalf("ClassifyTitle(%q) not deterministic", title)
		}
		// A department always comes with a level.
		if dept != "" && level == "" {
			t.Fatalf("ClassifyTitle(%q) = %q with no seniority", title, dept)
		}
		// Case does not matter (for titles whose lower case is as long).
		if lower := strings.ToLower(title); utf8.ValidString(title) && len(lower) == len(title) && len(title) <= enrich.MaxTitleLength {
			if d2, l2 := enrich.ClassifyTitle(lower); d2 != dept || l2 != level {
				t.Fatalf("ClassifyTitle(%q) = %q, %q but in lower case %q, %q", title, dept, level, d2, l2)
			}
		}
	})
}
