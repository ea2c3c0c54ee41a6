package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// exportContact is the export button: the same document as GET
// /v1/contacts/{id}/export (docs/export.md), as a file to save.
func (k *Console) exportContact(c *gin.Context) {
	id, ok := k.contactID(c)
	if !ok {
		return
	}
	doc, err := k.cfg.Contacts.Store.ExportContact(c.Request.Context(), id)
	if err != nil {
		k.fail(c, notFoundContact(err))
		return
	}
	k.audit(c, "contact.export", "contact:"+strconv.FormatInt(id, 10), "")
	c.Header("Content-Disposition", `attachment; filename="contact-`+strconv.FormatInt(id, 10)+`-export.json"`)
	c.Data(http.StatusOK, "application/json; charset=utf-8", doc)
}

// eraseView is what the erasure's confirmation page shows.
type eraseView struct {
	Contact *nurture.Contact
	Heading string
	Expect  string // what to type to confirm: the address, else the id
	Error   string
}

// confirmationOf is what the operator types to confirm erasing c: its
// address, which says whom they erase, or its id when it has none.
func confirmationOf(c *nurture.Contact) string {
	if c.Email != "" {
		return c.Email
	}
	return strconv.FormatInt(c.ID, 10)
}

// eraseContactPage is the erasure's confirmation step.
func (k *Console) eraseContactPage(c *gin.Context) {
	id, ok := k.contactID(c)
	if !ok {
		return
	}
	contact, err := k.cfg.Contacts.Store.Contact(c.Request.Context(), id)
	if err != nil {
		k.fail(c, notFoundContact(err))
		return
	}
	v := eraseView{Contact: contact, Heading: contactHeading(contact), Expect: confirmationOf(contact)}
	k.show(c, http.StatusOK, "contact-erase.html", "contacts", "Erase "+v.Heading, v)
}

// eraseContact erases the contact as DELETE /v1/contacts/{id} does, on
// behalf of the signed-in key, once the operator typed the confirmation.
func (k *Console) eraseContact(c *gin.Context) {
	id, ok := k.contactID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	store := k.cfg.Contacts.Store
	contact, err := store.Contact(ctx, id)
	if err != nil {
		k.fail(c, notFoundContact(err))
		return
	}
	v := eraseView{Contact: contact, Heading: contactHeading(contact), Expect: confirmationOf(contact)}
	if !strings.EqualFold(strings.TrimSpace(c.PostForm("confirm")), v.Expect) {
		v.Error = "confirm: type " + v.Expect + " exactly to erase this contact"
		k.show(c, http.StatusBadRequest, "contact-erase.html", "contacts", "Erase "+v.Heading, v)
		return
	}
	if err := store.EraseContact(ctx, id, nurture.ErasedBy{APIKeyID: sessionOf(c).KeyID}); err != nil {
		k.fail(c, notFoundContact(err))
		return
	}
	k.audit(c, "contact.erase", "contact:"+strconv.FormatInt(id, 10), "")
	c.Redirect(http.StatusSeeOther, "/admin/contacts?"+url.Values{"done": {"Contact " + strconv.FormatInt(id, 10) + " was erased."}}.Encode())
}
