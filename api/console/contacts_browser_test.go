package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// A marketer finds a contact by typing in the search box, opens them,
// reads their timeline and erases them after confirming, in a real
// browser: on a desktop with scripts, and on a phone's width without.
func TestBrowserContacts(t *testing.T) {
	t.Parallel()
	br := testkit.Browser(t)
	for _, p := range viewports {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t)
			ada := seedAda(t, h)
			addContact(t, h, "grace@navy.example", "Grace", "Hopper", "ADA Systems")
			ctx := openTab(t, br, p)
			h.browserSignIn(ctx, t)
			shot := func(name string) {
				testkit.Screenshot(ctx, t, artifacts(t), "contacts-"+name+"-"+p.name+".png", int(p.width))
			}

			testkit.ClickAndWait(ctx, t, `nav a[href="/admin/contacts"]`)
			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#q"), "lovel")))
			testkit.ClickAndWait(ctx, t, ".search button[type=submit]")
			require.Contains(t, text(ctx, t, "table.contacts"), "Ada Lovelace")
			require.NotContains(t, text(ctx, t, "table.contacts"), "Grace")
			shot("search")

			testkit.ClickAndWait(ctx, t, "table.contacts td a")
			require.Contains(t, location(ctx, t), fmt.Sprintf("/admin/contacts/%d", ada))
			require.Equal(t, "Ada Lovelace", text(ctx, t, "h1"))
			timeline := text(ctx, t, "ol.timeline")
			require.Contains(t, timeline, "Clicked a link in “welcome”")
			require.Contains(t, timeline, "Email “welcome”")
			require.Contains(t, timeline, "Signed Up")
			shot("profile")

			testkit.ClickAndWait(ctx, t, ".contact-actions a.danger")
			require.Contains(t, text(ctx, t, "h1"), "Erase Ada Lovelace?")
			shot("erase")
			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#confirm"), "ada@example.com")))
			testkit.ClickAndWait(ctx, t, "main form button.danger")
			require.Contains(t, location(ctx, t), "/admin/contacts?done=")
			require.Contains(t, text(ctx, t, ".notice"), fmt.Sprintf("Contact %d was erased.", ada))
			shot("erased")

			require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#q"), "ada")))
			testkit.ClickAndWait(ctx, t, ".search button[type=submit]")
			require.Contains(t, text(ctx, t, "table.contacts"), "Grace Hopper", "the other contact is still found")
			require.NotContains(t, text(ctx, t, "main"), "Lovelace")
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/admin/contacts/%d", h.srv.URL, ada))))
			require.Contains(t, text(ctx, t, "main"), "There is no contact with this id")
		})
	}
}
