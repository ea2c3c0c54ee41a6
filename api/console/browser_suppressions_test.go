package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
)

// An operator finds a suppressed address and removes it with a reason, by
// clicking: on a desktop with scripts, and on a phone without.
func TestBrowserRemoveSuppression(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	br := testkit.Browser(t)
	for i := range 8 {
		h.suppress(t, "someone"+string(rune('a'+i))+"@example.org", nurture.SuppressHardBounce, "hard bounce from ses: 550 5.1.1 user unknown", now.Add(-time.Duration(i)*time.Hour))
	}
	for _, p := range []struct {
		viewport
		email string
	}{
		{viewports[0], "grace.hopper@example.com"},
		{viewports[1], "alan.turing.with.a.long.address@mail.example.com"},
	} {
		t.Run(p.name, func(t *testing.T) {
			h.suppress(t, p.email, nurture.SuppressComplaint, "complaint from ses: abuse", now)
			ctx := openTab(t, br, p.viewport)
			h.browserSignIn(ctx, t)
			testkit.ClickAndWait(ctx, t, `nav a[href="/admin/suppressions"]`)
			require.Contains(t, text(ctx, t, "main"), "Newest first")
			testkit.Screenshot(ctx, t, artifacts(t), "suppressions-"+p.name+".png", int(p.width))

			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#email"), strings.ToUpper(p.email))))
			testkit.ClickAndWait(ctx, t, ".suppression-search button[type=submit]")
			require.Contains(t, text(ctx, t, "table.suppressions tbody"), p.email)
			require.Contains(t, text(ctx, t, "table.suppressions tbody"), "Spam complaint")
			testkit.Screenshot(ctx, t, artifacts(t), "suppressions-search-"+p.name+".png", int(p.width))

			testkit.ClickAndWait(ctx, t, "table.suppressions a.remove")
			require.Contains(t, text(ctx, t, "h1"), "Remove a suppression")
			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#reason"), "They asked to hear from us again, by phone")))
			require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm"))))
			testkit.Screenshot(ctx, t, artifacts(t), "suppression-remove-"+p.name+".png", int(p.width))
			testkit.ClickAndWait(ctx, t, "form button.danger")

			require.Contains(t, location(ctx, t), "/admin/suppressions?done=")
			require.Contains(t, text(ctx, t, ".notice"), "Suppression removed")
			require.False(t, h.isSuppressed(t, p.email), "the address may be mailed again")
			require.True(t, h.isSuppressed(t, "someonea@example.org"), "the others stay")
		})
	}
}
