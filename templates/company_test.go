package templates

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// companyProbe shows what a template reads of the company and of the
// contact's derived fields.
const companyProbe = `{{define "subject"}}For {{.Company.Name | default "you"}}{{end}}
{{define "topic"}}product{{end}}
{{define "body"}}<p>name={{.Company.Name}}|domain={{.Company.Domain}}|industry={{.Company.Industry}}|size={{.Company.Size}}|about={{.Company.Description}}</p>
<p>seniority={{.Contact.Seniority}}|department={{.Contact.Department}}</p>
<p>{{with .Company.Industry}}teams in {{.}} like yours{{else}}teams like yours{{end}}</p>{{end}}`

// TestRenderCompanyRecordAndDerivedFields: a template sees the company
// record through CompanyOf (its fields, the first description research
// found), the contact's profile where the record is silent, and the
// contact's seniority and department.
func TestRenderCompanyRecordAndDerivedFields(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/probe.html": companyProbe}))
	require.NoError(t, err)
	contact := nurture.Contact{ID: 1, Email: "ada@example.com", Company: "Ada's own name for it", Industry: "Software",
		TeamSize: "2-10", Seniority: "VP", Department: "Engineering"}
	record := &nurture.Company{ID: 9, Name: "Analytical Engines", Domain: "engines.example", Industry: "Manufacturing", TeamSize: "51-200",
		Enriched: []nurture.EnrichedField{
			{Field: "mail_provider", Value: "Google Workspace"},
			{Field: "description", Value: " Engines that compute. "},
			{Field: "description", Value: "A second description, from the about page."},
		}}
	tests := []struct {
		name    string
		contact nurture.Contact
		company *nurture.Company
		want    []string
	}{
		{"the record", contact, record, []string{
			"name=Analytical Engines|domain=engines.example|industry=Manufacturing|size=51-200|about=Engines that compute.</p>",
			"seniority=VP|department=Engineering", "teams in Manufacturing like yours"}},
		{"a record without industry or size: the profile's", contact, &nurture.Company{Name: "Analytical Engines", Domain: "engines.example"}, []string{
			"name=Analytical Engines|domain=engines.example|industry=Software|size=2-10|about=</p>", "teams in Software like yours"}},
		{"no record: the profile's", contact, nil, []string{
			"name=Ada&#39;s own name for it|domain=|industry=Software|size=2-10|about=</p>"}},
		{"nothing known", nurture.Contact{ID: 2, Email: "x@example.com"}, nil, []string{
			"name=|domain=|industry=|size=|about=</p>", "seniority=|department=", "teams like yours"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := s.Render("probe", Data{Contact: tc.contact, Company: CompanyOf(tc.company)})
			require.NoError(t, err)
			for _, w := range tc.want {
				require.Contains(t, r.HTML, w)
			}
		})
	}
}
