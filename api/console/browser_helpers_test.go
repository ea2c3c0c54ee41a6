package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// chromedpSignIn opens the sign-in page, types key and presses the button.
func chromedpSignIn(ctx context.Context, base, key string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/sign-in")); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#key"), key)); err != nil {
		return err
	}
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("form button[type=submit]"))))
	return err
}

// location is the tab's URL.
func location(ctx context.Context, t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// text is the text of the first element matching the CSS selector.
func text(ctx context.Context, t *testing.T, selector string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	require.NoError(t, err, "text of %s", selector)
	return s
}

// disableScripts turns JavaScript off in the tab, for a page that must
// work without it.
func disableScripts(ctx context.Context, _ *chromedp.Target) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	return err
}

// viewport is a browser window a page is checked in.
type viewport struct {
	name          string
	width, height int64
	scripts       bool
}

// viewports are a desktop's window with scripts, and a phone's without.
var viewports = []viewport{{"desktop", 1280, 800, true}, {"phone-no-script", 390, 844, false}}

// openTab opens a tab of the browser the size of v, with scripts off
// unless v has them.
func openTab(t *testing.T, br context.Context, v viewport) context.Context {
	t.Helper()
	ctx := testkit.Tab(t, br)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(v.width, v.height)))
	if !v.scripts {
		require.NoError(t, chromedp.Do(ctx, chromedp.Func(disableScripts)))
	}
	return ctx
}
