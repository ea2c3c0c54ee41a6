package templates

import (
	"strings"

	"github.com/nurture-email/nurture"
)

// CompanyOf returns what templates see of a company record (the one a
// contact belongs to): its name, domain, industry and team size as the
// record holds them (a group call's, or research's where no group call
// set them), and the description research found (the first one). A nil
// record gives the zero Company. Render fills what it lacks from the
// contact's own profile, so every caller that renders for a contact
// passes the contact's company through this one function.
func CompanyOf(co *nurture.Company) Company {
	if co == nil {
		return Company{}
	}
	c := Company{Name: co.Name, Domain: co.Domain, Industry: co.Industry, Size: co.TeamSize}
	for _, f := range co.Enriched {
		if f.Field == "description" && strings.TrimSpace(f.Value) != "" {
			c.Description = strings.TrimSpace(f.Value)
			break
		}
	}
	return c
}
