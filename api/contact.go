package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// contactJSON is a contact as the admin API shows it.
type contactJSON struct {
	ID         int64          `json:"id"`
	UserID     string         `json:"userId,omitempty"`
	Email      string         `json:"email,omitempty"`
	Profile    map[string]any `json:"profile"`
	Attributes map[string]any `json:"attributes"`
	Engagement engagementJSON `json:"engagement"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
}

type engagementJSON struct {
	FirstSeen *time.Time       `json:"firstSeen"`
	LastSeen  *time.Time       `json:"lastSeen"`
	PageViews int64            `json:"pageViews"`
	Actions   map[string]int64 `json:"actions"`
	LastOpen  *time.Time       `json:"lastOpen"`
	LastClick *time.Time       `json:"lastClick"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func newContactJSON(c *nurture.Contact, e *nurture.EngagementSummary) contactJSON {
	profile := map[string]any{}
	for _, f := range nurture.ProfileFields {
		if v := *f.Get(c); v != "" {
			profile[f.Name] = v
		}
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	return contactJSON{
		ID: c.ID, UserID: c.ExternalID, Email: c.Email, Profile: profile, Attributes: attrs,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Engagement: engagementJSON{
			FirstSeen: timePtr(e.FirstSeen), LastSeen: timePtr(e.LastSeen), PageViews: e.PageViews,
			Actions: e.Actions, LastOpen: timePtr(e.LastOpen), LastClick: timePtr(e.LastClick),
		},
	}
}

// getContact serves GET /v1/contacts/{id}: the profile and the engagement summary.
func (a *API) getContact(c *gin.Context) {
	contact, eng, ok := a.contactWithEngagement(c, "id", c.Param("id"))
	if !ok {
		return
	}
	c.JSON(http.StatusOK, newContactJSON(contact, eng))
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
	contact, err := a.cfg.Store.Contact(ctx, id)
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	eng, err := a.cfg.Store.Engagement(ctx, id)
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	return contact, eng, true
}
