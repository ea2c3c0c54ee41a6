package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/enrich"
)

// enrichmentJSON is a contact's enrichment as GET /v1/contacts/{id} shows it.
type enrichmentJSON struct {
	Status      string              `json:"status"`
	Reason      string              `json:"reason"`
	Domain      string              `json:"domain"`
	RequestedAt time.Time           `json:"requestedAt"`
	EnrichedAt  *time.Time          `json:"enrichedAt"`
	DueAt       *time.Time          `json:"dueAt"`
	Fields      []enrichedFieldJSON `json:"fields"`
}

type enrichedFieldJSON struct {
	Field      string    `json:"field"`
	Value      string    `json:"value"`
	Source     string    `json:"source"`
	Method     string    `json:"method"`
	Confidence float64   `json:"confidence"`
	At         time.Time `json:"at"`
	Applied    bool      `json:"applied"`
}

// A sign-up awaits enrichment at once; once enriched, GET shows each
// derived field with its provenance and whether the record shows it, and
// the company with what research found; POST .../enrich asks again.
func TestContactShowsItsEnrichmentAndAsksAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-ada", "traits": obj{
		"email": "ada@initech.de", "title": "VP Engineering", "department": "Platform"}}))
	id := b.contactByUser(t, "u-ada").ID

	c := b.getContact(t, id)
	require.NotNil(t, c.Enrichment)
	require.Equal(t, "pending", c.Enrichment.Status)
	require.NotNil(t, c.Enrichment.DueAt, "a new sign-up awaits enrichment")
	require.Empty(t, c.Enrichment.Fields)

	// The job, with research off: the company is linked by the work
	// domain and the title read. Then what research would have found
	// about the company, as the job records it.
	o, err := enrich.NewEnricher(enrich.EnricherConfig{Store: b.store, Clock: b.clock}).Enrich(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, o)
	found := b.clock.Now()
	req, err := b.store.RequestEnrichment(ctx, id, found)
	require.NoError(t, err)
	recorded, err := b.store.RecordEnrichment(ctx, &nurture.EnrichmentOutcome{ContactID: id, Revision: req.Revision,
		Status: nurture.EnrichmentOK, Domain: "initech.de", ContactFields: o.ContactFields, CompanyID: o.CompanyID, At: found,
		CompanyFields: []nurture.EnrichedField{
			{Field: "industry", Value: "Software", Source: "https://initech.de/", Method: "classifier:industry", Confidence: 0.8, At: found},
			{Field: "mail_provider", Value: "Google Workspace", Source: "initech.de. MX 1 aspmx.l.google.com.", Method: "mx", At: found},
		}})
	require.NoError(t, err)
	require.True(t, recorded)

	c = b.getContact(t, id)
	require.Equal(t, "VP", c.Profile["seniority"])
	require.Equal(t, "Platform", c.Profile["department"], "told by the product, not overwritten")
	require.Equal(t, "ok", c.Enrichment.Status)
	require.Nil(t, c.Enrichment.DueAt)
	require.Equal(t, []enrichedFieldJSON{
		{Field: "department", Value: "Engineering", Source: `title "VP Engineering"`, Method: "classifier:title", At: found, Applied: false},
		{Field: "seniority", Value: "VP", Source: `title "VP Engineering"`, Method: "classifier:title", At: found, Applied: true},
	}, c.Enrichment.Fields)
	require.NotNil(t, c.Company)
	require.Equal(t, "initech.de", c.Company.Domain)
	require.Equal(t, "Software", c.Company.Industry)
	require.Len(t, c.Company.Enriched, 2)
	require.Equal(t, "aspmx.l.google.com.", c.Company.Enriched[1].Source[len("initech.de. MX 1 "):])
	require.True(t, c.Company.Enriched[0].Applied)

	res := b.do(t, request{method: http.MethodPost, path: "/v1/contacts/user:u-ada/enrich", key: b.admin, bearer: true})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	var accepted struct {
		ContactID  int64          `json:"contactId"`
		Enrichment enrichmentJSON `json:"enrichment"`
	}
	require.NoError(t, json.Unmarshal(res.body, &accepted))
	require.Equal(t, id, accepted.ContactID)
	require.NotNil(t, accepted.Enrichment.DueAt, "due again")
	due, err := b.store.DueEnrichments(ctx, b.clock.Now(), b.clock.Now(), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
}

// Asking for the enrichment of no one, or of a contact without an
// address, is a clear error naming what is wrong.
func TestRequestEnrichmentRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u-anon", "event": "Signed Up"}))
	anon := b.contactByUser(t, "u-anon").ID
	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{fmt.Sprintf("/v1/contacts/%d/enrich", anon), http.StatusBadRequest, "email"},
		{"/v1/contacts/999999/enrich", http.StatusNotFound, ""},
		{"/v1/contacts/user:nobody/enrich", http.StatusNotFound, ""},
		{"/v1/contacts/-3/enrich", http.StatusBadRequest, "id"},
	} {
		res := b.do(t, request{method: http.MethodPost, path: tc.path, key: b.admin, bearer: true})
		requireError(t, res, tc.status, tc.field)
	}
	res := b.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/v1/contacts/%d/enrich", anon), key: b.ingest, bearer: true})
	require.Equal(t, http.StatusForbidden, res.status, "admin scope only")
}
