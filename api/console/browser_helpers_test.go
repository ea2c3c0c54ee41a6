package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
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
