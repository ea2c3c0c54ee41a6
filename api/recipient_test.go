package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/templates"
)

type recipientBundle struct {
	*bundle
	signer  *nurture.Signer
	contact int64
	message int64
}

func setupRecipient(t *testing.T, configure ...func(*api.Config)) *recipientBundle {
	t.Helper()
	signer, err := nurture.NewSigner(strings.Repeat("r", 32))
	require.NoError(t, err)
	tmpl, err := templates.Default()
	require.NoError(t, err)
	b := setup(t, append([]func(*api.Config){func(c *api.Config) {
		c.Recipients.Signer = signer
		c.Recipients.Templates = tmpl
		c.Recipients.Hits = c.Recipients.Store.(api.HitStore) // the postgres store
		c.Recipients.HitWait = time.Second
	}}, configure...)...)
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

// formField finds the preference page's hidden form token.
var formField = regexp.MustCompile(`<input type="hidden" name="form" value="([A-Za-z0-9_-]+)">`)

// page serves the preference page of tok and returns its form token.
func (r *recipientBundle) page(t *testing.T, tok string) string {
	t.Helper()
	w := r.serve(httptest.NewRequest(http.MethodGet, "/u/"+tok, nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	m := formField.FindAllStringSubmatch(w.Body.String(), -1)
	require.Len(t, m, 2, "both forms of the page carry the token")
	require.Equal(t, m[0][1], m[1][1])
	return m[0][1]
}

// postForm posts form to /u/tok with the given headers, as a browser does.
func (r *recipientBundle) postForm(tok string, form url.Values, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/u/"+tok, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return r.serve(req)
}

func TestPreferenceFormSavesTopics(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	formToken := r.page(t, tok)
	post := func(form url.Values) *httptest.ResponseRecorder {
		form.Set("form", formToken)
		return r.postForm(tok, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"})
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

// A form on another site can post to a preference page whose link it
// knows, but cannot read the page: without the page's form token, or when
// the browser says the post comes from another site, nothing changes. Above
// all, a person who opted out is not subscribed again behind their back.
// One-click unsubscribe (RFC 8058) needs none of this: mailbox providers
// post it from their servers.
func TestPreferenceFormRefusesCrossSitePosts(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	otherTok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact, IssuedAt: received})
	require.NotEqual(t, tok, otherTok)

	// The person opts out of everything with one click, from a mail client
	// on another origin: no form token, no cookie.
	w := r.postForm(tok, url.Values{"List-Unsubscribe": {"One-Click"}}, map[string]string{"Origin": "https://mail.example.net", "Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, []string{"onboarding"}, r.optOuts(t))
	everything := []string{"education", "marketing", "onboarding", "product"}
	all := []nurture.Topic{nurture.TopicEducation, nurture.TopicMarketing, nurture.TopicOnboarding, nurture.TopicProduct}
	require.NoError(t, r.store.SetPreferences(context.Background(), r.contact, all, nil))

	resubscribe := url.Values{"topic": {"onboarding", "education", "product", "marketing"}}
	with := func(form url.Values, token string) url.Values {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if token != "" {
			f.Set("form", token)
		}
		return f
	}
	refused := func(name string, form url.Values, headers map[string]string) {
		t.Helper()
		w := r.postForm(tok, form, headers)
		require.Equal(t, http.StatusForbidden, w.Code, name)
		require.Equal(t, everything, r.optOuts(t), "%s: nothing changed", name)
		body := w.Body.String()
		require.Contains(t, body, "Nothing was changed", name)
		require.Len(t, formField.FindAllString(body, -1), 2, "%s: the page is shown again, with a form that works", name)
	}
	refused("no form token", with(resubscribe, ""), nil)
	refused("no form token, from another site", with(resubscribe, ""), map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	refused("a made-up form token", with(resubscribe, "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil)
	refused("a link token in its place", with(resubscribe, tok), nil)
	refused("the form token of another link", with(resubscribe, r.page(t, otherTok)), nil)
	formToken := r.page(t, tok)
	refused("the page's token, from another site", with(resubscribe, formToken), map[string]string{"Sec-Fetch-Site": "cross-site"})
	refused("the page's token, from a sibling site", with(resubscribe, formToken), map[string]string{"Sec-Fetch-Site": "same-site"})
	refused("the page's token, from a foreign Origin", with(resubscribe, formToken), map[string]string{"Origin": "https://evil.example"})

	// A page left open for more than a day: shown again, nothing changed.
	r.clock.Advance(nurture.MaxFormTokenAge + time.Minute)
	refused("a page open for more than a day", with(resubscribe, formToken), map[string]string{"Sec-Fetch-Site": "same-origin"})
	fresh := r.page(t, tok)

	// The page's own form, as browsers post it: same origin, its Origin
	// "null" (the page's no-referrer policy) or its own, or no such header
	// at all from an older browser.
	for i, headers := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin", "Origin": "null"},
		{"Origin": "http://example.com"}, // httptest's Host
		nil,
	} {
		keep := []string{"education", "onboarding", "product", "marketing"}[:i+2]
		w = r.postForm(tok, with(url.Values{"topic": keep}, fresh), headers)
		require.Equal(t, http.StatusOK, w.Code, "%v: %s", headers, w.Body.String())
		require.Contains(t, w.Body.String(), "Your choices are saved.")
		require.Len(t, r.optOuts(t), 4-len(keep), "%v", headers)
	}
}

// Every recipient endpoint acts only when the token's message is the
// token's contact's: a reset database, or a second installation with the
// same secret, signed the same ids for other people.
func TestRecipientEndpointsRequireTheMessageOfTheContact(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	ctx := context.Background()
	other, _, err := r.store.UpsertContact(ctx, &nurture.Contact{Email: "other@example.com"})
	require.NoError(t, err)
	for name, tok := range map[string]nurture.Token{
		"another contact's message": {MessageID: r.message, ContactID: other.ID},
		"no such message":           {MessageID: r.message + 1000, ContactID: r.contact},
	} {
		sign := func(p nurture.Purpose) string {
			tok.Purpose = p
			if p == nurture.PurposeClick {
				tok.URL = "https://acme.example/"
			}
			return r.signer.Sign(tok)
		}
		w := r.serve(httptest.NewRequest(http.MethodGet, "/o/"+sign(nurture.PurposeOpen), nil))
		require.Equal(t, http.StatusOK, w.Code, "%s: the pixel is always served", name)
		w = r.serve(httptest.NewRequest(http.MethodGet, "/c/"+sign(nurture.PurposeClick), nil))
		require.Equal(t, http.StatusFound, w.Code, "%s: the signed target is still reached", name)
		require.Zero(t, r.hits(t), "%s: but no open or click is recorded", name)

		w = r.serve(httptest.NewRequest(http.MethodGet, "/u/"+sign(nurture.PurposeUnsubscribe), nil))
		require.Equal(t, http.StatusNotFound, w.Code, name)
		require.NotContains(t, w.Body.String(), "@example.com", name)
		w = r.postForm(sign(nurture.PurposeUnsubscribe), url.Values{"List-Unsubscribe": {"One-Click"}}, nil)
		require.Equal(t, http.StatusNotFound, w.Code, name)
		w = r.serve(httptest.NewRequest(http.MethodGet, "/v/"+sign(nurture.PurposeView), nil))
		require.Equal(t, http.StatusNotFound, w.Code, name)
	}
	require.Empty(t, r.optOuts(t))
	var n int
	require.NoError(t, r.pool.QueryRow(ctx, `SELECT count(*) FROM topic_optouts`).Scan(&n))
	require.Zero(t, n, "nobody's preferences changed")

	// One-click for a person gone with their messages: nothing to change,
	// and the mailbox provider is told they are unsubscribed.
	gone := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: 1 << 40, ContactID: 1 << 40})
	w := r.postForm(gone, url.Values{"List-Unsubscribe": {"One-Click"}}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	// The genuine links of the same message work.
	genuine := nurture.Token{MessageID: r.message, ContactID: r.contact}
	for purpose, path := range map[nurture.Purpose]string{nurture.PurposeUnsubscribe: "/u/", nurture.PurposeView: "/v/"} {
		genuine.Purpose = purpose
		w := r.serve(httptest.NewRequest(http.MethodGet, path+r.signer.Sign(genuine), nil))
		require.Equal(t, http.StatusOK, w.Code, path)
	}
	genuine.Purpose = nurture.PurposeOpen
	r.serve(httptest.NewRequest(http.MethodGet, "/o/"+r.signer.Sign(genuine), nil))
	require.Equal(t, 1, r.hits(t))
}

// An unsubscribe that races a worker holding an email of its topic answers
// only once that email is settled (sent, or skipped by the worker when it
// sees the cancellation), so that nothing of the topic leaves after the
// answer; an email whose worker died (its claim lapsed) is not waited for.
func TestOneClickUnsubscribeWaitsForEmailsInFlight(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	ctx := context.Background()
	const claim = 77
	claimed, _, err := r.store.ClaimMessages(ctx, []int64{r.message}, claim, time.Minute) // a worker holds it
	require.NoError(t, err)
	require.Len(t, claimed, 1)

	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: r.message, ContactID: r.contact})
	answered := make(chan int, 1)
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/u/"+tok, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		answered <- r.serve(req).Code
	}()
	require.Eventually(t, func() bool {
		var marked bool
		err := r.pool.QueryRow(ctx, `SELECT cancel_requested FROM messages WHERE id = $1`, r.message).Scan(&marked)
		return err == nil && marked
	}, 10*time.Second, 5*time.Millisecond, "the email in flight is marked cancelled")
	time.Sleep(200 * time.Millisecond)
	select {
	case code := <-answered:
		t.Fatalf("answered %d while a worker still held an email of the topic", code)
	default:
	}
	// The worker sees the mark and skips the email.
	n, err := r.store.RecordOutcomes(ctx, []nurture.Outcome{{MessageID: r.message, Claim: claim, Status: nurture.StatusSkipped, Detail: "cancelled"}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	select {
	case code := <-answered:
		require.Equal(t, http.StatusOK, code)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer once the email was settled")
	}

	// An email held by a worker that died is not waited for: it cannot
	// leave (its claim lapsed, and the next attempt checks the opt-out).
	m, _, err := r.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k2", ContactID: r.contact, Template: "welcome", SendAt: r.clock.Now()})
	require.NoError(t, err)
	_, _, err = r.store.ClaimMessages(ctx, []int64{m.ID}, claim, time.Minute)
	require.NoError(t, err)
	_, err = r.pool.Exec(ctx, `UPDATE messages SET cancel_requested = true WHERE id = $1`, m.ID)
	require.NoError(t, err)
	n, err = r.store.InFlight(ctx, r.contact, []string{"welcome"})
	require.NoError(t, err)
	require.Equal(t, 1, n, "held under a live claim")
	_, err = r.pool.Exec(ctx, `UPDATE messages SET locked_until = now() - interval '1 second' WHERE id = $1`, m.ID)
	require.NoError(t, err)
	n, err = r.store.InFlight(ctx, r.contact, []string{"welcome"})
	require.NoError(t, err)
	require.Zero(t, n, "its claim lapsed")
}
