package console_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// The on-call person opens the queue UI from the console's menu: asynqmon's
// application runs under the console's Content-Security-Policy for it
// (nothing it needs is blocked but the web fonts of another site) and
// shows the queue that has a task. It is an application of scripts: there
// is no version without them, and no phone layout to check.
func TestBrowserOpenQueueUI(t *testing.T) {
	t.Parallel()
	h, _ := queueHarness(t)
	br := testkit.Browser(t)
	ctx := testkit.Tab(t, br)
	var mu sync.Mutex
	var blocked []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*log.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") &&
			!strings.Contains(e.Entry.Text, "fonts.googleapis.com") {
			mu.Lock()
			blocked = append(blocked, e.Entry.Text)
			mu.Unlock()
		}
	}))
	_, err := chromedp.Call(ctx, log.Enable, cdp.Empty{})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	h.browserSignIn(ctx, t)
	testkit.ClickAndWait(ctx, t, `nav a[href="/admin/queues"]`)

	// The application draws the queues once its data call answers.
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS("#root table tbody tr"))), "the queue UI shows its table of queues")
	require.Contains(t, text(ctx, t, "#root table tbody"), "default")
	testkit.Screenshot(ctx, t, artifacts(t), "queues-desktop.png", 1280)
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, blocked, "the CSP blocks nothing the queue UI needs")
}
