package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestExportAndEraseAContactByIDAndByEmail(t *testing.T) {
	t.Parallel()
	for name, by := range map[string]func(id int64, email string) string{
		"by id":    func(id int64, _ string) string { return fmt.Sprintf("/v1/contacts/%d", id) },
		"by email": func(_ int64, email string) string { return "/v1/contacts?email=" + strings.ToUpper(email) },
		"by user":  func(int64, string) string { return "/v1/contacts/user:u-ada" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			requireSuccess(t, b.post(t, "/v1/identify", map[string]any{"userId": "u-ada", "messageId": "m1",
				"traits": map[string]any{"email": "ada@example.com", "firstName": "Ada", "plan": "pro"}}))
			requireSuccess(t, b.post(t, "/v1/identify", map[string]any{"userId": "u-bob", "messageId": "m2",
				"traits": map[string]any{"email": "bob@example.com", "firstName": "Bob"}}))
			ada := b.contactByUser(t, "u-ada")
			path := by(ada.ID, "ada@example.com")
			exportPath := strings.Replace(path, "/v1/contacts", "/v1/contacts/export", 1)
			if !strings.Contains(path, "?") {
				exportPath = path + "/export"
			}

			res := b.do(t, request{method: http.MethodGet, path: exportPath, key: b.admin, bearer: true})
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(res.body, &doc))
			require.InDelta(t, float64(nurture.ExportVersion), doc["version"], 0)
			require.Equal(t, "ada@example.com", doc["contact"].(map[string]any)["email"])
			require.Equal(t, map[string]any{"plan": "pro"}, doc["traits"])
			require.Len(t, doc["events"], 1)
			require.NotContains(t, string(res.body), "bob@example.com")

			// An ingest key may do neither.
			res = b.do(t, request{method: http.MethodDelete, path: path, key: b.ingest, bearer: true})
			require.Equal(t, http.StatusForbidden, res.status)

			res = b.do(t, request{method: http.MethodDelete, path: path, key: b.admin, bearer: true})
			require.Equal(t, http.StatusNoContent, res.status, "body: %s", res.body)
			res = b.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/contacts/%d", ada.ID), key: b.admin, bearer: true})
			require.Equal(t, http.StatusNotFound, res.status)
			res = b.do(t, request{method: http.MethodGet, path: exportPath, key: b.admin, bearer: true})
			require.Equal(t, http.StatusNotFound, res.status)

			// Again: 404, and nothing changes.
			before := b.counts(t)
			res = b.do(t, request{method: http.MethodDelete, path: path, key: b.admin, bearer: true})
			requireError(t, res, http.StatusNotFound, "")
			require.Equal(t, before, b.counts(t))
			var audits int
			require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT count(*) FROM erasure_audit WHERE actor = 'api_key' AND api_key_id IS NOT NULL`).Scan(&audits))
			require.Equal(t, 1, audits)

			// Bob is untouched.
			bob := b.contactByUser(t, "u-bob")
			require.Equal(t, "Bob", bob.FirstName)
		})
	}
}

func TestEraseRefusesABadReference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, request{method: http.MethodDelete, path: "/v1/contacts?email=not-an-address", key: b.admin, bearer: true})
	requireError(t, res, http.StatusBadRequest, "email")
	res = b.do(t, request{method: http.MethodDelete, path: "/v1/contacts/-3", key: b.admin, bearer: true})
	requireError(t, res, http.StatusBadRequest, "id")
	res = b.do(t, request{method: http.MethodDelete, path: "/v1/contacts", key: b.admin, bearer: true})
	requireError(t, res, http.StatusBadRequest, "email")
}
