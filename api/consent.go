package api

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// ConsentStore keeps consents: the current state per topic and the history.
type ConsentStore interface {
	ChangeConsents(ctx context.Context, ch nurture.ConsentChange) error
	ContactConsents(ctx context.Context, id int64) (*nurture.Consents, error)
}

// consentsJSON is a contact's consents as the admin API shows them.
type consentsJSON struct {
	Current map[nurture.Topic]currentConsentJSON `json:"current"`
	History []consentRecordJSON                  `json:"history"`
}

type currentConsentJSON struct {
	State  nurture.ConsentState  `json:"state"`
	Since  *time.Time            `json:"since,omitempty"`
	Source nurture.ConsentSource `json:"source,omitempty"`
}

type consentRecordJSON struct {
	Topic   nurture.Topic         `json:"topic,omitempty"` // absent: the whole address
	Granted bool                  `json:"granted"`
	Source  nurture.ConsentSource `json:"source"`
	IP      string                `json:"ip,omitempty"`
	At      time.Time             `json:"at"`
}

func newConsentsJSON(cs *nurture.Consents) consentsJSON {
	out := consentsJSON{Current: map[nurture.Topic]currentConsentJSON{}, History: make([]consentRecordJSON, len(cs.History))}
	for _, c := range cs.Current {
		out.Current[c.Topic] = currentConsentJSON{State: c.State, Since: timePtr(c.Since), Source: c.Source}
	}
	for i, r := range cs.History {
		out.History[i] = consentRecordJSON{Topic: r.Topic, Granted: r.Granted, Source: r.Source, IP: r.IP, At: r.At}
	}
	return out
}

// consentRequest is a POST /v1/contacts/{id}/consents, read.
type consentRequest struct {
	topic   nurture.Topic
	granted bool
	confirm bool // ask the person to confirm by email (double opt-in)
	source  nurture.ConsentSource
	ip      string
}

// readConsentRequest reads {topic, granted, source?, ip?} or
// {topic, confirm: true}.
func readConsentRequest(obj map[string]any) (*consentRequest, error) {
	r := &consentRequest{source: nurture.ConsentAPI}
	for k := range obj {
		switch k {
		case "topic", "granted", "source", "ip", "confirm":
		default:
			return nil, nurture.FieldError(k, "is not a field of a consent (topic, granted, source, ip, confirm)")
		}
	}
	topic, _ := obj["topic"].(string)
	r.topic = nurture.Topic(topic)
	switch {
	case obj["topic"] == nil:
		return nil, nurture.FieldError("topic", "is required: one of onboarding, education, product, marketing")
	case r.topic == nurture.TopicTransactional:
		return nil, nurture.FieldError("topic", "transactional email is sent without consent, and cannot be refused")
	case !slices.Contains(nurture.PreferenceTopics, r.topic):
		return nil, nurture.FieldError("topic", "must be one of onboarding, education, product, marketing")
	}
	if v, ok := obj["confirm"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, nurture.FieldError("confirm", "must be true or false")
		}
		r.confirm = b
	}
	g, hasGranted := obj["granted"]
	switch {
	case r.confirm && hasGranted && g != true:
		return nil, nurture.FieldError("granted", "must be true, or left out, with confirm: a confirmation asks for an opt-in")
	case r.confirm:
		r.granted = true
	case !hasGranted:
		return nil, nurture.FieldError("granted", "is required: true for an opt-in, false for an opt-out")
	default:
		b, ok := g.(bool)
		if !ok {
			return nil, nurture.FieldError("granted", "must be true or false")
		}
		r.granted = b
	}
	if v, ok := obj["source"]; ok && v != nil {
		s, _ := v.(string)
		r.source = nurture.ConsentSource(s)
		if r.source != nurture.ConsentAPI && r.source != nurture.ConsentImport {
			return nil, nurture.FieldError("source", "must be api or import (the person's own choices are recorded by their pages)")
		}
		if r.confirm {
			return nil, nurture.FieldError("source", "cannot be given with confirm: the person's confirmation is the source")
		}
	}
	if v, ok := obj["ip"]; ok && v != nil {
		s, _ := v.(string)
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, nurture.FieldError("ip", "must be an IPv4 or IPv6 address: where the person gave or withdrew the consent")
		}
		r.ip = ip.Unmap().String()
	}
	return r, nil
}

// recordConsent serves POST /v1/contacts/{id}/consents: an opt-in or
// opt-out of one topic, recorded with its source (api, or import for a
// consent brought from another system) and, when given, the address the
// person gave it from. With "confirm": true it records nothing yet and
// emails the person a link to confirm the opt-in (double opt-in). The
// answer is the contact's consents, as GET .../consents shows them.
func (a *API) recordConsent(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	obj, err := readObject(c.Request, MaxCallBytes)
	if err != nil {
		fail(c, err)
		return
	}
	req, err := readConsentRequest(obj)
	if err != nil {
		fail(c, err)
		return
	}
	ctx := c.Request.Context()
	contact, err := a.lookupContact(ctx, ref)
	if err != nil {
		fail(c, err)
		return
	}
	if req.confirm {
		a.askConfirmation(c, contact, req.topic)
		return
	}
	ch := nurture.ConsentChange{ContactID: contact.ID, Source: req.source, IP: req.ip}
	if req.granted {
		ch.OptIn = []nurture.Topic{req.topic}
	} else {
		ch.OptOut = []nurture.Topic{req.topic}
		if a.cfg.Recipients != nil {
			ch.CancelTemplates = a.templatesOf(ch.OptOut)
		}
	}
	if err := a.cfg.Admin.Consents.ChangeConsents(ctx, ch); err != nil {
		fail(c, err)
		return
	}
	if !req.granted && a.cfg.Recipients != nil {
		a.waitInFlight(ctx, contact.ID, ch.CancelTemplates)
	}
	a.cfg.Logger.Info("consent recorded", "contact_id", contact.ID, "topic", req.topic, "granted", req.granted, "source", req.source)
	a.showConsents(c, contact.ID)
}

// getConsents serves GET /v1/contacts/{id}/consents.
func (a *API) getConsents(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	contact, err := a.lookupContact(c.Request.Context(), ref)
	if err != nil {
		fail(c, err)
		return
	}
	a.showConsents(c, contact.ID)
}

func (a *API) showConsents(c *gin.Context, id int64) {
	cs, err := a.cfg.Admin.Consents.ContactConsents(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newConsentsJSON(cs))
}
