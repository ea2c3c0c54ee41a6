package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// CompanyStore is what the company endpoints, and the company shown with a
// contact, need of the store.
type CompanyStore interface {
	Company(ctx context.Context, id int64) (*nurture.Company, error)
	CompanyContacts(ctx context.Context, id int64, limit int) ([]*nurture.Contact, int, error)
}

// MaxCompanyContacts is how many contacts GET /v1/companies/{id} lists;
// it counts them all.
const MaxCompanyContacts = 100

// groupFields maps Segment's reserved group traits (and snake_case and
// common spellings) to the company field they fill, by its name in
// nurture.CompanyFields.
var groupFields = map[string]string{
	"name":           "name",
	"industry":       "industry",
	"employees":      "team_size",
	"employee_count": "team_size",
	"teamSize":       "team_size",
	"team_size":      "team_size",
	"website":        "domain",
	"domain":         "domain",
	"country":        "country",
}

// CompanyFromTraits builds the company described by a group call's traits.
// Known traits fill typed fields, after validation: one line each, of
// bounded length; a website becomes the domain, address.country the country.
// The rest are kept as traits (the address too), within the limits on
// their number, names and text that identify traits have. The error names
// the offending trait as the caller spelled it.
func CompanyFromTraits(traits map[string]any) (*nurture.Company, error) {
	co := &nurture.Company{Traits: map[string]any{}}
	targets := map[string]func(*nurture.Company) *string{}
	limits := map[string]int{}
	for _, f := range nurture.CompanyFields {
		targets[f.Name], limits[f.Name] = f.Get, f.Max
	}
	set := func(key, name string, v any) error {
		field := "traits." + key
		s, err := traitString(field, v)
		if err != nil {
			return err
		}
		if name == "domain" && s != "" {
			if len(s) > 2000 {
				return nurture.FieldError(field, "is longer than 2000 characters")
			}
			d := nurture.NormalizeDomain(s)
			if d == "" {
				return nurture.FieldError(field, "%q is not a web site such as https://example.com", s)
			}
			s = d
		}
		if err := nurture.CheckLine(field, s, limits[name]); err != nil {
			return err
		}
		if name == "team_size" && s != "" {
			if s, err = nurture.NormalizeTeamSize(s); err != nil {
				return renamed(err, field)
			}
		}
		// A field sent under two spellings (website and domain): the
		// one spelled as the field wins.
		if dst := targets[name](co); *dst == "" || key == name {
			*dst = s
		}
		return nil
	}
	for key, v := range traits {
		if name, ok := groupFields[key]; ok {
			if err := set(key, name, v); err != nil {
				return nil, err
			}
			continue
		}
		if err := nurture.CheckAttribute("traits", key, v); err != nil {
			return nil, err
		}
		co.Traits[key] = v
		if addr, ok := v.(map[string]any); ok && key == "address" && co.Country == "" {
			if err := set("address.country", "country", addr["country"]); err != nil {
				return nil, err
			}
		}
	}
	if n := len(co.Traits); n > nurture.MaxAttributesPerCall {
		return nil, nurture.FieldError("traits", "has %d custom traits; one call may set at most %d", n, nurture.MaxAttributesPerCall)
	}
	return co, nil
}

// companyJSON is a company as the admin API shows it, traits spelled as
// the group calls sent them.
type companyJSON struct {
	ID       int64          `json:"id"`
	GroupID  string         `json:"groupId,omitempty"`
	Domain   string         `json:"domain,omitempty"`
	Name     string         `json:"name,omitempty"`
	Industry string         `json:"industry,omitempty"`
	Size     string         `json:"size,omitempty"`
	Country  string         `json:"country,omitempty"`
	Traits   map[string]any `json:"traits"`
	// Enriched is what research found, each value with its provenance
	// (applied false: a group call set that field).
	Enriched   []enrichedFieldJSON `json:"enriched"`
	EnrichedAt *time.Time          `json:"enrichedAt"`
	// Contacts lists the first MaxCompanyContacts contacts, oldest first;
	// ContactCount counts them all.
	Contacts     []companyContactJSON `json:"contacts"`
	ContactCount int                  `json:"contactCount"`
	CreatedAt    time.Time            `json:"createdAt"`
	UpdatedAt    time.Time            `json:"updatedAt"`
}

type companyContactJSON struct {
	ID     int64  `json:"id"`
	UserID string `json:"userId,omitempty"`
	Email  string `json:"email,omitempty"`
	Name   string `json:"name,omitempty"`
}

// contactCompanyJSON is the company shown with a contact.
type contactCompanyJSON struct {
	ID       int64  `json:"id"`
	GroupID  string `json:"groupId,omitempty"`
	Name     string `json:"name,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Industry string `json:"industry,omitempty"`
	Size     string `json:"size,omitempty"`
	Country  string `json:"country,omitempty"`
	// Enriched is what research found, each value with its provenance.
	Enriched   []enrichedFieldJSON `json:"enriched"`
	EnrichedAt *time.Time          `json:"enrichedAt"`
}

func newContactCompanyJSON(co *nurture.Company) *contactCompanyJSON {
	return &contactCompanyJSON{ID: co.ID, GroupID: co.GroupID, Name: co.Name, Domain: co.Domain,
		Industry: co.Industry, Size: co.TeamSize, Country: co.Country, Enriched: companyEnrichedJSON(co), EnrichedAt: timePtr(co.EnrichedAt)}
}

// getCompany serves GET /v1/companies/{id}: the company and its contacts.
func (a *API) getCompany(c *gin.Context) {
	id, ok := pathID(c, "a company's")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	store := a.cfg.Admin.Companies
	co, err := store.Company(ctx, id)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, &nurture.Error{Code: nurture.CodeNotFound, Message: "no company has this id"})
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	contacts, total, err := store.CompanyContacts(ctx, id, MaxCompanyContacts)
	if err != nil {
		fail(c, err)
		return
	}
	out := companyJSON{ID: co.ID, GroupID: co.GroupID, Domain: co.Domain, Name: co.Name, Industry: co.Industry,
		Size: co.TeamSize, Country: co.Country, Traits: co.Traits, ContactCount: total,
		Enriched: companyEnrichedJSON(co), EnrichedAt: timePtr(co.EnrichedAt),
		Contacts: make([]companyContactJSON, len(contacts)), CreatedAt: co.CreatedAt, UpdatedAt: co.UpdatedAt}
	if out.Traits == nil {
		out.Traits = map[string]any{}
	}
	for i, ct := range contacts {
		out.Contacts[i] = companyContactJSON{ID: ct.ID, UserID: ct.ExternalID, Email: ct.Email, Name: ct.Name()}
	}
	c.JSON(http.StatusOK, out)
}
