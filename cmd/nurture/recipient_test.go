package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signUp reports a sign-up and returns the welcome email as delivered.
func (e *engine) signUp(userID, email string) (text, html string, header func(string) string) {
	e.t.Helper()
	e.mustPost("/v1/identify", map[string]any{"userId": userID, "traits": map[string]any{"email": email, "firstName": "Ada", "company": "Acme"}})
	e.mustPost("/v1/track", map[string]any{"userId": userID, "event": "signed_up", "messageId": "signup-" + userID})
	m := e.smtp.WaitForMessages(e.t, 1, 20*time.Second)[0]
	e.waitStatus(userID, "sent")
	return m.Part("text/plain"), m.Part("text/html"), m.Header
}

func TestDeliveredEmailCarriesBulkSenderHeadersAndTrackedLinks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.env["NURTURE_PUBLIC_URL"] = e.apiURL
	e.start("all")
	e.waitReady()
	text, html, header := e.signUp("u-hdr", "hdr@example.com")

	unsub := header("List-Unsubscribe")
	require.Regexp(t, `^<`+regexp.QuoteMeta(e.apiURL)+`/u/[A-Za-z0-9_-]+>$`, unsub)
	require.Equal(t, "List-Unsubscribe=One-Click", header("List-Unsubscribe-Post"))
	require.Contains(t, html, `href="`+strings.Trim(unsub, "<>")+`"`, "the body's unsubscribe link is the header's")
	require.Contains(t, header("List-Id"), "<onboarding.acme.example>")
	require.Equal(t, "welcome:onboarding:lifecycle:nurture", header("Feedback-ID"))
	require.Empty(t, header("Precedence"), "lifecycle mail is not bulk")

	clicks := regexp.MustCompile(regexp.QuoteMeta(e.apiURL)+`/c/[A-Za-z0-9_-]+`).FindAllString(html, -1)
	require.NotEmpty(t, clicks, "links are tracked")
	require.Contains(t, text, clicks[0], "the text part carries the tracked links too")
	require.Regexp(t, regexp.QuoteMeta(e.apiURL)+`/o/[A-Za-z0-9_-]+`, html, "an open pixel")
	require.NotContains(t, html, `href="https://app.example.com`, "no untracked product link left")

	view := regexp.MustCompile(regexp.QuoteMeta(e.apiURL) + `/v/[A-Za-z0-9_-]+`).FindString(html)
	require.NotEmpty(t, view, "a view-in-browser link")
	resp, err := http.Get(view)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), "Ada")
	require.NotContains(t, string(page), "/o/", "the browser view is not tracked")
}

func TestOpenClickAndOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.env["NURTURE_PUBLIC_URL"] = e.apiURL
	e.start("all")
	e.waitReady()
	_, html, header := e.signUp("u-rcp", "rcp@example.com")
	ctx := context.Background()

	pixelURL := regexp.MustCompile(regexp.QuoteMeta(e.apiURL) + `/o/[A-Za-z0-9_-]+`).FindString(html)
	req, _ := http.NewRequest(http.MethodGet, pixelURL, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko)")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	gif, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "image/gif", resp.Header.Get("Content-Type"))
	require.Len(t, gif, 43)
	require.Contains(t, resp.Header.Get("Cache-Control"), "no-store")

	// A bad token still gets the pixel, and records nothing.
	resp, err = http.Get(e.apiURL + "/o/not-a-token")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	click := regexp.MustCompile(regexp.QuoteMeta(e.apiURL) + `/c/[A-Za-z0-9_-]+`).FindString(html)
	resp, err = noRedirects.Get(click + "?url=https://evil.example/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	target, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.NotEqual(t, "evil.example", target.Host, "never where the query string says")

	var opens, clicksN int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'open'), count(*) FILTER (WHERE kind = 'click') FROM email_events`).Scan(&opens, &clicksN))
	require.Equal(t, 1, opens)
	require.Equal(t, 1, clicksN)

	// GET never unsubscribes; the RFC 8058 POST does, at once.
	unsub := strings.Trim(header("List-Unsubscribe"), "<>")
	resp, err = http.Get(unsub)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), "rcp@example.com")
	var optOuts int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM topic_optouts`).Scan(&optOuts))
	require.Zero(t, optOuts)

	resp, err = noRedirects.PostForm(unsub, url.Values{"List-Unsubscribe": {"One-Click"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var topic string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT topic FROM topic_optouts`).Scan(&topic))
	require.Equal(t, "onboarding", topic)
}

// postAs sends body to path with key as the Basic user name, as providers
// do, and returns the status and body.
func (e *engine) postAs(key, path string, body any) (int, string) {
	e.t.Helper()
	data, err := json.Marshal(body)
	require.NoError(e.t, err)
	req, err := http.NewRequest(http.MethodPost, e.apiURL+path, bytes.NewReader(data))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// The Message-ID the worker writes is this installation's, and a bounce
// reported with it marks the message only for the address it went to.
func TestBounceOfDeliveredEmailMarksItForItsRecipientOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hooks, err := createAPIKey(context.Background(), postgres.New(e.pool), "hooks", []nurture.Scope{nurture.ScopeWebhooks})
	require.NoError(t, err)
	e.start("all")
	e.waitReady()
	_, _, header := e.signUp("u-bounce", "bounce@example.com")
	messageID := header("Message-ID")
	require.Regexp(t, `^<nurture\.[0-9]+\.[0-9a-f]{16}@acme\.example>$`, messageID)

	status, body := e.postAs(hooks, "/v1/webhooks/bounces", map[string]any{"email": "someone-else@example.com", "type": "hard", "messageId": messageID})
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, []string{"sent"}, e.messages("u-bounce"), "another address's bounce leaves the message alone")

	status, body = e.postAs(hooks, "/v1/webhooks/bounces", map[string]any{"email": "bounce@example.com", "type": "hard", "messageId": messageID})
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, []string{"bounced"}, e.messages("u-bounce"))
}

// NURTURE_SES_TOPICS reaches the SES webhook: without it every message is
// refused; with it, messages of the listed topics go on to the signature
// check (which an http certificate URL fails, so nothing is fetched here)
// and those of other topics are refused.
func TestSESTopicsSetting(t *testing.T) {
	t.Parallel()
	const mine = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
	message := func(topic string) map[string]string {
		return map[string]string{"Type": "SubscriptionConfirmation", "MessageId": "m1", "Token": "t", "TopicArn": topic,
			"Message": "confirm", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
			"Timestamp": "2026-03-02T12:00:00.000Z", "SignatureVersion": "2", "Signature": "c2ln",
			"SigningCertURL": "http://sns.us-east-1.amazonaws.com/cert.pem"}
	}
	for _, tc := range []struct {
		name, setting, topic, field string
	}{
		{"not set", "", mine, "TopicArn"},
		{"set, another topic", mine, "arn:aws:sns:us-east-1:999999999999:theirs", "TopicArn"},
		{"set, its topic", "arn:aws:sns:eu-west-1:123456789012:other," + mine, mine, "SigningCertURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			hooks, err := createAPIKey(context.Background(), postgres.New(e.pool), "hooks", []nurture.Scope{nurture.ScopeWebhooks})
			require.NoError(t, err)
			e.env["NURTURE_SES_TOPICS"] = tc.setting
			e.start("api")
			e.waitReady()
			status, body := e.postAs(hooks, "/v1/webhooks/ses", message(tc.topic))
			require.Equal(t, http.StatusForbidden, status, body)
			require.Contains(t, body, `"field":"`+tc.field+`"`)
		})
	}
}

// The preference page through the binary, behind a proxy: the API is
// reached at its own address while the links, and the browser's Origin,
// say NURTURE_PUBLIC_URL.
func TestPreferencePageBehindAProxy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const public = "https://links.acme.example"
	e.env["NURTURE_PUBLIC_URL"] = public
	e.start("all")
	e.waitReady()
	_, _, header := e.signUp("u-prefs", "prefs@example.com")
	page := strings.Replace(strings.Trim(header("List-Unsubscribe"), "<>"), public, e.apiURL, 1)

	resp, err := http.Get(page)
	require.NoError(t, err)
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	token := regexp.MustCompile(`name="form" value="([A-Za-z0-9_-]+)"`).FindStringSubmatch(string(html))
	require.NotNil(t, token, "the form carries its token")

	post := func(origin string) int {
		form := url.Values{"form": {token[1]}, "topic": {"education"}}
		req, err := http.NewRequest(http.MethodPost, page, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := noRedirects.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	optOuts := func() (n int) {
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM topic_optouts`).Scan(&n))
		return n
	}
	require.Equal(t, http.StatusForbidden, post("https://evil.example"))
	require.Zero(t, optOuts())
	require.Equal(t, http.StatusOK, post(public))
	require.Equal(t, 3, optOuts(), "all but education")
}
