package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// consentsJSON is what /v1/contacts/{id}/consents answers.
type consentsJSON struct {
	Current map[string]struct {
		State  string `json:"state"`
		Source string `json:"source"`
	} `json:"current"`
	History []struct {
		Topic   string `json:"topic"`
		Granted bool   `json:"granted"`
		Source  string `json:"source"`
		IP      string `json:"ip"`
	} `json:"history"`
}

func (b *bundle) consents(t testing.TB, id int64) consentsJSON {
	t.Helper()
	res := b.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/contacts/%d/consents", id), key: b.admin, bearer: true})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var cs consentsJSON
	require.NoError(t, json.Unmarshal(res.body, &cs))
	return cs
}

func (b *bundle) postConsent(t testing.TB, ref string, body any) response {
	t.Helper()
	return b.do(t, request{path: "/v1/contacts/" + ref + "/consents", body: body, key: b.admin, bearer: true})
}

// An operator records opt-ins and opt-outs, with their source and the
// person's address when they know it; an opt-out shows in the contact's
// subscriptions; bad input names its field and records nothing.
func TestAdminRecordsConsents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{"email": "ada@example.com"}}))
	ada := b.contactByUser(t, "u1")

	res := b.postConsent(t, "user:u1", obj{"topic": "marketing", "granted": true, "source": "import", "ip": "192.0.2.9"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res = b.postConsent(t, fmt.Sprint(ada.ID), obj{"topic": "product", "granted": false})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var cs consentsJSON
	require.NoError(t, json.Unmarshal(res.body, &cs))
	require.Equal(t, cs, b.consents(t, ada.ID))
	require.Equal(t, "opted_in", cs.Current["marketing"].State)
	require.Equal(t, "import", cs.Current["marketing"].Source)
	require.Equal(t, "opted_out", cs.Current["product"].State)
	require.Equal(t, "default", cs.Current["onboarding"].State)
	require.Len(t, cs.History, 2)
	require.Equal(t, "192.0.2.9", cs.History[0].IP)
	require.Equal(t, "api", cs.History[1].Source)
	require.False(t, b.getContact(t, ada.ID).Subscriptions["product"].Subscribed)

	for _, tc := range []struct {
		body  any
		field string
	}{
		{obj{"granted": true}, "topic"},
		{obj{"topic": "transactional", "granted": false}, "topic"},
		{obj{"topic": "news", "granted": false}, "topic"},
		{obj{"topic": "marketing"}, "granted"},
		{obj{"topic": "marketing", "granted": "yes"}, "granted"},
		{obj{"topic": "marketing", "granted": true, "source": "one_click"}, "source"},
		{obj{"topic": "marketing", "granted": true, "ip": "somewhere"}, "ip"},
		{obj{"topic": "marketing", "granted": true, "when": "now"}, "when"},
	} {
		requireError(t, b.postConsent(t, "user:u1", tc.body), http.StatusBadRequest, tc.field)
	}
	require.Len(t, b.consents(t, ada.ID).History, 2, "nothing recorded")
	requireError(t, b.postConsent(t, "user:nobody", obj{"topic": "marketing", "granted": true}), http.StatusNotFound, "")
}

// The person's own choices are recorded with how they made them and the
// address they made them from: one-click, and the preference page, where
// ticking a topic that was off is an opt-in.
func TestRecipientChoicesAreConsentRecords(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})

	w := r.postForm(tok, url.Values{"List-Unsubscribe": {"One-Click"}}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	formToken := r.page(t, tok)
	w = r.postForm(tok, url.Values{"form": {formToken}, "topic": {"onboarding", "education", "product"}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	cs := r.consents(t, r.contact)
	type rec struct {
		Topic, Source string
		Granted       bool
	}
	var got []rec
	for _, h := range cs.History {
		require.Equal(t, "192.0.2.1", h.IP, "httptest's client")
		got = append(got, rec{h.Topic, h.Source, h.Granted})
	}
	require.Equal(t, []rec{
		{"onboarding", "one_click", false}, // the welcome email's topic
		{"marketing", "preference_page", false},
		{"onboarding", "preference_page", true},
	}, got)
}

// With an opt-in required for marketing, the page shows it off until the
// person opts in, and ticking it there is the opt-in.
func TestPreferencePageOptsInToATopicThatRequiresIt(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t, func(c *api.Config) { c.Recipients.RequireOptIn = []nurture.Topic{nurture.TopicMarketing} })
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	marketing := regexp.MustCompile(`value="marketing"( checked)?>`)
	shown := func() bool {
		w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
		m := marketing.FindStringSubmatch(w.Body.String())
		require.NotNil(t, m, w.Body.String())
		return m[1] != ""
	}
	require.False(t, shown(), "off until the person opts in")
	formToken := r.page(t, tok)
	w := r.postForm(tok, url.Values{"form": {formToken}, "topic": {"onboarding", "education", "product", "marketing"}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.True(t, shown())
	cs := r.consents(t, r.contact)
	require.Equal(t, "opted_in", cs.Current["marketing"].State)
	require.Equal(t, "preference_page", cs.Current["marketing"].Source)
	require.Len(t, cs.History, 1, "the other topics were on already")
}
