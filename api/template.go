package api

import (
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
	r, err := a.cfg.Admin.Templates.Render(c.Param("name"), templates.Data{Contact: *contact, Engagement: *eng, Product: a.cfg.Product})
	if err != nil {
		if nurture.ErrorCodeOf(err) == nurture.CodeInternal {
			err = &nurture.Error{Code: nurture.CodeInvalid, Field: "name", Message: err.Error()}
		}
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subject": r.Subject, "preheader": r.Preheader, "topic": r.Topic, "html": r.HTML, "text": r.Text})
}
