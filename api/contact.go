package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// Admin is what the admin endpoints need. They answer keys of scope admin.
type Admin struct {
	Contacts ContactStore // required: /v1/contacts
	// Messages serves the message timeline, /v1/messages/{id}; nil: not served.
	Messages MessageStore
	// Templates renders previews, /v1/templates/{name}/preview; nil: not served.
	Templates Previewer
	// Companies serves /v1/companies/{id} and the company shown with a
	// contact; nil: neither is.
	Companies CompanyStore
	// Enrichments serves POST /v1/contacts/{id}/enrich and the enrichment
	// shown with a contact; nil: neither is.
	Enrichments EnrichmentStore
	// DataRights serves GET /v1/contacts/{id}/export, GET
	// /v1/contacts/export?email= and DELETE /v1/contacts/{id} (and
	// ?email=); nil: none of them is.
	DataRights DataRights
	// Corrections serves PATCH /v1/contacts/{id}; nil: not served.
	Corrections CorrectionStore
	// Consents serves POST /v1/contacts/{id}/consents and the consents
	// shown with a contact; nil: neither is.
	Consents ConsentStore
	// Confirmations creates the confirmation emails of double opt-in
	// ("confirm": true); nil: such a request is refused.
	Confirmations ConfirmationStore
}

// ContactStore is what the contact endpoints need of the store.
type ContactStore interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	Engagement(ctx context.Context, id int64) (*nurture.EngagementSummary, error)
	ContactOptOuts(ctx context.Context, id int64) ([]nurture.OptOut, error)
	ContactSuppression(ctx context.Context, email string) (*nurture.Suppression, error)
}

// contactJSON is a contact as the admin API shows it. Field names are
// spelled as Segment's SDKs send them (camelCase), so a product reads back
// what it wrote.
type contactJSON struct {
	ID            int64                       `json:"id"`
	UserID        string                      `json:"userId,omitempty"`
	Email         string                      `json:"email,omitempty"`
	Profile       map[string]string           `json:"profile"`
	Attributes    map[string]any              `json:"attributes"`
	Engagement    engagementJSON              `json:"engagement"`
	Subscriptions map[nurture.Topic]topicJSON `json:"subscriptions"`
	Suppression   suppressionJSON             `json:"suppression"`
	Company       *contactCompanyJSON         `json:"company"` // null: none
	// Enrichment is the contact's lead enrichment; null when none was
	// ever requested (no address, or stored before enrichment existed).
	Enrichment *enrichmentJSON `json:"enrichment"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

type engagementJSON struct {
	FirstSeen *time.Time       `json:"firstSeen"`
	LastSeen  *time.Time       `json:"lastSeen"`
	PageViews int64            `json:"pageViews"`
	Actions   map[string]int64 `json:"actions"`
	LastOpen  *time.Time       `json:"lastOpen"`
	LastClick *time.Time       `json:"lastClick"`
}

// topicJSON is whether the contact still gets email of a topic; when not,
// since when and how they opted out.
type topicJSON struct {
	Subscribed     bool              `json:"subscribed"`
	UnsubscribedAt *time.Time        `json:"unsubscribedAt,omitempty"`
	Via            nurture.OptOutVia `json:"via,omitempty"`
}

// suppressionJSON is whether the contact's address may be mailed at all.
type suppressionJSON struct {
	Suppressed bool                      `json:"suppressed"`
	Reason     nurture.SuppressionReason `json:"reason,omitempty"`
	Detail     string                    `json:"detail,omitempty"`
	Since      *time.Time                `json:"since,omitempty"`
}

// profileSpelling is how the answer spells each typed profile field: the
// trait or context name Segment's SDKs use for it (time zone and locale
// are context.timezone and context.locale there; the last address and
// user agent come from context.ip and context.userAgent).
var profileSpelling = map[string]string{
	"first_name": "firstName",
	"last_name":  "lastName",
	"company":    "company",
	"industry":   "industry",
	"title":      "title",
	"role":       "role",
	"department": "department",
	"seniority":  "seniority",
	"team_size":  "teamSize",
	"region":     "region",
	"country":    "country",
	"time_zone":  "timezone",
	"locale":     "locale",
	"phone":      "phone",
	"last_ip":    "ip",
	"user_agent": "userAgent",
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func newContactJSON(c *nurture.Contact, e *nurture.EngagementSummary, optOuts []nurture.OptOut, s *nurture.Suppression) contactJSON {
	profile := map[string]string{}
	for _, f := range nurture.ProfileFields {
		if v := *f.Get(c); v != "" {
			name, ok := profileSpelling[f.Name]
			if !ok {
				name = f.Name // a field added without a spelling still shows
			}
			profile[name] = v
		}
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	subs := make(map[nurture.Topic]topicJSON, len(preferenceTopics))
	for _, t := range preferenceTopics {
		subs[t] = topicJSON{Subscribed: true}
	}
	for _, o := range optOuts {
		subs[o.Topic] = topicJSON{UnsubscribedAt: timePtr(o.Since), Via: o.Via}
	}
	var sup suppressionJSON
	if s != nil {
		sup = suppressionJSON{Suppressed: true, Reason: s.Reason, Detail: s.Detail, Since: timePtr(s.Since)}
	}
	return contactJSON{
		ID: c.ID, UserID: c.ExternalID, Email: c.Email, Profile: profile, Attributes: attrs,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Engagement: engagementJSON{
			FirstSeen: timePtr(e.FirstSeen), LastSeen: timePtr(e.LastSeen), PageViews: e.PageViews,
			Actions: e.Actions, LastOpen: timePtr(e.LastOpen), LastClick: timePtr(e.LastClick),
		},
		Subscriptions: subs,
		Suppression:   sup,
	}
}

// contactRef is how a request names a contact: by Nurture's own number, by
// the product's user id, or by email address. Exactly one is set.
type contactRef struct {
	id     int64
	userID string
	email  string
}

// userPrefix marks a path id as the product's user id. Without it a path id
// is always Nurture's number, so a product whose user ids are numbers too
// is never answered with someone else.
const userPrefix = "user:"

// maxRefBytes bounds a user id or address in a lookup, so that no request
// carries a huge value to the database: addresses stop at 254 bytes, and
// user ids are short keys.
const maxRefBytes = 1024

// parsePathRef reads /v1/contacts/{id}: a positive number is the contact's
// id, "user:{userId}" the product's user id.
func parsePathRef(raw string) (contactRef, error) {
	if userID, ok := strings.CutPrefix(raw, userPrefix); ok {
		if err := checkText("id", userID); err != nil {
			return contactRef{}, err
		}
		if userID == "" {
			return contactRef{}, nurture.FieldError("id", "names no user: write user:{userId}")
		}
		return contactRef{userID: userID}, nil
	}
	bad := nurture.FieldError("id", "must be a contact's id (a positive whole number) or user:{userId} for the product's user id")
	if raw == "" || strings.Trim(raw, "0123456789") != "" {
		return contactRef{}, bad // digits only: no sign, no space, no other id
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return contactRef{}, bad
	}
	return contactRef{id: id}, nil
}

// parseQueryRef reads GET /v1/contacts?email=... or ?userId=...: one of
// the two, not both.
func parseQueryRef(q url.Values) (contactRef, error) {
	emails, hasEmail := q["email"]
	userIDs, hasUserID := q["userId"]
	switch {
	case len(emails) > 1:
		return contactRef{}, nurture.FieldError("email", "is given more than once")
	case len(userIDs) > 1:
		return contactRef{}, nurture.FieldError("userId", "is given more than once")
	}
	email, userID := first(emails), first(userIDs)
	switch {
	case hasEmail && hasUserID:
		return contactRef{}, nurture.FieldError("userId", "cannot be given with email: look a contact up by one of them")
	case hasUserID:
		if err := checkText("userId", userID); err != nil {
			return contactRef{}, err
		}
		if userID == "" {
			return contactRef{}, nurture.FieldError("userId", "is empty")
		}
		return contactRef{userID: userID}, nil
	case hasEmail:
		if err := checkText("email", email); err != nil {
			return contactRef{}, err
		}
		normal, err := nurture.NormalizeEmail(email)
		if err != nil {
			return contactRef{}, err // names the field "email"
		}
		return contactRef{email: normal}, nil
	}
	return contactRef{}, nurture.FieldError("email", "or userId is required: GET /v1/contacts?email=ADDRESS or ?userId=ID")
}

// checkText refuses what no stored user id or address can be: text that
// is not UTF-8, has a NUL (PostgreSQL refuses both) or is too long.
func checkText(field, s string) error {
	switch {
	case len(s) > maxRefBytes:
		return nurture.FieldError(field, "is longer than %d bytes", maxRefBytes)
	case !utf8.ValidString(s):
		return nurture.FieldError(field, "is not valid UTF-8")
	case strings.ContainsRune(s, 0):
		return nurture.FieldError(field, "contains a NUL character")
	}
	return nil
}

// getContact serves GET /v1/contacts/{id}: the profile, the engagement
// summary, the subscriptions and the suppression.
func (a *API) getContact(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	a.showContact(c, ref)
}

// findContact serves GET /v1/contacts?email=... and ?userId=...: the same
// answer as GET /v1/contacts/{id}.
func (a *API) findContact(c *gin.Context) {
	ref, err := parseQueryRef(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	a.showContact(c, ref)
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// lookupContact finds the contact a reference names; one not found is
// an error that says which lookup found no one (notFoundBy).
func (a *API) lookupContact(ctx context.Context, ref contactRef) (*nurture.Contact, error) {
	var contact *nurture.Contact
	var err error
	switch {
	case ref.userID != "":
		contact, err = a.cfg.Admin.Contacts.ContactByExternalID(ctx, ref.userID)
	case ref.email != "":
		contact, err = a.cfg.Admin.Contacts.ContactByEmail(ctx, ref.email)
	default:
		contact, err = a.cfg.Admin.Contacts.Contact(ctx, ref.id)
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return nil, notFoundBy(ref)
	}
	return contact, err
}

func (a *API) showContact(c *gin.Context, ref contactRef) {
	ctx := c.Request.Context()
	contact, err := a.lookupContact(ctx, ref)
	if err != nil {
		fail(c, err)
		return
	}
	eng, err := a.cfg.Admin.Contacts.Engagement(ctx, contact.ID)
	if err != nil {
		fail(c, err)
		return
	}
	optOuts, err := a.cfg.Admin.Contacts.ContactOptOuts(ctx, contact.ID)
	if err != nil {
		fail(c, err)
		return
	}
	var sup *nurture.Suppression
	if contact.Email != "" {
		if sup, err = a.cfg.Admin.Contacts.ContactSuppression(ctx, contact.Email); err != nil {
			fail(c, err)
			return
		}
	}
	out := newContactJSON(contact, eng, optOuts, sup)
	if contact.CompanyID != 0 && a.cfg.Admin.Companies != nil {
		co, err := a.cfg.Admin.Companies.Company(ctx, contact.CompanyID)
		if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			fail(c, err) // a company deleted meanwhile is no company
			return
		}
		if co != nil {
			out.Company = newContactCompanyJSON(co)
		}
	}
	if a.cfg.Admin.Enrichments != nil {
		e, err := a.cfg.Admin.Enrichments.Enrichment(ctx, contact.ID)
		if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			fail(c, err)
			return
		}
		if e != nil {
			out.Enrichment = newEnrichmentJSON(e, contact)
		}
	}
	c.JSON(http.StatusOK, out)
}

// notFoundBy says which lookup found no one (an erased contact is not found
// either), without echoing what the client sent. A 404 names no field: the
// request was well formed.
func notFoundBy(ref contactRef) error {
	what := "this id"
	switch {
	case ref.userID != "":
		what = "this userId"
	case ref.email != "":
		what = "this email"
	}
	return &nurture.Error{Code: nurture.CodeNotFound, Message: "no contact has " + what}
}

// contactWithEngagement loads the contact whose id the request gives in
// field, with its engagement summary; on any fault it has answered already.
func (a *API) contactWithEngagement(c *gin.Context, field, raw string) (*nurture.Contact, *nurture.EngagementSummary, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		fail(c, nurture.FieldError(field, "must be a contact's id, a positive whole number"))
		return nil, nil, false
	}
	ctx := c.Request.Context()
	contact, err := a.cfg.Admin.Contacts.Contact(ctx, id)
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	eng, err := a.cfg.Admin.Contacts.Engagement(ctx, id)
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	return contact, eng, true
}
