package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// companyJSON is GET /v1/companies/{id}.
type companyJSON struct {
	ID       int64          `json:"id"`
	GroupID  string         `json:"groupId"`
	Domain   string         `json:"domain"`
	Name     string         `json:"name"`
	Industry string         `json:"industry"`
	Size     string         `json:"size"`
	Country  string         `json:"country"`
	Traits   map[string]any `json:"traits"`
	Contacts []struct {
		ID     int64  `json:"id"`
		UserID string `json:"userId"`
		Email  string `json:"email"`
		Name   string `json:"name"`
	} `json:"contacts"`
	ContactCount int `json:"contactCount"`
}

func (b *bundle) getCompany(t *testing.T, id int64) companyJSON {
	t.Helper()
	res := b.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/companies/%d", id), key: b.admin})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var co companyJSON
	require.NoError(t, json.Unmarshal(res.body, &co))
	return co
}

// companyOf reads, through the API, the company of the contact of userID.
func (b *bundle) companyOf(t *testing.T, userID string) companyJSON {
	t.Helper()
	c := b.getContact(t, b.contactByUser(t, userID).ID)
	require.NotNil(t, c.Company, "contact %s has no company", userID)
	return b.getCompany(t, c.Company.ID)
}

// A group call creates the company from Segment's reserved traits, keeps
// the others, and links the caller; a second call merges its traits, newer
// wins, and links a second member.
func TestGroupCreatesUpdatesAndLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := received.Add(-time.Hour)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-ada", "traits": obj{"email": "ada@initech.example", "name": "Ada Lovelace"}}))
	requireSuccess(t, b.post(t, "/v1/group", obj{
		"userId": "u-ada", "groupId": "g-initech", "messageId": "g-1", "timestamp": ts(at),
		"context": obj{"ip": "203.0.113.7"},
		"traits": obj{"name": "Initech", "industry": "Software", "employees": 42,
			"website": "https://www.Initech.example/about", "plan": "trial",
			"address": obj{"city": "Austin", "country": "US"}},
	}))
	co := b.companyOf(t, "u-ada")
	require.Equal(t, "g-initech", co.GroupID)
	require.Equal(t, "Initech", co.Name)
	require.Equal(t, "Software", co.Industry)
	require.Equal(t, "42", co.Size)
	require.Equal(t, "initech.example", co.Domain)
	require.Equal(t, "US", co.Country)
	require.Equal(t, map[string]any{"plan": "trial", "address": map[string]any{"city": "Austin", "country": "US"}}, co.Traits)
	require.Equal(t, 1, co.ContactCount)
	require.Len(t, co.Contacts, 1)
	require.Equal(t, "ada@initech.example", co.Contacts[0].Email)
	require.Equal(t, "Ada Lovelace", co.Contacts[0].Name)

	// Bob's call is newer: the plan changes, the rest stays. A late call
	// older than the first does not take the name back.
	requireSuccess(t, b.post(t, "/v1/group", obj{
		"userId": "u-bob", "groupId": "g-initech", "messageId": "g-2", "timestamp": ts(at.Add(time.Minute)),
		"traits": obj{"plan": "enterprise", "seats": 12},
	}))
	requireSuccess(t, b.post(t, "/v1/group", obj{
		"userId": "u-bob", "groupId": "g-initech", "messageId": "g-3", "timestamp": ts(at.Add(-time.Minute)),
		"traits": obj{"name": "Initrode", "plan": "free"},
	}))
	again := b.getCompany(t, co.ID)
	require.Equal(t, "Initech", again.Name)
	require.Equal(t, "enterprise", again.Traits["plan"])
	require.EqualValues(t, 12, again.Traits["seats"])
	require.Equal(t, 2, again.ContactCount)
	require.Equal(t, []string{"u-ada", "u-bob"}, []string{again.Contacts[0].UserID, again.Contacts[1].UserID})

	// The contact shows its company.
	ada := b.getContact(t, b.contactByUser(t, "u-ada").ID)
	require.Equal(t, &contactCompanyJSON{ID: co.ID, GroupID: "g-initech", Name: "Initech", Domain: "initech.example",
		Industry: "Software", Size: "42", Country: "US", Enriched: []enrichedFieldJSON{}}, ada.Company)

	// A replayed messageId changes nothing, as for other calls.
	requireSuccess(t, b.post(t, "/v1/group", obj{"userId": "u-ada", "groupId": "g-other", "messageId": "g-1"}))
	require.Equal(t, co.ID, b.getContact(t, b.contactByUser(t, "u-ada").ID).Company.ID)
	var companies int
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT count(*) FROM companies`).Scan(&companies))
	require.Equal(t, 1, companies)
}

// A batch mixes group calls with the others; a user's group call before
// their identify creates them, and the identify then fills their profile;
// an anonymous visitor's group call links them once they are identified.
func TestGroupInBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "group", "userId": "u-1", "groupId": "acme", "traits": obj{"name": "Acme", "website": "acme.example"}},
		{"type": "identify", "userId": "u-1", "traits": obj{"email": "one@acme.example"}},
		{"type": "group", "anonymousId": "anon-2", "groupId": "umbrella", "traits": obj{"name": "Umbrella"}},
		{"type": "track", "userId": "u-1", "event": "Report Created"},
	}}))
	require.Equal(t, counts{Contacts: 1, Events: 4, Engagement: 1}, b.counts(t))
	acme := b.companyOf(t, "u-1")
	require.Equal(t, "Acme", acme.Name)
	require.Equal(t, "acme.example", acme.Domain)
	require.Equal(t, "one@acme.example", acme.Contacts[0].Email)

	// The anonymous visitor signs up in a later batch: the stored group
	// call links them to Umbrella.
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "identify", "userId": "u-2", "anonymousId": "anon-2", "traits": obj{"email": "two@umbrella.example"}},
	}}))
	require.Equal(t, "Umbrella", b.companyOf(t, "u-2").Name)

	// The same within one batch: the group call comes first, anonymous.
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "group", "anonymousId": "anon-3", "groupId": "umbrella"},
		{"type": "identify", "userId": "u-3", "anonymousId": "anon-3"},
	}}))
	require.Equal(t, "Umbrella", b.companyOf(t, "u-3").Name)

	// A user's latest group call moves them.
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "group", "userId": "u-1", "groupId": "umbrella"},
	}}))
	umbrella := b.companyOf(t, "u-1")
	require.Equal(t, "Umbrella", umbrella.Name)
	require.Equal(t, 3, umbrella.ContactCount)
	require.Equal(t, 0, b.getCompany(t, acme.ID).ContactCount)
}

// A domain another company holds is not taken: the call is stored, with a
// warning naming the trait.
func TestGroupDomainOfAnotherCompany(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/group", obj{"userId": "u-1", "groupId": "a", "traits": obj{"website": "https://shared.example"}}))
	res := b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "group", "userId": "u-2", "groupId": "b", "traits": obj{"name": "B", "website": "shared.example"}},
	}})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, `{"success": true, "warnings": [{"field": "batch[0].traits.website",
		"message": "the domain belongs to another company; it was not changed"}]}`, string(res.body))
	co := b.companyOf(t, "u-2")
	require.Equal(t, "B", co.Name)
	require.Empty(t, co.Domain)
	// A domain given up in a batch may go to a new company in the same batch.
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "group", "userId": "u-1", "groupId": "a", "traits": obj{"website": "moved.example"}},
		{"type": "group", "userId": "u-3", "groupId": "c", "traits": obj{"website": "shared.example"}},
	}}))
	require.Equal(t, "moved.example", b.companyOf(t, "u-1").Domain)
	require.Equal(t, "shared.example", b.companyOf(t, "u-3").Domain)
}

// Bad group calls are refused with a 400 naming the field, alone or in a
// batch, and nothing of the batch is stored.
func TestGroupBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name  string
		body  obj
		field string
	}{
		{"no group id", obj{"userId": "u"}, "groupId"},
		{"empty group id", obj{"userId": "u", "groupId": " "}, "groupId"},
		{"group id an object", obj{"userId": "u", "groupId": obj{}}, "groupId"},
		{"no user", obj{"groupId": "g"}, "userId"},
		{"traits not an object", obj{"userId": "u", "groupId": "g", "traits": "Initech"}, "traits"},
		{"name on two lines", obj{"userId": "u", "groupId": "g", "traits": obj{"name": "A\nB"}}, "traits.name"},
		{"bad head count", obj{"userId": "u", "groupId": "g", "traits": obj{"employees": "lots"}}, "traits.employees"},
		{"bad website", obj{"userId": "u", "groupId": "g", "traits": obj{"website": "not a site"}}, "traits.website"},
		{"bad address country", obj{"userId": "u", "groupId": "g", "traits": obj{"address": obj{"country": obj{}}}}, "traits.address.country"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, b.post(t, "/v1/group", tt.body), http.StatusBadRequest, tt.field)
			item := obj{"type": "group"}
			for k, v := range tt.body {
				item[k] = v
			}
			requireError(t, b.post(t, "/v1/batch", obj{"batch": []obj{
				{"type": "identify", "userId": "fine"}, item,
			}}), http.StatusBadRequest, "batch[1]."+tt.field)
		})
	}
	require.Equal(t, counts{}, b.counts(t))
}

// Card numbers in traits are masked before they are kept, as identify's.
func TestGroupTraitsMaskCards(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/group", obj{"userId": "u", "groupId": "g",
		"traits": obj{"billing": "card 4111 1111 1111 1111"}}))
	co := b.companyOf(t, "u")
	require.NotContains(t, co.Traits["billing"], "4111 1111 1111 1111")
}

// The companies endpoint wants an admin key and a company's id, and names
// what it did not find.
func TestGetCompanyErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireError(t, b.do(t, request{method: http.MethodGet, path: "/v1/companies/1", key: b.ingest}), http.StatusForbidden, "")
	requireError(t, b.do(t, request{method: http.MethodGet, path: "/v1/companies/x", key: b.admin}), http.StatusBadRequest, "id")
	requireError(t, b.do(t, request{method: http.MethodGet, path: "/v1/companies/-1", key: b.admin}), http.StatusBadRequest, "id")
	e := requireError(t, b.do(t, request{method: http.MethodGet, path: "/v1/companies/99", key: b.admin}), http.StatusNotFound, "")
	require.Equal(t, "no company has this id", e.Error.Message)
	// A contact without a company shows none.
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u"}))
	require.Nil(t, b.getContact(t, b.contactByUser(t, "u").ID).Company)
}

// The company lists at most 100 contacts and counts them all.
func TestGetCompanyCapsContacts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	batch := make([]obj, 101)
	for i := range batch {
		batch[i] = obj{"type": "group", "userId": fmt.Sprintf("u-%03d", i), "groupId": "big"}
	}
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": batch}))
	co := b.companyOf(t, "u-000")
	require.Equal(t, 101, co.ContactCount)
	require.Len(t, co.Contacts, 100)
	require.Equal(t, "u-099", co.Contacts[99].UserID)
}
