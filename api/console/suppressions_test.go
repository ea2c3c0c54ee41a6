package console_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// suppress puts email on the suppression list at the given time.
func (h *harness) suppress(t *testing.T, email string, reason nurture.SuppressionReason, detail string, at time.Time) {
	t.Helper()
	_, err := h.pool.Exec(context.Background(), `INSERT INTO suppressions (email_hash, email, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5)`,
		nurture.EmailHash(email), email, reason, detail, at)
	require.NoError(t, err)
}

func (h *harness) isSuppressed(t *testing.T, email string) bool {
	t.Helper()
	_, ok, err := h.store.Suppressed(context.Background(), email)
	require.NoError(t, err)
	return ok
}

func TestSuppressionSearchFindsTheExactAddressInAnyCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.suppress(t, "ada@example.com", nurture.SuppressHardBounce, "hard bounce from ses: 550 5.1.1 user unknown", now.Add(-time.Hour))
	h.suppress(t, "adam@example.com", nurture.SuppressComplaint, "complaint from ses", now)
	c := h.signedIn(t)

	for _, tc := range []struct {
		query, want, notWant string
	}{
		{"ADA@Example.com", "550 5.1.1 user unknown", "adam@example.com"},
		{"  adam@example.com ", "Spam complaint", "user unknown"},
		{"ad@example.com", "ad@example.com is not suppressed", "ada@example.com<"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			page, res := h.get(t, c, "/admin/suppressions?email="+url.QueryEscape(tc.query))
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, page, tc.want)
			require.NotContains(t, page, tc.notWant)
		})
	}
	page, _ := h.get(t, c, "/admin/suppressions?email=ada%40example.com")
	require.Contains(t, page, "Hard bounce")
	require.Contains(t, page, `href="/admin/suppressions/`+hex.EncodeToString(nurture.EmailHash("ada@example.com"))+`"`)
}

func TestSuppressionListShowsFiftyNewestFirstThenOlder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 52 {
		h.suppress(t, fmt.Sprintf("p%02d@example.com", i), nurture.SuppressHardBounce, "", now.Add(time.Duration(i)*time.Minute))
	}
	c := h.signedIn(t)
	page, res := h.get(t, c, "/admin/suppressions")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 50, strings.Count(page, `class="remove"`))
	require.Less(t, strings.Index(page, "p51@example.com"), strings.Index(page, "p02@example.com"), "newest first")
	require.NotContains(t, page, "p01@example.com")

	older := regexp.MustCompile(`href="(/admin/suppressions\?before=[^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, older, "a link to older entries")
	page, res = h.get(t, c, older[1])
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 2, strings.Count(page, `class="remove"`))
	require.Contains(t, page, "p01@example.com")
	require.Contains(t, page, "p00@example.com")
	require.NotContains(t, page, "p02@example.com")
	require.NotContains(t, page, "?before=", "the last page")

	_, res = h.get(t, c, "/admin/suppressions?before=yesterday")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
}

func TestRemovingASuppressionNeedsAReasonAndAConfirmation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const email = "ada@example.com"
	h.suppress(t, email, nurture.SuppressHardBounce, "hard bounce from ses", now)
	key := hex.EncodeToString(nurture.EmailHash(email))
	entry, remove := "/admin/suppressions/"+key, "/admin/suppressions/"+key+"/remove"
	c := h.signedIn(t)

	page, res := h.get(t, c, entry)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, email)
	require.Contains(t, page, "may be mailed again")

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no reason", url.Values{"confirm": {"yes"}}, "reason: say why"},
		{"blank reason", url.Values{"reason": {"   "}, "confirm": {"yes"}}, "reason: say why"},
		{"the address in the reason", url.Values{"reason": {"ADA@example.com asked us"}, "confirm": {"yes"}}, "reason: leave the address out"},
		{"too long", url.Values{"reason": {strings.Repeat("x", 501)}, "confirm": {"yes"}}, "reason: keep it under 500"},
		{"not confirmed", url.Values{"reason": {"mailbox fixed"}}, "confirm: tick the box"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, _ := h.get(t, c, entry)
			tc.form.Set("csrf", csrfOf(t, page))
			res, err := c.PostForm(h.srv.URL+remove, tc.form)
			require.NoError(t, err)
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			body := string(b)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			require.Contains(t, body, tc.want)
			require.True(t, h.isSuppressed(t, email), "still suppressed")
		})
	}

	// Without the form's CSRF token: refused, nothing changed.
	res = h.post(t, c, remove, url.Values{"reason": {"mailbox fixed"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.True(t, h.isSuppressed(t, email))

	// Signed out: refused.
	res = h.post(t, h.client(t), remove, url.Values{"reason": {"mailbox fixed"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.True(t, h.isSuppressed(t, email))

	res = h.submit(t, c, entry, remove, url.Values{"reason": {"The customer fixed their mailbox"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Contains(t, res.Header.Get("Location"), "/admin/suppressions?done=")
	require.False(t, h.isSuppressed(t, email), "the address may be mailed again")
	page, _ = h.get(t, c, res.Header.Get("Location"))
	require.Contains(t, page, "Suppression removed")

	log, err := h.store.AuditLog(context.Background(), time.Time{}, 10)
	require.NoError(t, err)
	require.Equal(t, "suppression.remove", log[0].Action)
	require.Equal(t, "email_hash:"+key, log[0].Target)
	require.Equal(t, "The customer fixed their mailbox", log[0].Detail)
	require.Equal(t, "ops admin", log[0].KeyName)
	audit, _ := h.get(t, c, "/admin/audit")
	require.NotContains(t, audit, email, "the audit log keeps no address")

	// Removed: the entry is gone, and a second removal finds nothing.
	_, res = h.get(t, c, entry)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestSuppressionPagesOfNoSuchEntryAreNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	for _, path := range []string{
		"/admin/suppressions/" + hex.EncodeToString(nurture.EmailHash("nobody@example.com")),
		"/admin/suppressions/not-hex",
	} {
		_, res := h.get(t, c, path)
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	_, res := h.get(t, h.client(t), "/admin/suppressions")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "signed out: to the sign-in page")
	require.Contains(t, res.Header.Get("Location"), "/admin/sign-in")
}
