package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// ConfirmationStore creates the confirmation emails of double opt-in: a
// message row of nurture.ConfirmTemplate, which the reconciler hands to
// delivery like any other.
type ConfirmationStore interface {
	CreateMessage(ctx context.Context, m nurture.Message) (*nurture.Message, bool, error)
}

// confirmationJSON is the answer to a request for a confirmation.
type confirmationJSON struct {
	Confirmation struct {
		MessageID int64  `json:"messageId"`
		Topic     string `json:"topic"`
		// Created is false when one was asked for within the hour: that
		// one stands, and no second email goes.
		Created bool `json:"created"`
	} `json:"confirmation"`
}

// askConfirmation serves POST /v1/contacts/{id}/consents with "confirm":
// true: it records nothing yet, and emails the person a link whose page
// records the opt-in when they confirm (double opt-in). It answers 202
// with the email's message id.
func (a *API) askConfirmation(c *gin.Context, contact *nurture.Contact, topic nurture.Topic) {
	store := a.cfg.Admin.Confirmations
	if store == nil {
		fail(c, nurture.FieldError("confirm", "double opt-in is not available on this installation"))
		return
	}
	if contact.Email == "" {
		fail(c, nurture.FieldError("confirm", "the contact has no email address to confirm with"))
		return
	}
	if r := a.cfg.Recipients; r != nil && r.Templates != nil {
		if _, ok := r.Templates.Topic(nurture.ConfirmTemplate); !ok {
			fail(c, nurture.FieldError("confirm", "needs a template called %s, and the templates in use have none", nurture.ConfirmTemplate))
			return
		}
	}
	now := a.cfg.Clock.Now()
	m, created, err := store.CreateMessage(c.Request.Context(), nurture.Message{DedupeKey: nurture.OptInDedupeKey(topic, contact.ID, now),
		ContactID: contact.ID, Template: nurture.ConfirmTemplate, SendAt: now})
	if err != nil {
		fail(c, err)
		return
	}
	a.cfg.Logger.Info("opt-in confirmation asked", "contact_id", contact.ID, "topic", topic, "message_id", m.ID, "created", created)
	var out confirmationJSON
	out.Confirmation.MessageID, out.Confirmation.Topic, out.Confirmation.Created = m.ID, string(topic), created
	c.JSON(http.StatusAccepted, out)
}

// confirmMessage checks a confirmation link: its token, its message (the
// token's contact's, a confirmation email) and its age. It returns the
// topic and whether the link is past nurture.MaxConfirmAge; on any other
// fault it has answered.
func (a *API) confirmMessage(c *gin.Context) (nurture.Token, nurture.Topic, bool, bool) {
	t, ok := a.token(c, nurture.PurposeConfirm)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return t, "", false, false
	}
	m, err := a.recipientMessage(c.Request.Context(), t)
	if err != nil {
		fail(c, err)
		return t, "", false, false
	}
	topic, ok := nurture.OptInTopic(m.DedupeKey)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return t, "", false, false
	}
	expired := t.IssuedAt.Before(a.cfg.Clock.Now().Add(-nurture.MaxConfirmAge))
	return t, topic, expired, true
}

// confirmPage serves GET /k/{token}: the page that asks the person to
// confirm the opt-in. It changes nothing: link scanners follow every link.
func (a *API) confirmPage(c *gin.Context) {
	t, topic, expired, ok := a.confirmMessage(c)
	if !ok {
		return
	}
	status := ""
	if expired {
		status = "expired"
	}
	a.renderConfirm(c, t, topic, status, http.StatusOK)
}

// confirm serves POST /k/{token}: the page's own form (its form token, as
// the preference page's) records the opt-in, source double_opt_in, with
// the person's address.
func (a *API) confirm(c *gin.Context) {
	t, topic, expired, ok := a.confirmMessage(c)
	if !ok {
		return
	}
	if expired {
		a.renderConfirm(c, t, topic, "expired", http.StatusGone)
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		fail(c, nurture.Errorf(nurture.CodeInvalid, "the form could not be read"))
		return
	}
	if !a.pageForm(c, c.Request.PostForm.Get(formTokenField)) {
		a.renderConfirm(c, t, topic, "stale", http.StatusForbidden)
		return
	}
	ch := nurture.ConsentChange{ContactID: t.ContactID, OptIn: []nurture.Topic{topic}, Source: nurture.ConsentDoubleOptIn}
	if ip := a.clientAddr(c); ip.IsValid() {
		ch.IP = ip.String()
	}
	if err := a.cfg.Recipients.Store.ChangeConsents(c.Request.Context(), ch); err != nil {
		fail(c, err)
		return
	}
	a.cfg.Logger.Info("opt-in confirmed", "contact_id", t.ContactID, "topic", topic)
	a.renderConfirm(c, t, topic, "done", http.StatusOK)
}

// confirmPageData is what the confirmation page shows.
type confirmPageData struct {
	Lang, Product, Email, Action, Status string
	T                                    confirmText
	Topic                                string
	FormField, FormToken                 string
}

type confirmText struct{ Title, Ask, Confirm, Done, Expired, Stale string }

// confirmTexts holds the page in each language the preference page speaks.
var confirmTexts = map[string]confirmText{
	"en": {Title: "Confirm your subscription", Ask: "Please confirm that you want this email at", Confirm: "Yes, subscribe me",
		Done: "Thank you: your subscription is confirmed.", Expired: "This link has expired. Nothing was changed.",
		Stale: "Nothing was changed: this page was out of date. Please confirm again."},
	"fr": {Title: "Confirmez votre abonnement", Ask: "Confirmez que vous souhaitez recevoir ces e-mails à", Confirm: "Oui, je m'abonne",
		Done: "Merci : votre abonnement est confirmé.", Expired: "Ce lien a expiré. Rien n'a été modifié.",
		Stale: "Rien n'a été modifié : cette page n'était plus à jour. Veuillez confirmer à nouveau."},
	"de": {Title: "Abonnement bestätigen", Ask: "Bitte bestätigen Sie, dass Sie diese E-Mails erhalten möchten an", Confirm: "Ja, abonnieren",
		Done: "Danke: Ihr Abonnement ist bestätigt.", Expired: "Dieser Link ist abgelaufen. Es wurde nichts geändert.",
		Stale: "Es wurde nichts geändert: Diese Seite war nicht mehr aktuell. Bitte bestätigen Sie erneut."},
	"es": {Title: "Confirma tu suscripción", Ask: "Confirma que quieres recibir estos correos en", Confirm: "Sí, suscribirme",
		Done: "Gracias: tu suscripción está confirmada.", Expired: "Este enlace ha caducado. No se ha cambiado nada.",
		Stale: "No se ha cambiado nada: esta página estaba desactualizada. Vuelve a confirmar."},
}

func (a *API) renderConfirm(c *gin.Context, t nurture.Token, topic nurture.Topic, status string, code int) {
	ctx := c.Request.Context()
	contact, err := a.cfg.Recipients.Store.Contact(ctx, t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	if status == "" {
		// Confirmed before (the link followed again): say so.
		in, err := a.cfg.Recipients.Store.OptIns(ctx, []int64{contact.ID})
		if err != nil {
			fail(c, err)
			return
		}
		if slices.Contains(in[contact.ID], topic) {
			status = "done"
		}
	}
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	label := string(topic)
	if l, ok := pageTexts[lang].Topics[topic]; ok {
		label = l.Name
	}
	page := confirmPageData{Lang: lang, T: confirmTexts[lang], Product: a.cfg.Product.Name, Email: contact.Email,
		Action: c.Request.URL.Path, Status: status, Topic: label, FormField: formTokenField,
		FormToken: a.cfg.Recipients.Signer.FormToken(c.Param("token"), a.cfg.Clock.Now())}
	a.writePage(c, confirmTemplate, "confirmation", page, code)
}
