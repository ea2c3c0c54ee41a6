package nurture_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A contact's company is that of its latest group call in a batch, even
// when that is the company it had before the batch; an unchanged company
// is not rewritten, and a new one is planned once.
func TestPlanIngestGroup(t *testing.T) {
	t.Parallel()
	home := &nurture.Company{ID: 7, GroupID: "home", Name: "Home", Domain: "home.example"}
	ada := &nurture.Contact{ID: 1, ExternalID: "ada", CompanyID: 7}
	s := nurture.NewIngestState([]*nurture.Contact{ada}, nil, nil)
	s.AddCompanies([]*nurture.Company{home})

	group := func(id string, traits *nurture.Company, at time.Time) nurture.Call {
		return nurture.Call{Type: nurture.EventGroup, UserID: "ada", GroupID: id, Name: id, Company: traits, Timestamp: at}
	}
	plan, err := nurture.PlanIngest(s, []nurture.Call{
		group("away", &nurture.Company{Name: "Away", Domain: "home.example"}, at),
		group("away", &nurture.Company{Traits: map[string]any{"plan": "pro"}}, at.Add(time.Second)),
		group("home", &nurture.Company{}, at.Add(2*time.Second)),
	})
	require.NoError(t, err)
	require.Len(t, plan.CompaniesCreated, 1)
	away := plan.CompaniesCreated[0]
	require.Equal(t, "Away", away.Name)
	require.Empty(t, away.Domain, "the domain is Home's")
	require.Equal(t, map[string]any{"plan": "pro"}, away.Traits)
	require.Empty(t, plan.CompaniesUpdated, "Home did not change")
	require.Len(t, plan.Warnings, 1)
	require.Equal(t, "traits.website", plan.Warnings[0].Field)
	require.Equal(t, []nurture.CompanyLink{{Contact: ada, Company: home}}, plan.CompanyLinks, "the latest call wins")
}

// An older call does not overwrite a company's newer values.
func TestCompanyMergeNewerWins(t *testing.T) {
	t.Parallel()
	co := &nurture.Company{}
	require.True(t, co.Merge(&nurture.Company{Name: "New", Traits: map[string]any{"plan": "pro"}}, at.Add(time.Hour)))
	require.True(t, co.Merge(&nurture.Company{Name: "Old", Industry: "Retail", Traits: map[string]any{"plan": "free"}}, at))
	require.Equal(t, "New", co.Name)
	require.Equal(t, "Retail", co.Industry, "an empty field is filled")
	require.Equal(t, "pro", co.Traits["plan"])
	require.False(t, co.Merge(&nurture.Company{Name: "New"}, at.Add(time.Hour)), "the same again is no change")
}

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://www.Initech.example/about?x=1": "initech.example",
		"initech.example":                       "initech.example",
		"http://initech.example:8080":           "initech.example",
		"sales@initech.example":                 "initech.example",
		"localhost":                             "",
		"not a site":                            "",
		"":                                      "",
	} {
		require.Equal(t, want, nurture.NormalizeDomain(in), in)
	}
}

// A company that a work email's domain made, before any group call named
// it, becomes the company of the first group call that gives its domain:
// the same account, not a second one with a warning.
func TestPlanIngestGroupAdoptsTheDomainsCompany(t *testing.T) {
	t.Parallel()
	byDomain := &nurture.Company{ID: 9, Domain: "initech.example", Industry: "Software"}
	ada := &nurture.Contact{ID: 1, ExternalID: "ada", CompanyID: 9}
	s := nurture.NewIngestState([]*nurture.Contact{ada}, nil, nil)
	s.AddCompanies([]*nurture.Company{byDomain})
	plan, err := nurture.PlanIngest(s, []nurture.Call{{Type: nurture.EventGroup, UserID: "ada", GroupID: "acct-1", Name: "acct-1",
		Company: &nurture.Company{Name: "Initech", Domain: "initech.example"}, Timestamp: at}})
	require.NoError(t, err)
	require.Empty(t, plan.CompaniesCreated)
	require.Empty(t, plan.Warnings)
	require.Equal(t, []*nurture.Company{byDomain}, plan.CompaniesUpdated)
	require.Equal(t, "acct-1", byDomain.GroupID)
	require.Equal(t, "Initech", byDomain.Name)
	require.Empty(t, plan.CompanyLinks, "ada is already there")
}
