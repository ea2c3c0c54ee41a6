package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// PageExporter records a person's request for a copy of their data by
// email, made on the preference page ((*postgres.DB).RequestExport): it
// creates the email (nurture.ExportTemplate, whose attachment delivery
// reads from the store when it sends it), at most one per
// nurture.ExportEvery. Within that time it creates nothing and next says
// when the next request may be made. An erased or unknown contact is not
// found.
type PageExporter interface {
	RequestExport(ctx context.Context, id int64, at time.Time) (m *nurture.Message, next time.Time, err error)
}

// SendEnqueuer hands one message to delivery (jobs.Enqueuer).
type SendEnqueuer interface {
	EnqueueSend(ctx context.Context, m *nurture.Message) error
}

// exportPage is what the "email me a copy of my data" page shows: the
// confirmation form, that the email is on its way (Sent), or that the
// last one is too recent (Wait says how long until the next).
type exportPage struct {
	Lang, Product, Email, Action, Back string
	T                                  exportText
	Sent                               bool
	Wait                               string
	FormField, FormToken               string
}

// exportText is the "email me a copy of my data" page in one language.
// Limited is a format of the wait (Minute or Minutes, itself a format of
// the number).
type exportText struct {
	Title, Intro, Confirm, Back, Sent, Limited, Minute, Minutes string
}

// exportPageGet serves GET /u/{token}/export: the confirmation of "email
// me a copy of my data". A GET sends nothing (mail scanners follow links).
func (a *API) exportPageGet(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	contact, ok := a.pageContact(c, t)
	if !ok {
		return
	}
	a.writeExport(c, a.exportForm(c, contact), http.StatusOK)
}

// exportPagePost serves POST /u/{token}/export, the confirmation form: the
// signed link proves the mailbox, the form token that the post comes from
// the page. The email is queued to that mailbox before the answer; a
// second request within the hour gets a page saying when the next is
// possible, with 429.
func (a *API) exportPagePost(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		fail(c, nurture.Errorf(nurture.CodeInvalid, "the form could not be read"))
		return
	}
	contact, ok := a.pageContact(c, t)
	if !ok {
		return
	}
	if !a.pageForm(c, c.Request.PostForm.Get(formTokenField)) {
		a.writeExport(c, a.exportForm(c, contact), http.StatusForbidden)
		return
	}
	ctx := c.Request.Context()
	now := a.cfg.Clock.Now()
	m, next, err := a.cfg.Recipients.Exporter.RequestExport(ctx, contact.ID, now)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken) // erased meanwhile: the link names no one
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	page := exportPage{Lang: lang, T: pageTexts[lang].Export, Product: a.cfg.Product.Name, Back: a.preferencesPath(c)}
	if m == nil {
		wait := next.Sub(now)
		minutes := max(1, int((wait+time.Minute-1)/time.Minute))
		unit := page.T.Minutes
		if minutes == 1 {
			unit = page.T.Minute
		}
		page.Wait = fmt.Sprintf(page.T.Limited, fmt.Sprintf(unit, minutes))
		c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		a.writeExport(c, page, http.StatusTooManyRequests)
		return
	}
	if err := a.cfg.Recipients.ExportQueue.EnqueueSend(ctx, m); err != nil {
		// The row is in PostgreSQL: the reconciler queues it once the
		// enqueue counts as lost, so the person's answer stays true.
		a.cfg.Logger.Warn("queue an export email; the reconciler will", "message_id", m.ID, "err", err)
	}
	a.cfg.Logger.Info("export requested by the person", "contact_id", contact.ID, "message_id", m.ID)
	page.Sent = true
	a.writeExport(c, page, http.StatusOK)
}

// pageContact reads the contact of a preference link; an erased or
// unknown one answers as a bad link.
func (a *API) pageContact(c *gin.Context, t nurture.Token) (*nurture.Contact, bool) {
	contact, err := a.cfg.Recipients.Store.Contact(c.Request.Context(), t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken)
		return nil, false
	}
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return contact, true
}

// preferencesPath is the preference page of the request's link.
func (a *API) preferencesPath(c *gin.Context) string {
	return strings.TrimSuffix(c.Request.URL.Path, "/export")
}

func (a *API) exportForm(c *gin.Context, contact *nurture.Contact) exportPage {
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	return exportPage{
		Lang: lang, T: pageTexts[lang].Export, Product: a.cfg.Product.Name, Email: contact.Email,
		Action: c.Request.URL.Path, Back: a.preferencesPath(c),
		FormField: formTokenField, FormToken: a.cfg.Recipients.Signer.FormToken(c.Param("token"), a.cfg.Clock.Now()),
	}
}

func (a *API) writeExport(c *gin.Context, page exportPage, code int) {
	a.writePage(c, exportTemplate, "export", page, code)
}
