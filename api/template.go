package api

import (
	"net/http"
	"strconv"

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
	id, err := strconv.ParseInt(c.Query("contact_id"), 10, 64)
	if err != nil || id < 1 {
		fail(c, nurture.FieldError("contact_id", "is required: a contact's id"))
		return
	}
	ctx := c.Request.Context()
	contact, err := a.cfg.Store.Contact(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	eng, err := a.cfg.Store.Engagement(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	r, err := a.cfg.Templates.Render(c.Param("name"), templates.Data{Contact: *contact, Engagement: *eng, Product: a.cfg.Product})
	if err != nil {
		if nurture.ErrorCodeOf(err) == nurture.CodeInternal {
			err = &nurture.Error{Code: nurture.CodeInvalid, Field: "name", Message: err.Error()}
		}
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subject": r.Subject, "preheader": r.Preheader, "topic": r.Topic, "html": r.HTML, "text": r.Text})
}
