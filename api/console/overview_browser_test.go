package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// The on-call person's task: sign in, land on the overview, switch to the
// last 7 days, see the complaint rate flagged above its limit, and open a
// chart's numbers as a table; on a desktop with scripts and on a phone
// without.
func TestBrowserOverview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedOverview(t, h)
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			require.Contains(t, location(ctx, t), "/admin/overview")
			require.Equal(t, "Last 24 hours", text(ctx, t, ".periods [aria-current=page]"))
			require.Equal(t, "1,000", text(ctx, t, ".tiles li:first-child .stat"))
			testkit.Screenshot(ctx, t, artifacts(t), "overview-24h-"+p.name+".png", int(p.width))

			testkit.ClickAndWait(ctx, t, `.periods a[href$="period=7d"]`)
			require.Contains(t, location(ctx, t), "period=7d")
			require.Equal(t, "Last 7 days", text(ctx, t, ".periods [aria-current=page]"))
			require.Equal(t, "0.336%", text(ctx, t, ".rate .stat.over"))
			require.Equal(t, "At or above the 0.3% limit", text(ctx, t, ".rate .verdict.over"))

			require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sent summary`)),
				chromedp.WaitVisible(chromedp.CSS(`#sent table`))), "the table opens")
			require.Contains(t, text(ctx, t, "#sent tbody"), "Fri 27 Feb")
			testkit.Screenshot(ctx, t, artifacts(t), "overview-7d-"+p.name+".png", int(p.width))
		})
	}
}
