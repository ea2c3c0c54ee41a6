package testkit

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser starts Debian's headless Chromium with a profile of its own,
// driven by chromedp over its DevTools pipe, and stops it when the test
// ends. The context it returns is the browser's: open tabs with Tab.
//
// Without a chromium binary the test skips, except under CI=true, where it
// fails: CI installs Chromium and must not skip a browser test silently.
func Browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found (%v): CI must run the browser tests; install Debian's chromium package", err)
		}
		t.Skip("chromium not found: install Debian's chromium package (apt-get install chromium) to run the browser tests")
	}
	var out SyncBuffer // chromium's output, written by chromedp's goroutine
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("mute-audio", true),
		chromedp.CombinedOutput(&out))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		if t.Failed() {
			s := out.String()
			if len(s) > 4000 {
				s = "..." + s[len(s)-4000:]
			}
			t.Logf("chromium's output:\n%s", s)
		}
	})
	// The first call starts the browser, whose life is then that of the
	// call's context: it must be browserCtx itself, without a deadline.
	_, err = chromedp.CallBrowser(browserCtx, browser.GetVersion, cdp.Empty{})
	require.NoError(t, err, "chromium did not answer on its DevTools pipe")
	return browserCtx
}

// Tab opens a tab of the browser, closed when the test ends; its context
// gives up after two minutes.
func Tab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	tabCtx, closeTab := chromedp.NewContext(browserCtx)
	ctx, cancel := context.WithTimeout(tabCtx, 2*time.Minute)
	t.Cleanup(func() { cancel(); closeTab() })
	return ctx
}

// ClickAndWait clicks the first element matching the CSS selector, as a
// person does (a mouse press in its middle), and waits for the page the
// click loads.
func ClickAndWait(ctx context.Context, t *testing.T, selector string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(selector))))
	require.NoError(t, err, "click %s", selector)
}

// Screenshot saves the whole page as a PNG named name in dir (created when
// missing), at width CSS pixels, and fails when the page scrolls sideways
// at that width.
func Screenshot(ctx context.Context, t *testing.T, dir, name string, width int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	metrics, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	require.NoError(t, err)
	require.LessOrEqual(t, metrics.CSSContentSize.Width, float64(width), "the page scrolls sideways at %dpx", width)
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
		Clip: &page.Viewport{Width: float64(width), Height: metrics.CSSContentSize.Height, Scale: 1}})
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(shot.Data))
	require.NoError(t, err, "screenshot is a PNG")
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, shot.Data, 0o644))
	t.Logf("screenshot: %s (%dx%d)", p, cfg.Width, cfg.Height)
}
