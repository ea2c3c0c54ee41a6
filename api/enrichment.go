package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// EnrichmentStore is what the enrichment endpoints need of the store.
type EnrichmentStore interface {
	Enrichment(ctx context.Context, contactID int64) (*nurture.Enrichment, error)
	RequestEnrichment(ctx context.Context, contactID int64, now time.Time) (*nurture.Enrichment, error)
}

// enrichmentJSON is a contact's lead enrichment as the admin API shows it:
// how the last one went and the contact's derived fields, each with its
// provenance.
type enrichmentJSON struct {
	Status      nurture.EnrichmentStatus `json:"status"`
	Reason      string                   `json:"reason,omitempty"`
	Domain      string                   `json:"domain,omitempty"`
	RequestedAt time.Time                `json:"requestedAt"`
	EnrichedAt  *time.Time               `json:"enrichedAt"`
	// DueAt is when the next research is due: soon after a request,
	// after the TTL when research found nothing; null when none is.
	DueAt  *time.Time          `json:"dueAt"`
	Fields []enrichedFieldJSON `json:"fields"`
}

// enrichedFieldJSON is one researched or derived value with where it came
// from. Applied says whether the record shows it: false when the person or
// the product gave that field themselves, which research never overwrites.
type enrichedFieldJSON struct {
	Field      string    `json:"field"`
	Value      string    `json:"value"`
	Source     string    `json:"source"`
	Method     string    `json:"method"`
	Confidence float64   `json:"confidence,omitempty"`
	At         time.Time `json:"at"`
	Applied    bool      `json:"applied"`
}

// enrichedFieldsJSON shows fields; typed maps a field to the value of the
// typed field it fills, if any.
func enrichedFieldsJSON(fs []nurture.EnrichedField, typed func(field string) (string, bool)) []enrichedFieldJSON {
	out := make([]enrichedFieldJSON, len(fs))
	for i, f := range fs {
		out[i] = enrichedFieldJSON{Field: f.Field, Value: f.Value, Source: f.Source, Method: f.Method,
			Confidence: f.Confidence, At: f.At, Applied: true}
		if v, ok := typed(f.Field); ok {
			out[i].Applied = v == f.Value
		}
	}
	return out
}

func newEnrichmentJSON(e *nurture.Enrichment, c *nurture.Contact) *enrichmentJSON {
	return &enrichmentJSON{Status: e.Status, Reason: e.Reason, Domain: e.Domain, RequestedAt: e.RequestedAt,
		EnrichedAt: timePtr(e.EnrichedAt), DueAt: timePtr(e.DueAt),
		Fields: enrichedFieldsJSON(e.Fields, func(field string) (string, bool) {
			switch field {
			case "department":
				return c.Department, true
			case "seniority":
				return c.Seniority, true
			}
			return "", false
		})}
}

// companyEnrichedJSON shows what research found about a company; a typed
// field a group call set is not applied.
func companyEnrichedJSON(co *nurture.Company) []enrichedFieldJSON {
	return enrichedFieldsJSON(co.Enriched, func(field string) (string, bool) {
		switch field {
		case "name":
			return co.Name, true
		case "industry":
			return co.Industry, true
		case "size":
			return co.TeamSize, true
		case "country":
			return co.Country, true
		}
		return "", false
	})
}

// requestEnrichment serves POST /v1/contacts/{id}/enrich: research the
// contact's company again now (the domain's cache still serves while it
// is younger than NURTURE_ENRICH_TTL) and read its title again. It answers
// 202 with the request; GET /v1/contacts/{id} shows the outcome.
func (a *API) requestEnrichment(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
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
	e, err := a.cfg.Admin.Enrichments.RequestEnrichment(ctx, contact.ID, a.cfg.Clock.Now())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"contactId": contact.ID, "enrichment": newEnrichmentJSON(e, contact)})
}
