package console_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
)

// A marketer creates a campaign from a template and a saved segment, sees
// its audience counted, schedules it at 09:00 in each recipient's zone,
// pauses it and resumes it: by clicking, on a desktop with scripts and on
// a phone without them. A finished campaign's statistics are screenshot
// too.
func TestBrowserCampaignCreateScheduleInLocalTimePauseResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedContacts(t, h, "pro", "pro", "trial")
	seg := seedSegment(t, h, "Pro customers", `traits.plan == "pro"`)
	done := seedFinishedCampaign(t, h)
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/admin/campaigns")))
			testkit.Screenshot(ctx, t, artifacts(t), "campaigns-"+p.name+".png", int(p.width))
			testkit.ClickAndWait(ctx, t, `a[href="/admin/campaigns/new"]`)

			name := "Spring offer (" + p.name + ")"
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS("#name"), name),
				chromedp.SetValue(chromedp.CSS("#template"), "welcome"),
			))
			if p.scripts {
				// The script counts as a condition is typed, and as a
				// segment is chosen instead.
				require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#condition"), `traits.plan == "trial"`)))
				waitForText(ctx, t, "#audience-count", "1 contact now")
				require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#condition"), " and"+strings.Repeat("\b", 40))))
				waitForText(ctx, t, "#audience-count", "")
				require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#segment"), "Pro customers")))
				require.Equal(t, idText(seg.ID), value(ctx, t, "#segment"))
				waitForText(ctx, t, "#audience-count", "2 contacts now")
			} else {
				require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#segment"), idText(seg.ID))))
				testkit.ClickAndWait(ctx, t, `button[value="count"]`)
				require.Equal(t, "2 contacts now", text(ctx, t, "#audience-count"))
				require.Equal(t, name, value(ctx, t, "#name"), "what was typed is kept")
			}
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("#when-local")),
				chromedp.SetValue(chromedp.CSS("#localDate"), "2026-03-05"),
				chromedp.SetValue(chromedp.CSS("#localTime"), "09:00"),
				chromedp.SetValue(chromedp.CSS("#fallbackZone"), "Europe/Paris"),
			))
			testkit.Screenshot(ctx, t, artifacts(t), "campaign-new-"+p.name+".png", int(p.width))
			testkit.ClickAndWait(ctx, t, `button[value="create"]`)
			require.Contains(t, text(ctx, t, ".notice"), "Draft created")
			require.Contains(t, text(ctx, t, "h1"), "draft")

			testkit.ClickAndWait(ctx, t, "#schedule")
			require.Contains(t, text(ctx, t, ".notice"), "Scheduled for 2026-03-05 09:00 in each recipient's zone (else Europe/Paris)")
			require.Contains(t, text(ctx, t, "h1"), "scheduled")
			testkit.Screenshot(ctx, t, artifacts(t), "campaign-scheduled-"+p.name+".png", int(p.width))

			testkit.ClickAndWait(ctx, t, "#pause")
			require.Contains(t, text(ctx, t, "h1"), "paused")
			testkit.Screenshot(ctx, t, artifacts(t), "campaign-paused-"+p.name+".png", int(p.width))
			testkit.ClickAndWait(ctx, t, "#resume")
			require.Contains(t, text(ctx, t, "h1"), "scheduled")
			require.Contains(t, text(ctx, t, ".notice"), "Resumed")

			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/admin/campaigns/"+idText(done.ID))))
			require.Contains(t, text(ctx, t, "h1"), "sent")
			testkit.Screenshot(ctx, t, artifacts(t), "campaign-stats-"+p.name+".png", int(p.width))
		})
	}
	require.Contains(t, campaignAuditActions(t, h), "campaign.resume campaign:"+idText(done.ID+1))
}

// seedFinishedCampaign stores a sent campaign with an A/B test decided,
// emails, opens and clicks on three links.
func seedFinishedCampaign(t *testing.T, h *harness) *nurture.Campaign {
	t.Helper()
	camp := seedCampaign(t, h, "February product news", func(c *nurture.Campaign) {
		c.AB = &nurture.CampaignAB{Variants: []nurture.CampaignVariant{{Name: "A", Subject: "What's new in February"}, {Name: "B", Subject: "Three things we built for you"}},
			TestShare: 0.2, Metric: "clicks", Wait: 4 * time.Hour}
	})
	_, err := h.pool.Exec(context.Background(), `UPDATE campaigns SET status = 'sent', started_at = $2, finished_at = $2 WHERE id = $1`, camp.ID, now.Add(-time.Hour))
	require.NoError(t, err)
	people := seedContacts(t, h, "team", "team", "team", "team", "team")
	links := []string{"https://example.com/changelog/2026-02-very-long-path-that-wraps", "https://example.com/pricing", "https://example.com/blog"}
	for i, p := range people {
		m := seedMessage(t, h, camp.ID, p, []string{"sent", "sent", "sent", "sent", "bounced"}[i])
		seedHit(t, h, m, p, "open", "human", "")
		for _, l := range links[:3-i%3] {
			seedHit(t, h, m, p, "click", "human", l)
		}
	}
	_, err = h.store.DecideWinner(context.Background(), camp.ID, 1, []nurture.VariantResult{
		{Variant: 0, Audience: 100, Sent: 100, HumanOpens: 40, HumanClicks: 9}, {Variant: 1, Audience: 100, Sent: 99, HumanOpens: 44, HumanClicks: 17}}, now)
	require.NoError(t, err)
	return camp
}

// value is the value of the first form field matching the CSS selector.
func value(ctx context.Context, t *testing.T, selector string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(selector)))
	require.NoError(t, err, "value of %s", selector)
	return v
}

// waitForText waits until the element's text is want.
func waitForText(ctx context.Context, t *testing.T, selector, want string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(`+jsString(selector)+`).textContent === `+jsString(want),
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "waiting for %q in %s (it says %q)", want, selector, text(ctx, t, selector))
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
