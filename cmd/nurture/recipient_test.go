package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
