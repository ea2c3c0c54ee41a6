package console_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// Signing in and out in a real browser, with and without JavaScript, on a
// desktop's width and a phone's.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			require.Contains(t, location(ctx, t), "/admin/overview", "the console's first page")
			testkit.ClickAndWait(ctx, t, `nav a[href="/admin/audit"]`)
			require.Contains(t, text(ctx, t, "main"), "session.sign-in")
			require.Equal(t, "ops admin", text(ctx, t, ".who"))
			testkit.Screenshot(ctx, t, artifacts(t), "audit-"+p.name+".png", int(p.width))
			testkit.ClickAndWait(ctx, t, ".signout button")
			require.Contains(t, location(ctx, t), "/admin/sign-in")
			testkit.Screenshot(ctx, t, artifacts(t), "sign-in-"+p.name+".png", int(p.width))
		})
	}
}
