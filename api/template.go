package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// Previewer renders a template for a contact.
type Previewer interface {
	Render(name string, d templates.Data) (*templates.Rendered, error)
}

// previewTemplate serves GET /v1/templates/{name}/preview?contact_id=ID:
// the email as that contact would get it, links not tracked.
func (a *API) previewTemplate(c *gin.Context) {
	contact, eng, ok := a.contactWithEngagement(c, "contact_id", c.Query("contact_id"))
	if !ok {
		return
	}
	// Without Admin.Companies, the profile's fields only.
	company, err := companyView(c.Request.Context(), a.cfg.Admin.Companies, contact)
	if err != nil {
		fail(c, err)
		return
	}
	r, err := a.cfg.Admin.Templates.Render(c.Param("name"), templates.Data{Contact: *contact, Company: company, Engagement: *eng, Product: a.cfg.Product})
	if err != nil {
		if nurture.ErrorCodeOf(err) == nurture.CodeInternal {
			err = &nurture.Error{Code: nurture.CodeInvalid, Field: "name", Message: err.Error()}
		}
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subject": r.Subject, "preheader": r.Preheader, "topic": r.Topic, "html": r.HTML, "text": r.Text})
}

// companyReader reads a company record.
type companyReader interface {
	Company(ctx context.Context, id int64) (*nurture.Company, error)
}

// companyView returns what templates see of contact's company: CompanyOf
// its record, read through store (nil: none is read), as the send path
// does. A company deleted meanwhile is no company.
func companyView(ctx context.Context, store companyReader, contact *nurture.Contact) (templates.Company, error) {
	if contact.CompanyID == 0 || store == nil {
		return templates.Company{}, nil
	}
	co, err := store.Company(ctx, contact.CompanyID)
	if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
		return templates.Company{}, err
	}
	return templates.CompanyOf(co), nil
}
