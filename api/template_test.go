package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/templates"
)

// TestPreviewAndViewShowTheLinkedCompany: the admin preview and the email
// in a browser render for the contact's company record, as the send path
// does: its industry, not the one the contact gave.
func TestPreviewAndViewShowTheLinkedCompany(t *testing.T) {
	t.Parallel()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	b := setup(t, func(c *api.Config) {
		c.Admin.Templates = tmpl
		c.Recipients.Templates = tmpl
	})
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-ada", "traits": obj{"email": "ada@initech.example", "industry": "Software"}}))
	requireSuccess(t, b.post(t, "/v1/group", obj{"userId": "u-ada", "groupId": "g-initech", "traits": obj{"name": "Initech", "industry": "Manufacturing"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-bob", "traits": obj{"email": "bob@example.com", "industry": "Retail"}}))
	for user, want := range map[string]string{"u-ada": "Teams in Manufacturing like yours", "u-bob": "Teams in Retail like yours"} {
		id := b.contactByUser(t, user).ID
		w := b.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/templates/feature-integrations/preview?contact_id=%d", id), key: b.admin, bearer: true})
		require.Equal(t, http.StatusOK, w.status, string(w.body))
		var preview struct{ HTML string }
		require.NoError(t, json.Unmarshal(w.body, &preview))
		require.Contains(t, preview.HTML, want, "preview for %s", user)

		m, _, err := b.store.CreateMessage(context.Background(), nurture.Message{DedupeKey: "k:" + user, ContactID: id, Template: "feature-integrations", SendAt: b.clock.Now()})
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		b.api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v/"+b.signer.Sign(nurture.Token{Purpose: nurture.PurposeView, MessageID: m.ID, ContactID: id}), nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Body.String(), want, "view in browser for %s", user)
	}
}
