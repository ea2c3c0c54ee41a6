package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
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

type recipientBundle struct {
	*bundle
	signer  *nurture.Signer
	contact int64
	message int64
}

func setupRecipient(t *testing.T) *recipientBundle {
	t.Helper()
	signer, err := nurture.NewSigner(strings.Repeat("r", 32))
	require.NoError(t, err)
	b := setup(t, func(c *api.Config) {
		c.Signer = signer
		c.Recipients = c.Store.(api.RecipientStore) // the postgres store
		c.Hits = c.Store.(api.HitStore)
		c.HitWait = time.Second
		c.TemplateNames = []string{"welcome"}
		c.TemplateTopic = func(string) (nurture.Topic, bool) { return nurture.TopicOnboarding, true }
	})
	t.Cleanup(b.api.Close)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "reader@example.com"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	return &recipientBundle{bundle: b, signer: signer, contact: c.ID, message: m.ID}
}

func (r *recipientBundle) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.api.ServeHTTP(w, req)
	return w
}

func (r *recipientBundle) hits(t *testing.T) int {
	var n int
	require.NoError(t, r.pool.QueryRow(context.Background(), `SELECT count(*) FROM email_events`).Scan(&n))
	return n
}

func (r *recipientBundle) optOuts(t *testing.T) []string {
	rows, err := r.pool.Query(context.Background(), `SELECT topic FROM topic_optouts WHERE contact_id = $1 ORDER BY topic`, r.contact)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func TestBadTokensRecordNothing(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	other, _ := nurture.NewSigner(strings.Repeat("x", 32))
	valid := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: r.message, ContactID: r.contact, URL: "https://acme.example/"})
	for name, tok := range map[string]string{
		"tampered":            valid[:len(valid)-2] + "AA",
		"truncated":           valid[:20],
		"foreign key":         other.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: r.message, ContactID: r.contact, URL: "https://acme.example/"}),
		"open token as click": r.signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: r.message, ContactID: r.contact}),
	} {
		w := r.serve(httptest.NewRequest(http.MethodGet, "/c/"+tok, nil))
		require.Equal(t, http.StatusNotFound, w.Code, name)
		require.Empty(t, w.Header().Get("Location"), name)
		w = r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
		require.Equal(t, http.StatusNotFound, w.Code, name)
	}
	require.Zero(t, r.hits(t))

	// A valid click token leads where it says, whatever is appended.
	w := r.serve(httptest.NewRequest(http.MethodGet, "/c/"+valid+"?url=https://evil.example&redirect=https://evil.example", nil))
	require.Equal(t, http.StatusFound, w.Code)
	require.Equal(t, "https://acme.example/", w.Header().Get("Location"))
	require.Equal(t, 1, r.hits(t))
}

func TestOneClickUnsubscribeInBothEncodings(t *testing.T) {
	t.Parallel()
	for _, encoding := range []string{"urlencoded", "multipart"} {
		t.Run(encoding, func(t *testing.T) {
			t.Parallel()
			r := setupRecipient(t)
			tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})

			// GET shows the page and changes nothing (scanners follow links).
			w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
			require.Equal(t, http.StatusOK, w.Code)
			require.Contains(t, w.Body.String(), "reader@example.com")
			require.Empty(t, r.optOuts(t))

			var req *http.Request
			if encoding == "urlencoded" {
				req = httptest.NewRequest(http.MethodPost, "/u/"+tok, strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				require.NoError(t, mw.WriteField("List-Unsubscribe", "One-Click"))
				require.NoError(t, mw.Close())
				req = httptest.NewRequest(http.MethodPost, "/u/"+tok, &body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
			}
			w = r.serve(req) // no cookie, no redirect
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Empty(t, w.Header().Get("Location"))
			require.Equal(t, []string{"onboarding"}, r.optOuts(t), "the message's topic, committed before the answer")

			m, err := r.store.Message(context.Background(), r.message)
			require.NoError(t, err)
			require.Equal(t, nurture.StatusSkipped, m.Status, "queued mail of the topic is cancelled")
		})
	}
}

func TestPreferenceFormSavesTopics(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	post := func(form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/u/"+tok, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r.serve(req)
	}
	w := post(url.Values{"topic": {"onboarding", "education", "product"}})
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "Your choices are saved.")
	require.Equal(t, []string{"marketing"}, r.optOuts(t))

	post(url.Values{"all": {"1"}})
	require.Equal(t, []string{"education", "marketing", "onboarding", "product"}, r.optOuts(t))

	post(url.Values{"topic": {"onboarding", "education", "product", "marketing"}})
	require.Empty(t, r.optOuts(t), "a person can come back")

	req := httptest.NewRequest(http.MethodPost, "/u/"+tok, strings.NewReader(`{"all":1}`))
	req.Header.Set("Content-Type", "application/json")
	w = r.serve(req)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "Content-Type")
}
