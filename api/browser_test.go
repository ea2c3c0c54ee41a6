package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/testkit"
)

// The preference page in a real browser: Debian's headless Chromium, driven
// by chromedp through the Chrome DevTools Protocol over its pipe. It renders, it is usable without
// JavaScript and on a phone's width, its checkboxes save, and screenshots
// are kept in testdata/artifacts (git ignores them).
//
// Without a chromium binary the test skips, except under CI=true, where it
// fails: CI installs Chromium (.ci/run) and must not skip this silently.
func TestBrowserPreferencePage(t *testing.T) {
	t.Parallel()
	br := testkit.Browser(t) // skips without chromium, except under CI=true
	artifacts, err := filepath.Abs(filepath.Join("testdata", "artifacts"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	signer, err := nurture.NewSigner(strings.Repeat("browser-test-secret-", 2))
	require.NoError(t, err)
	b := setup(t, func(c *api.Config) {
		c.Recipients.Signer = signer
	})
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	passes := []struct {
		name          string
		shot          string // file name prefix of the screenshots
		width, height int
		mobile        bool
		script        bool // false: Emulation.setScriptExecutionDisabled
	}{
		{name: "desktop", shot: "preferences", width: 1024, height: 768, script: true},
		{name: "mobile-no-script", shot: "preferences-mobile", width: 390, height: 844, mobile: true},
	}
	for _, p := range passes {
		t.Run(p.name, func(t *testing.T) {
			email := "browser-" + p.name + "@example.com"
			c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: email, FirstName: "Ada"})
			require.NoError(t, err)
			m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "browser:" + p.name,
				ContactID: c.ID, Template: "welcome", SendAt: received})
			require.NoError(t, err)
			token := signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: m.ID, ContactID: c.ID, IssuedAt: received})
			pageURL := srv.URL + "/u/" + token

			tab := newTab(t, br)
			_, err = chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: int64(p.width), Height: int64(p.height), DeviceScaleFactor: 1, Mobile: p.mobile})
			require.NoError(t, err)
			if !p.script {
				_, err = chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
				require.NoError(t, err)
			}
			navigate(tab, t, pageURL)

			doc := document(tab, t)
			checkAccessible(t, doc)
			require.Contains(t, doc.text(), email)
			require.Nil(t, doc.find(func(n *domNode) bool { return n.attr("role") == "status" }), "nothing saved yet")
			boxes := checkboxes(doc)
			require.Equal(t, []string{"education", "marketing", "onboarding", "product"}, slices.Sorted(maps.Keys(boxes)), "topics")
			for topic, box := range boxes {
				require.True(t, box.has("checked"), "%s starts checked", topic)
			}
			checkAXTree(tab, t, map[string]bool{"Newsletters and offers": true, "Product news": true})
			screenshot(tab, t, filepath.Join(artifacts, p.shot+".png"), p.width)

			// A person's clicks: the marketing box, then "Save my choices".
			click(tab, t, boxes["marketing"])
			checkAXTree(tab, t, map[string]bool{"Newsletters and offers": false, "Product news": true})
			save := doc.find(func(n *domNode) bool { return n.NodeName == "BUTTON" && n.attr("class") == "primary" })
			require.NotNil(t, save, "the save button")
			clickAndWaitForLoad(tab, t, save, "the page after saving")

			var optedOut []string
			require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(array_agg(topic ORDER BY topic), '{}') FROM topic_optouts WHERE contact_id = $1`, c.ID).Scan(&optedOut))
			require.Equal(t, []string{"marketing"}, optedOut, "only marketing is opted out")

			doc = document(tab, t)
			checkAccessible(t, doc)
			status := doc.find(func(n *domNode) bool { return n.attr("role") == "status" })
			require.NotNil(t, status, "the page says it saved")
			require.Equal(t, "Your choices are saved.", strings.TrimSpace(status.text()))
			for topic, box := range checkboxes(doc) {
				require.Equal(t, topic != "marketing", box.has("checked"), "%s after saving", topic)
			}
			checkAXTree(tab, t, map[string]bool{"Newsletters and offers": false, "Product news": true})
			screenshot(tab, t, filepath.Join(artifacts, p.shot+"-saved.png"), p.width)
			if p.mobile {
				_, err = chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
				require.NoError(t, err)
				screenshot(tab, t, filepath.Join(artifacts, p.shot+"-dark.png"), p.width)
			}
		})
	}

	// Another site's page with a form that posts to a person's preference
	// page (whose link it has learnt), even with the page's own form token
	// copied in: the person, who opted out of marketing, clicks its button
	// and is not subscribed again. The browser says where the post comes
	// from; no script is involved on either side.
	t.Run("cross-site form", func(t *testing.T) {
		c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "browser-csrf@example.com"})
		require.NoError(t, err)
		m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "browser:csrf", ContactID: c.ID, Template: "welcome", SendAt: received})
		require.NoError(t, err)
		require.NoError(t, b.store.SetPreferences(ctx, c.ID, []nurture.Topic{nurture.TopicMarketing}, nil))
		pageURL := srv.URL + "/u/" + signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: m.ID, ContactID: c.ID})

		tab := newTab(t, br)
		navigate(tab, t, pageURL)
		var formToken string
		document(tab, t).walk(func(n *domNode) {
			if n.NodeName == "INPUT" && n.attr("name") == "form" {
				formToken = n.attr("value")
			}
		})
		require.NotEmpty(t, formToken)

		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><form method="post" action="%s"><input type="hidden" name="form" value="%s">`+
				`<input type="hidden" name="topic" value="onboarding"><input type="hidden" name="topic" value="education">`+
				`<input type="hidden" name="topic" value="product"><input type="hidden" name="topic" value="marketing">`+
				`<button>Win a prize</button></form>`, html.EscapeString(pageURL), html.EscapeString(formToken))
		}))
		t.Cleanup(evil.Close)
		// 127.0.0.1 and localhost are different sites to the browser.
		evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
		require.NotEqual(t, evil.URL, evilURL)
		navigate(tab, t, evilURL)
		button := document(tab, t).find(func(n *domNode) bool { return n.NodeName == "BUTTON" })
		require.NotNil(t, button)
		clickAndWaitForLoad(tab, t, button, "the page after the cross-site post")

		var optedOut []string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(array_agg(topic ORDER BY topic), '{}') FROM topic_optouts WHERE contact_id = $1`, c.ID).Scan(&optedOut))
		require.Equal(t, []string{"marketing"}, optedOut, "still opted out of marketing")
		alert := document(tab, t).find(func(n *domNode) bool { return n.attr("role") == "alert" })
		require.NotNil(t, alert, "the page says nothing changed")
		require.Contains(t, alert.text(), "Nothing was changed")
	})
}

// checkAccessible asserts the basics a screen reader and a phone need, and
// that the page has no script to need.
func checkAccessible(t *testing.T, doc *domNode) {
	t.Helper()
	html := doc.find(func(n *domNode) bool { return n.NodeName == "HTML" })
	require.NotNil(t, html)
	require.NotEmpty(t, html.attr("lang"), "<html lang>")
	require.NotNil(t, doc.find(func(n *domNode) bool {
		return n.NodeName == "META" && n.attr("name") == "viewport" && strings.Contains(n.attr("content"), "width=device-width")
	}), "viewport meta")
	require.Nil(t, doc.find(func(n *domNode) bool { return n.NodeName == "SCRIPT" }), "the page needs no script")
	var inputs, buttons int
	doc.walk(func(n *domNode) {
		switch {
		case n.NodeName == "INPUT" && n.attr("type") == "checkbox":
			inputs++
			require.NotNil(t, n.ancestor("LABEL"), "checkbox %s is inside a <label>", n.attr("value"))
		case n.NodeName == "BUTTON":
			buttons++
			require.NotEmpty(t, strings.TrimSpace(n.text()), "button has text")
		}
	})
	require.Equal(t, 4, inputs, "checkboxes")
	require.Equal(t, 2, buttons, "buttons")
}

// checkAXTree asserts, through Chromium's accessibility tree, that every
// checkbox and button has an accessible name, and the live checked state of
// the checkboxes whose names start as in want.
func checkAXTree(ctx context.Context, t *testing.T, want map[string]bool) {
	t.Helper()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, n := range tree.Nodes {
		role, name := axText(n.Role), strings.TrimSpace(axText(n.Name))
		if n.Ignored || (role != "checkbox" && role != "button") {
			continue
		}
		require.NotEmpty(t, name, "a %s without an accessible name", role)
		if role != "checkbox" {
			continue
		}
		for prefix, checked := range want {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			seen[prefix] = true
			state := "none"
			for _, p := range n.Properties {
				if p.Name == accessibility.PropertyNameChecked {
					state = axText(p.Value) // "true", "false" or "mixed"
				}
			}
			require.Equal(t, fmt.Sprint(checked), state, "checkbox %q", name)
		}
	}
	require.Len(t, seen, len(want), "checkboxes found by accessible name: %v", seen)
}

// axText is a value of the accessibility tree as text: a string as it is,
// anything else as Go prints it.
func axText(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var x any
	if err := json.Unmarshal(v.Value, &x); err != nil {
		return string(v.Value)
	}
	if s, ok := x.(string); ok {
		return s
	}
	return fmt.Sprint(x)
}

// checkboxes maps each topic to its checkbox.
func checkboxes(doc *domNode) map[string]*domNode {
	out := map[string]*domNode{}
	doc.walk(func(n *domNode) {
		if n.NodeName == "INPUT" && n.attr("type") == "checkbox" {
			out[n.attr("value")] = n
		}
	})
	return out
}

// domNode is a node of the page's document as DOM.getDocument gives it,
// with its parent.
type domNode struct {
	*cdp.Node
	Children []*domNode
	parent   *domNode
}

func newDOMNode(n *cdp.Node, parent *domNode) *domNode {
	d := &domNode{Node: n, parent: parent}
	for _, c := range n.Children {
		d.Children = append(d.Children, newDOMNode(c, d))
	}
	return d
}

func (n *domNode) attr(name string) string {
	v, _ := n.has2(name)
	return v
}

func (n *domNode) has(name string) bool {
	_, ok := n.has2(name)
	return ok
}

func (n *domNode) has2(name string) (string, bool) {
	for i := 0; i+1 < len(n.Attributes); i += 2 {
		if n.Attributes[i] == name {
			return n.Attributes[i+1], true
		}
	}
	return "", false
}

func (n *domNode) walk(f func(*domNode)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

func (n *domNode) find(match func(*domNode) bool) *domNode {
	var found *domNode
	n.walk(func(c *domNode) {
		if found == nil && match(c) {
			found = c
		}
	})
	return found
}

func (n *domNode) ancestor(name string) *domNode {
	for p := n.parent; p != nil; p = p.parent {
		if p.NodeName == name {
			return p
		}
	}
	return nil
}

// text is the text content, as textContent, but for <style>.
func (n *domNode) text() string {
	var sb strings.Builder
	n.walk(func(c *domNode) {
		if c.NodeType == 3 && (c.parent == nil || c.parent.NodeName != "STYLE") {
			sb.WriteString(c.NodeValue)
		}
	})
	return sb.String()
}

// newTab opens a tab, closed when the test ends; its context gives up after
// two minutes.
func newTab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	tabCtx, closeTab := chromedp.NewContext(browserCtx)
	ctx, cancel := context.WithTimeout(tabCtx, 2*time.Minute)
	t.Cleanup(func() { cancel(); closeTab() })
	return ctx
}

// navigate loads url and waits for its load event.
func navigate(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)), "navigate to %s", url)
}

// document reads the whole document of the tab.
func document(ctx context.Context, t *testing.T) *domNode {
	t.Helper()
	res, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{Depth: new(int64(-1))})
	require.NoError(t, err)
	require.NotNil(t, res.Root)
	return newDOMNode(res.Root, nil)
}

// click presses and releases the mouse in the middle of n, as a person
// does: no script of the page's or of ours is involved.
func click(ctx context.Context, t *testing.T, n *domNode) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, clickAction(n)), "click <%s>", strings.ToLower(n.NodeName))
}

// clickAndWaitForLoad clicks n and waits for the page it loads.
func clickAndWaitForLoad(ctx context.Context, t *testing.T, n *domNode, what string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, clickAction(n)))
	require.NoError(t, err, what)
}

// clickAction clicks the middle of n's content box. It finds the node by
// its backend id, which stays valid when chromedp reads the document again
// (as it does after a navigation) and renumbers the nodes.
func clickAction(n *domNode) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		id := n.BackendNodeID
		if _, err := cdp.Call(ctx, tgt, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{BackendNodeID: id}); err != nil {
			return err
		}
		box, err := cdp.Call(ctx, tgt, dom.GetBoxModel, dom.GetBoxModelParams{BackendNodeID: id})
		if err != nil {
			return err
		}
		q := box.Model.Content
		if len(q) != 8 {
			return fmt.Errorf("box of <%s> has %d coordinates", strings.ToLower(n.NodeName), len(q))
		}
		x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
		_, err = chromedp.MouseClickXY(x, y)(ctx, tgt)
		return err
	})
}

// screenshot saves the whole page as a PNG at path and logs where; the page
// must fit width without scrolling sideways.
func screenshot(ctx context.Context, t *testing.T, path string, width int) {
	t.Helper()
	testkit.Screenshot(ctx, t, filepath.Dir(path), filepath.Base(path), width)
}
