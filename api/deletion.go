package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// PageEraser erases the contact of a preference link at the person's
// request ((*postgres.DB).EraseContact): it returns once no email to
// them can still leave.
type PageEraser interface {
	EraseContact(ctx context.Context, id int64, by nurture.ErasedBy) error
}

// deletionPage serves GET /u/{token}/erase: the confirmation of "delete my
// data". A GET never erases (mail scanners follow links).
func (a *API) deletionPage(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	a.renderDeletion(c, t, http.StatusOK)
}

// erasePage serves POST /u/{token}/erase, the confirmation form: the
// signed link proves the mailbox, the form token that the post comes from
// the page. The person's data is erased before the answer.
func (a *API) erasePage(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		fail(c, nurture.Errorf(nurture.CodeInvalid, "the form could not be read"))
		return
	}
	if !a.pageForm(c, c.Request.PostForm.Get(formTokenField)) {
		a.renderDeletion(c, t, http.StatusForbidden)
		return
	}
	ctx := c.Request.Context()
	contact, err := a.cfg.Recipients.Store.Contact(ctx, t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken) // erased already: the link names no one
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	err = a.cfg.Recipients.Eraser.EraseContact(ctx, contact.ID, nurture.ErasedBy{})
	if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
		fail(c, err)
		return
	}
	a.writeDeletion(c, deletionPage{Lang: lang, T: pageTexts[lang].Deletion, Product: a.cfg.Product.Name, Done: true}, http.StatusOK)
}

func (a *API) renderDeletion(c *gin.Context, t nurture.Token, code int) {
	contact, err := a.cfg.Recipients.Store.Contact(c.Request.Context(), t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	a.writeDeletion(c, deletionPage{
		Lang: lang, T: pageTexts[lang].Deletion, Product: a.cfg.Product.Name, Email: contact.Email,
		Action: c.Request.URL.Path, Back: strings.TrimSuffix(c.Request.URL.Path, "/erase"),
		FormField: formTokenField, FormToken: a.cfg.Recipients.Signer.FormToken(c.Param("token"), a.cfg.Clock.Now()),
	}, code)
}

func (a *API) writeDeletion(c *gin.Context, page deletionPage, code int) {
	a.writePage(c, deletionTemplate, "deletion", page, code)
}
