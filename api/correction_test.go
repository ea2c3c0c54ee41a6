package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// patchContact sends a correction with the admin key.
func (b *bundle) patchContact(t testing.TB, ref string, body any) response {
	t.Helper()
	return b.do(t, request{method: http.MethodPatch, path: "/v1/contacts/" + ref, body: body, key: b.admin, bearer: true})
}

// A correction takes the spellings of identify calls, answers the contact
// as GET shows it, and what it names is the person's word: a later
// identify call does not overwrite it, while the fields it did not name
// still follow the product.
func TestCorrectionIsKeptFromLaterIdentifyCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{
		"email": "ada@example.com", "firstName": "Ade", "lastName": "Lovelace", "title": "Engineer", "phone": "+44 1", "plan": "free", "nick": "al"}}))
	ada := b.contactByUser(t, "u1")

	for _, spelling := range []string{"firstName", "first_name"} {
		res := b.patchContact(t, "user:u1", obj{spelling: "Ada", "phone": nil, "plan": "pro", "nick": nil, "company": obj{"name": "Analytical Engines", "industry": "Computing"}})
		require.Equal(t, http.StatusOK, res.status, "%s: %s", spelling, res.body)
		var got contactJSON
		require.NoError(t, json.Unmarshal(res.body, &got))
		require.Equal(t, ada.ID, got.ID)
		require.Equal(t, "Ada", got.Profile["firstName"], spelling)
		require.NotContains(t, got.Profile, "phone", "null removes a field")
		require.Equal(t, "Analytical Engines", got.Profile["company"])
		require.Equal(t, "Computing", got.Profile["industry"])
		require.Equal(t, "pro", got.Attributes["plan"])
		require.NotContains(t, got.Attributes, "nick", "null removes a custom trait")
		require.Equal(t, b.getContact(t, ada.ID), got, "the answer is GET's")
	}

	// The product's next identify call says the old values again, and
	// something new: the corrected fields stay, the others change.
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": ts(received.Add(1e9)), "traits": obj{
		"firstName": "Ade", "phone": "+44 2", "plan": "free", "nick": "al2", "industry": "Textiles", "lastName": "King", "title": "Countess"}}))
	got := b.getContact(t, ada.ID)
	require.Equal(t, "Ada", got.Profile["firstName"])
	require.NotContains(t, got.Profile, "phone")
	require.Equal(t, "Computing", got.Profile["industry"])
	require.Equal(t, "pro", got.Attributes["plan"])
	require.NotContains(t, got.Attributes, "nick")
	require.Equal(t, "King", got.Profile["lastName"], "a field the person did not correct follows the product")
	require.Equal(t, "Countess", got.Profile["title"])

	// The person may correct again; "name" sets both parts.
	res := b.patchContact(t, fmt.Sprint(ada.ID), obj{"name": "Augusta Ada"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	got = b.getContact(t, ada.ID)
	require.Equal(t, "Augusta", got.Profile["firstName"])
	require.Equal(t, "Ada", got.Profile["lastName"])
}

// A corrected address is checked like an identify call's, may not belong
// to another contact, and the change is kept as ingestion keeps it.
func TestCorrectionOfTheAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{"email": "ada@example.com"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u2", "traits": obj{"email": "bob@example.com"}}))
	ada := b.contactByUser(t, "u1")
	before := b.counts(t)

	requireError(t, b.patchContact(t, "user:u1", obj{"email": "BOB@example.com"}), http.StatusConflict, "email")
	requireError(t, b.patchContact(t, "user:u1", obj{"email": nil}), http.StatusBadRequest, "email")
	require.Equal(t, before, b.counts(t))

	res := b.patchContact(t, "user:u1", obj{"email": "ada@NEW.example.com"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "ada@new.example.com", b.getContact(t, ada.ID).Email)
	require.Equal(t, before.EmailChanges+1, b.counts(t).EmailChanges)

	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": ts(received.Add(1e9)), "traits": obj{"email": "ada@other.example.com"}}))
	require.Equal(t, "ada@new.example.com", b.getContact(t, ada.ID).Email, "the person's address stands")
}

// Bad input is refused with the field named as the caller spelled it,
// and nothing is stored.
func TestCorrectionRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{"email": "ada@example.com", "firstName": "Ada"}}))
	ada := b.contactByUser(t, "u1")
	var before string
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT row_to_json(c)::text FROM contacts c WHERE id = $1`, ada.ID).Scan(&before))

	long := make([]byte, 101)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"a line break", obj{"firstName": "Ada\nBcc: x"}, http.StatusBadRequest, "firstName"},
		{"too long", obj{"first_name": string(long)}, http.StatusBadRequest, "first_name"},
		{"an address that is none", obj{"email": "not an address"}, http.StatusBadRequest, "email"},
		{"a zone that is none", obj{"timezone": "Mars/Olympus"}, http.StatusBadRequest, "timezone"},
		{"a team size that is none", obj{"teamSize": "many"}, http.StatusBadRequest, "teamSize"},
		{"a name that is not text", obj{"lastName": obj{"a": 1}}, http.StatusBadRequest, "lastName"},
		{"the user id", obj{"userId": "u9"}, http.StatusBadRequest, "userId"},
		{"nothing", obj{}, http.StatusBadRequest, "body"},
		{"not an object", []any{1}, http.StatusBadRequest, "body"},
		{"a NUL", obj{"notes": "a\x00b"}, http.StatusBadRequest, "notes"},
	} {
		requireError(t, b.patchContact(t, "user:u1", tc.body), tc.status, tc.field)
		var after string
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT row_to_json(c)::text FROM contacts c WHERE id = $1`, ada.ID).Scan(&after))
		require.Equal(t, before, after, "%s: nothing stored", tc.name)
	}
	requireError(t, b.patchContact(t, "user:nobody", obj{"firstName": "X"}), http.StatusNotFound, "")
}
