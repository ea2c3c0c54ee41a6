package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Signing in: only a live key with the admin scope opens a session, every
// failure says why, and the session cookie is what the issue asks.
func TestSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.newKey(t, "collector", nurture.ScopeIngest)
	revoked := h.newKey(t, "old admin", nurture.ScopeAdmin)
	k, err := h.store.APIKeyByHash(context.Background(), nurture.HashAPIKey(revoked))
	require.NoError(t, err)
	require.NoError(t, h.store.RevokeAPIKey(context.Background(), k.ID))

	for _, tc := range []struct {
		name, key string
		status    int
		says      string
	}{
		{"no key", "", http.StatusBadRequest, "Enter an admin API key"},
		{"wrong key", "nk_notakey", http.StatusUnauthorized, "not valid"},
		{"revoked key", revoked, http.StatusUnauthorized, "not valid"},
		{"ingest key", ingest, http.StatusForbidden, "admin scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.client(t)
			page, _ := h.get(t, c, "/admin/sign-in")
			res, err := c.PostForm(h.srv.URL+"/admin/sign-in", url.Values{"key": {tc.key}, "csrf": {csrfOf(t, page)}})
			require.NoError(t, err)
			body := readAll(t, res)
			require.Equal(t, tc.status, res.StatusCode)
			require.Contains(t, body, tc.says)
			require.NotContains(t, res.Header.Values("Set-Cookie"), "nurture_console=")
			_, res = h.get(t, c, "/admin/audit")
			require.Equal(t, http.StatusSeeOther, res.StatusCode, "not signed in")
		})
	}

	t.Run("admin key", func(t *testing.T) {
		c := h.client(t)
		res := h.signIn(t, c, h.adminKey, "/admin/audit")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "/admin/audit", res.Header.Get("Location"))
		var cookie *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "nurture_console" {
				cookie = ck
			}
		}
		require.NotNil(t, cookie, "session cookie")
		require.True(t, cookie.HttpOnly, "HttpOnly")
		require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
		require.Equal(t, "/admin", cookie.Path)
		require.Equal(t, int((12 * time.Hour).Seconds()), cookie.MaxAge)
		require.NotContains(t, cookie.Value, h.adminKey, "the key itself never goes into the cookie")
		page, res := h.get(t, c, "/admin/audit")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, page, "ops admin", "the key's name is shown, and in the audit log")
		require.Contains(t, page, "session.sign-in")
	})

	t.Run("sign-in form without its token", func(t *testing.T) {
		c := h.client(t)
		h.get(t, c, "/admin/sign-in")
		res := h.post(t, c, "/admin/sign-in", url.Values{"key": {h.adminKey}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
	})
}

// After signing in, the console sends a person only to its own pages.
func TestSignInGoesNowhereElse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/admin", `/\evil.example`, "/v1/contacts", "/admin/sign-out", "javascript:alert(1)"} {
		res := h.signIn(t, h.client(t), h.adminKey, next)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, next)
		require.Equal(t, "/admin", res.Header.Get("Location"), next)
	}
}

// Secure cookies when the console is served over https.
func TestSecureCookie(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *consoleConfig) { c.SecureCookies = true })
	c := h.client(t)
	page, res := h.get(t, c, "/admin/sign-in")
	for _, ck := range res.Cookies() {
		require.True(t, ck.Secure, ck.Name)
	}
	res, err := c.PostForm(h.srv.URL+"/admin/sign-in", url.Values{"key": {h.adminKey}, "csrf": {csrfOf(t, page)}})
	require.NoError(t, err)
	readAll(t, res)
	require.NotEmpty(t, res.Cookies())
	for _, ck := range res.Cookies() {
		require.True(t, ck.Secure, ck.Name)
	}
}

// A form posted without the session's CSRF token does nothing; signing
// out ends the session for good (the cookie replayed does not work); a
// revoked key ends its sessions; so does time.
func TestSessionEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	t.Run("sign-out needs the form's token", func(t *testing.T) {
		c := h.signedIn(t)
		res := h.post(t, c, "/admin/sign-out", url.Values{})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		res = h.post(t, c, "/admin/sign-out", url.Values{"csrf": {"forged"}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		_, res = h.get(t, c, "/admin/audit")
		require.Equal(t, http.StatusOK, res.StatusCode, "still signed in")
	})

	t.Run("sign-out", func(t *testing.T) {
		c := h.signedIn(t)
		u, _ := url.Parse(h.srv.URL + "/admin")
		cookies := c.Jar.Cookies(u)
		res := h.submit(t, c, "/admin/audit", "/admin/sign-out", url.Values{})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, res = h.get(t, c, "/admin/audit")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		replay := h.client(t)
		replay.Jar.SetCookies(u, cookies)
		_, res = h.get(t, replay, "/admin/audit")
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "the old cookie opens nothing")
	})

	t.Run("revoked key", func(t *testing.T) {
		key := h.newKey(t, "temp admin", nurture.ScopeAdmin)
		c := h.client(t)
		require.Equal(t, http.StatusSeeOther, h.signIn(t, c, key, "").StatusCode)
		k, err := h.store.APIKeyByHash(context.Background(), nurture.HashAPIKey(key))
		require.NoError(t, err)
		require.NoError(t, h.store.RevokeAPIKey(context.Background(), k.ID))
		_, res := h.get(t, c, "/admin/audit")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	})

	t.Run("expiry", func(t *testing.T) {
		c := h.signedIn(t)
		h.clock.Advance(12*time.Hour + time.Second)
		_, res := h.get(t, c, "/admin/audit")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.True(t, strings.HasPrefix(res.Header.Get("Location"), "/admin/sign-in?next="))
	})
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}
