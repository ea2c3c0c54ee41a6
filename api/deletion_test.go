package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// "Delete my data" on the preference page: a GET shows the confirmation in
// the person's language and erases nothing; only the page's own POST
// erases, and the link then names no one.
func TestPreferencePageDeletesOnlyOnTheConfirmedPost(t *testing.T) {
	t.Parallel()
	for lang, words := range map[string][2]string{
		"en": {"Delete my data for good", "Your data is deleted."},
		"fr": {"Supprimer définitivement mes données", "Vos données sont supprimées."},
		"de": {"Meine Daten endgültig löschen", "Ihre Daten sind gelöscht."},
		"es": {"Borrar mis datos definitivamente", "Tus datos están borrados."},
	} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			r := setupRecipient(t)
			ctx := context.Background()
			_, err := r.pool.Exec(ctx, `UPDATE contacts SET locale = $2 WHERE id = $1`, r.contact, lang)
			require.NoError(t, err)
			tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})

			w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
			require.Contains(t, w.Body.String(), `href="/u/`+tok+`/erase"`, "the preference page links to it")

			w = r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok+"/erase", nil))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			page := w.Body.String()
			require.Contains(t, page, `lang="`+lang+`"`)
			require.Contains(t, page, words[0])
			require.Contains(t, page, "reader@example.com")
			_, err = r.store.Contact(ctx, r.contact)
			require.NoError(t, err, "a GET erases nothing")
			m := formField.FindStringSubmatch(page)
			require.Len(t, m, 2)

			post := func(form url.Values, headers map[string]string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, "/u/"+tok+"/erase", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				return r.serve(req)
			}
			// Without the page's form token, or from another site: nothing.
			w = post(url.Values{}, nil)
			require.Equal(t, http.StatusForbidden, w.Code)
			w = post(url.Values{"form": {m[1]}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
			require.Equal(t, http.StatusForbidden, w.Code)
			_, err = r.store.Contact(ctx, r.contact)
			require.NoError(t, err, "a refused post erases nothing")

			w = post(url.Values{"form": {m[1]}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), words[1])
			_, err = r.store.Contact(ctx, r.contact)
			require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
			var by string
			require.NoError(t, r.pool.QueryRow(ctx, `SELECT actor FROM erasure_audit WHERE contact_id = $1`, r.contact).Scan(&by))
			require.Equal(t, "person", by)

			// The link now names no one.
			w = r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok+"/erase", nil))
			require.NotEqual(t, http.StatusOK, w.Code)
		})
	}
}
