package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// exportEmails counts the contact's export emails.
func (r *recipientBundle) exportEmails(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, r.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE contact_id = $1 AND template = $2`,
		r.contact, nurture.ExportTemplate).Scan(&n))
	return n
}

// postPage posts the form of a page to path, with the given headers.
func (r *recipientBundle) postPage(path string, form url.Values, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return r.serve(req)
}

// "Email me a copy of my data" on the preference page: a GET shows the
// confirmation in the person's language and queues nothing; only the
// page's own POST queues the export email to the link's mailbox; a second
// request within the hour gets a page saying when the next is possible
// (429), and an hour later a request goes through again.
func TestPreferencePageEmailsACopyOncePerHour(t *testing.T) {
	t.Parallel()
	for lang, words := range map[string][4]string{
		"en": {"email me a copy of my data", "Send me my data", "a copy of your data is on its way", "You can ask for another in 60 minutes."},
		"fr": {"m&#39;envoyer une copie de mes données", "M&#39;envoyer mes données", "une copie de vos données est en route", "Vous pourrez en demander une autre dans 60 minutes."},
		"de": {"Kopie meiner Daten senden", "Meine Daten senden", "Eine Kopie Ihrer Daten ist auf dem Weg", "Sie können in 60 Minuten eine weitere anfordern."},
		"es": {"enviarme una copia de mis datos", "Enviarme mis datos", "una copia de tus datos va de camino", "Podrás pedir otra dentro de 60 minutos."},
	} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			r := setupRecipient(t)
			ctx := context.Background()
			_, err := r.pool.Exec(ctx, `UPDATE contacts SET locale = $2 WHERE id = $1`, r.contact, lang)
			require.NoError(t, err)
			tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
			path := "/u/" + tok + "/export"

			w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
			require.Contains(t, w.Body.String(), `<a href="`+path+`">`+words[0]+`</a>`, "the preference page links to it")

			confirm := func() string {
				t.Helper()
				w := r.serve(httptest.NewRequest(http.MethodGet, path, nil))
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				page := w.Body.String()
				require.Contains(t, page, `lang="`+lang+`"`)
				require.Contains(t, page, words[1])
				require.Contains(t, page, "reader@example.com")
				m := formField.FindStringSubmatch(page)
				require.Len(t, m, 2)
				return m[1]
			}
			form := confirm()
			require.Zero(t, r.exportEmails(t), "a GET queues nothing")

			// Without the page's form token, or from another site: nothing.
			w = r.postPage(path, url.Values{}, nil)
			require.Equal(t, http.StatusForbidden, w.Code)
			w = r.postPage(path, url.Values{"form": {form}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
			require.Equal(t, http.StatusForbidden, w.Code)
			w = r.postPage("/u/"+r.signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: r.message, ContactID: r.contact})+"/export",
				url.Values{"form": {form}}, nil)
			require.Equal(t, http.StatusNotFound, w.Code, "a link of another purpose proves nothing")
			require.Zero(t, r.exportEmails(t), "a refused post queues nothing")
			require.Empty(t, r.sends.queued())

			w = r.postPage(path, url.Values{"form": {form}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), words[2])
			require.Equal(t, 1, r.exportEmails(t))
			queued := r.sends.queued()
			require.Len(t, queued, 1)
			m, err := r.store.Message(ctx, queued[0])
			require.NoError(t, err)
			require.Equal(t, r.contact, m.ContactID, "to the link's mailbox")
			require.Equal(t, nurture.ExportTemplate, m.Template)
			require.True(t, nurture.IsExportRequest(m.DedupeKey))

			// Within the hour: a polite page, 429, nothing queued.
			r.clock.Advance(30 * time.Second)
			w = r.postPage(path, url.Values{"form": {confirm()}}, nil)
			require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), words[3])
			require.Equal(t, "3570", w.Header().Get("Retry-After"))
			require.Equal(t, 1, r.exportEmails(t))
			require.Len(t, r.sends.queued(), 1)

			// An hour after the first: another.
			r.clock.Advance(time.Hour)
			w = r.postPage(path, url.Values{"form": {confirm()}}, nil)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, 2, r.exportEmails(t))
			require.Len(t, r.sends.queued(), 2)

			// An erased person's link names no one.
			require.NoError(t, r.store.EraseContact(ctx, r.contact, nurture.ErasedBy{}))
			w = r.serve(httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, http.StatusNotFound, w.Code)
			w = r.postPage(path, url.Values{"form": {form}}, nil)
			require.Equal(t, http.StatusNotFound, w.Code)
		})
	}
}

// Without an exporter the page neither links to nor serves the export.
func TestPreferencePageWithoutExport(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t, func(c *api.Config) { c.Recipients.Exporter = nil })
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.NotContains(t, w.Body.String(), "/export")
	require.Contains(t, w.Body.String(), "/erase")
	w = r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok+"/export", nil))
	require.Equal(t, http.StatusNotFound, w.Code)
}
