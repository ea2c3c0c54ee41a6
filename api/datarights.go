package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// DataRights is what export and erasure need of the store: the export
// document of a contact (docs/export.md) and its erasure. A nil
// Admin.DataRights serves neither.
type DataRights interface {
	// ExportContact returns the export document of contact id; an erased
	// or unknown contact is not found.
	ExportContact(ctx context.Context, id int64) ([]byte, error)
	// EraseContact erases contact id and returns once no email to it can
	// still leave; an erased or unknown contact is not found.
	EraseContact(ctx context.Context, id int64, by nurture.ErasedBy) error
	// EraseContactByEmail erases the contact with that address (one whose
	// erasure did not finish included) and returns its id.
	EraseContactByEmail(ctx context.Context, email string, by nurture.ErasedBy) (int64, error)
}

// exportContact serves GET /v1/contacts/{id}/export.
func (a *API) exportContact(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	a.serveExport(c, ref)
}

// exportContactByQuery serves GET /v1/contacts/export?email=... (or
// ?userId=...).
func (a *API) exportContactByQuery(c *gin.Context) {
	ref, err := parseQueryRef(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	a.serveExport(c, ref)
}

func (a *API) serveExport(c *gin.Context, ref contactRef) {
	ctx := c.Request.Context()
	contact, err := a.lookupContact(ctx, ref)
	if err != nil {
		fail(c, err)
		return
	}
	doc, err := a.cfg.Admin.DataRights.ExportContact(ctx, contact.ID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, notFoundBy(ref)) // erased meanwhile
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="contact-export.json"`)
	c.Data(http.StatusOK, "application/json; charset=utf-8", doc)
}

// eraseContact serves DELETE /v1/contacts/{id}.
func (a *API) eraseContact(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	a.erase(c, ref)
}

// eraseContactByQuery serves DELETE /v1/contacts?email=... (or ?userId=...).
func (a *API) eraseContactByQuery(c *gin.Context) {
	ref, err := parseQueryRef(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	a.erase(c, ref)
}

// erase erases the contact ref names and answers 204 once no email to it
// can still leave; 404 when there is no such contact (erased already
// included: a second call changes nothing).
func (a *API) erase(c *gin.Context, ref contactRef) {
	ctx := c.Request.Context()
	by := nurture.ErasedBy{APIKeyID: callerKeyID(c)}
	rights := a.cfg.Admin.DataRights
	var err error
	switch {
	case ref.email != "":
		_, err = rights.EraseContactByEmail(ctx, ref.email, by)
	case ref.userID != "":
		var contact *nurture.Contact
		if contact, err = a.cfg.Admin.Contacts.ContactByExternalID(ctx, ref.userID); err == nil {
			err = rights.EraseContact(ctx, contact.ID, by)
		}
	default:
		err = rights.EraseContact(ctx, ref.id, by)
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, notFoundBy(ref))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// callerKeyID is the id of the API key the request was authenticated
// with; 0 when none.
func callerKeyID(c *gin.Context) int64 {
	if v, ok := c.Get(keyContextKey); ok {
		if k, ok := v.(*nurture.APIKey); ok {
			return k.ID
		}
	}
	return 0
}
