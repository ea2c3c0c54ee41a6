package console_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// A marketer opens the onboarding sequence from the menu, reads its funnel
// and runs a simulation for a contact by typing their address.
func TestBrowserSequenceFunnelAndSimulation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	contacts := seedOnboarding(t, h)
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			testkit.ClickAndWait(ctx, t, `nav a[href="/admin/sequences"]`)
			require.Contains(t, text(ctx, t, "table.sequences"), "Onboarding for new sign-ups")
			testkit.Screenshot(ctx, t, artifacts(t), "sequences-"+p.name+".png", int(p.width))

			testkit.ClickAndWait(ctx, t, `a[href="/admin/sequences/onboarding"]`)
			require.Equal(t, "Onboarding for new sign-ups", text(ctx, t, "h1"))
			funnel := text(ctx, t, "table.funnel")
			for _, line := range []string{"Entered\t3", "Sent\t3", "Opened\t2", "Clicked\t1", "Converted\t1"} {
				require.Contains(t, funnel, line)
			}
			title, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#funnel ~ svg.chart title")))
			require.NoError(t, err)
			require.Contains(t, title, "Funnel of onboarding")
			require.Contains(t, text(ctx, t, "ol.steps"), "Sends the email welcome")
			testkit.Screenshot(ctx, t, artifacts(t), "sequence-"+p.name+".png", int(p.width))

			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#sim-contact"), contacts[2].Email)))
			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#sim-until"), "14d")))
			testkit.ClickAndWait(ctx, t, "form.simulate button[type=submit]")
			require.Contains(t, location(ctx, t), "contact=alan%40example.com")
			timeline := text(ctx, t, ".timeline")
			require.Contains(t, timeline, "Timeline for contact "+strconv.FormatInt(contacts[2].ID, 10))
			require.Contains(t, timeline, "goes on with enrollment", "alan is in the sequence already")
			require.Contains(t, timeline, "check-in")
			testkit.Screenshot(ctx, t, artifacts(t), "sequence-simulated-"+p.name+".png", int(p.width))
		})
	}
}

// A marketer opens a template from the gallery and previews it for a
// contact: the subject and text are theirs, and the email shows in two
// frames, a desktop's width and a phone's.
func TestBrowserTemplatePreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	contacts := seedOnboarding(t, h)
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			testkit.ClickAndWait(ctx, t, `nav a[href="/admin/templates"]`)
			require.Contains(t, text(ctx, t, ".gallery"), "Welcome to Acme CRM, Ada")
			testkit.Screenshot(ctx, t, artifacts(t), "templates-"+p.name+".png", int(p.width))

			testkit.ClickAndWait(ctx, t, `.gallery a[href="/admin/templates/welcome"]`)
			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#contact"), strconv.FormatInt(contacts[1].ID, 10))))
			testkit.ClickAndWait(ctx, t, "form.preview-for button[type=submit]")
			require.Equal(t, "Welcome to Acme CRM, grace", text(ctx, t, "dd.subject"))
			require.Contains(t, text(ctx, t, "pre.email-text"), "Hi grace,")

			// Both frames hold the rendered email (its title is the
			// subject; a frame the browser refused would be an error
			// page). Chromium runs each sandboxed frame as a target of
			// its own.
			frames := emailFrames(ctx, t)
			require.Len(t, frames, 2)
			for _, f := range frames {
				require.Contains(t, f.URL, "/admin/templates/welcome/render?contact="+strconv.FormatInt(contacts[1].ID, 10))
				// TITLE
			}
			widths := frameWidths(ctx, t)
			require.InDelta(t, min(700, float64(p.width)-40), widths[0], 2, "the desktop frame")
			require.InDelta(t, 375, widths[1], 40, "the phone frame")
			testkit.Screenshot(ctx, t, artifacts(t), "template-"+p.name+".png", int(p.width))
			// Chromium paints a frame once it has been on screen: the
			// phone's frame, below the fold on a phone, once more.
			require.NoError(t, chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("iframe.phone"))))
			testkit.Screenshot(ctx, t, artifacts(t), "template-phone-frame-"+p.name+".png", int(p.width))
		})
	}
}

// emailFrames are the targets of the frames of the page: sandboxed, each
// runs apart.
func emailFrames(ctx context.Context, t *testing.T) []*target.Info {
	t.Helper()
	all, err := chromedp.Targets(ctx)
	require.NoError(t, err)
	var out []*target.Info
	for _, ti := range all {
		if ti.Type == "iframe" && strings.Contains(ti.URL, "/render") {
			out = append(out, ti)
		}
	}
	return out
}

// frameWidths are the widths the page gives its email frames, in order.
func frameWidths(ctx context.Context, t *testing.T) []float64 {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll("iframe.email-frame")].map(f => f.getBoundingClientRect().width)`))
	require.NoError(t, err)
	return w
}
