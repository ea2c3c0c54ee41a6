package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

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

// Double opt-in: the operator's request records nothing but an email to
// the person (one per hour and topic); its link's page changes nothing
// until the person presses its button, which records the opt-in with
// their address. An old link, or a confirmation token of another email,
// records nothing.
func TestDoubleOptIn(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	ask := func() (int64, bool) {
		t.Helper()
		res := r.postConsent(t, fmt.Sprint(r.contact), obj{"topic": "marketing", "confirm": true})
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		var out struct {
			Confirmation struct {
				MessageID int64 `json:"messageId"`
				Created   bool  `json:"created"`
			} `json:"confirmation"`
		}
		require.NoError(t, json.Unmarshal(res.body, &out))
		return out.Confirmation.MessageID, out.Confirmation.Created
	}
	id, created := ask()
	require.True(t, created)
	again, created := ask()
	require.False(t, created, "one email an hour")
	require.Equal(t, id, again)
	m, err := r.store.Message(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, nurture.ConfirmTemplate, m.Template)
	require.Empty(t, r.consents(t, r.contact).History, "nothing recorded before the person confirms")
	requireError(t, r.postConsent(t, fmt.Sprint(r.contact), obj{"topic": "marketing", "confirm": true, "granted": false}), http.StatusBadRequest, "granted")

	sign := func(msg int64, at time.Time) string {
		return r.signer.Sign(nurture.Token{Purpose: nurture.PurposeConfirm, MessageID: msg, ContactID: r.contact, IssuedAt: at})
	}
	require.Equal(t, http.StatusNotFound, r.serve(httptest.NewRequest(http.MethodGet, "/k/"+sign(r.message, received), nil)).Code,
		"the welcome email confirms nothing")
	old := sign(id, received.Add(-nurture.MaxConfirmAge-time.Hour))
	w := r.serve(httptest.NewRequest(http.MethodGet, "/k/"+old, nil))
	require.Contains(t, w.Body.String(), "This link has expired")

	tok := sign(id, received)
	w = r.serve(httptest.NewRequest(http.MethodGet, "/k/"+tok, nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	form := formField.FindStringSubmatch(w.Body.String())
	require.NotNil(t, form, w.Body.String())
	require.Empty(t, r.consents(t, r.contact).History, "a GET changes nothing")

	w = r.postFormTo("/k/", tok, url.Values{"form": {"forged"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	w = r.postFormTo("/k/", old, url.Values{"form": {form[1]}}, nil)
	require.Equal(t, http.StatusGone, w.Code)
	require.Empty(t, r.consents(t, r.contact).History)

	w = r.postFormTo("/k/", tok, url.Values{"form": {form[1]}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "your subscription is confirmed")
	cs := r.consents(t, r.contact)
	require.Equal(t, "opted_in", cs.Current["marketing"].State)
	require.Len(t, cs.History, 1)
	require.Equal(t, "double_opt_in", cs.History[0].Source)
	require.Equal(t, "192.0.2.1", cs.History[0].IP)
}
