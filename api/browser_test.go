//go:build linux

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// The preference page in a real browser: Debian's headless Chromium, driven
// through the Chrome DevTools Protocol over --remote-debugging-pipe (no
// port, no websocket, no browser library). It renders, it is usable without
// JavaScript and on a phone's width, its checkboxes save, and screenshots
// are kept in testdata/artifacts (git ignores them).
//
// Without a chromium binary the test skips, except under CI=true, where it
// fails: CI installs Chromium (.ci/run) and must not skip this silently.
func TestBrowserPreferencePage(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found (%v): CI must run the browser test; install Debian's chromium package", err)
		}
		t.Skip("chromium not found: install Debian's chromium package (apt-get install chromium) to run the browser test")
	}
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
	br := startChromium(t, chromium)

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

			tab := br.newTab(ctx, t)
			tab.call(ctx, t, "Emulation.setDeviceMetricsOverride", obj{"width": p.width, "height": p.height,
				"deviceScaleFactor": 1, "mobile": p.mobile}, nil)
			if !p.script {
				tab.call(ctx, t, "Emulation.setScriptExecutionDisabled", obj{"value": true}, nil)
			}
			tab.navigate(ctx, t, pageURL)

			doc := tab.document(ctx, t)
			checkAccessible(t, doc)
			require.Contains(t, doc.text(), email)
			require.Nil(t, doc.find(func(n *domNode) bool { return n.attr("role") == "status" }), "nothing saved yet")
			boxes := checkboxes(doc)
			require.Equal(t, []string{"education", "marketing", "onboarding", "product"}, slices.Sorted(maps.Keys(boxes)), "topics")
			for topic, box := range boxes {
				require.True(t, box.has("checked"), "%s starts checked", topic)
			}
			checkAXTree(ctx, t, tab, map[string]bool{"Newsletters and offers": true, "Product news": true})
			tab.screenshot(ctx, t, filepath.Join(artifacts, p.shot+".png"), p.width)

			// A person's clicks: the marketing box, then "Save my choices".
			tab.click(ctx, t, boxes["marketing"])
			checkAXTree(ctx, t, tab, map[string]bool{"Newsletters and offers": false, "Product news": true})
			save := doc.find(func(n *domNode) bool { return n.Name == "BUTTON" && n.attr("class") == "primary" })
			require.NotNil(t, save, "the save button")
			loaded, stop := tab.subscribe("Page.loadEventFired")
			tab.click(ctx, t, save)
			tab.wait(ctx, t, loaded, "the page after saving", func(json.RawMessage) bool { return true })
			stop()

			var optedOut []string
			require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(array_agg(topic ORDER BY topic), '{}') FROM topic_optouts WHERE contact_id = $1`, c.ID).Scan(&optedOut))
			require.Equal(t, []string{"marketing"}, optedOut, "only marketing is opted out")

			doc = tab.document(ctx, t)
			checkAccessible(t, doc)
			status := doc.find(func(n *domNode) bool { return n.attr("role") == "status" })
			require.NotNil(t, status, "the page says it saved")
			require.Equal(t, "Your choices are saved.", strings.TrimSpace(status.text()))
			for topic, box := range checkboxes(doc) {
				require.Equal(t, topic != "marketing", box.has("checked"), "%s after saving", topic)
			}
			checkAXTree(ctx, t, tab, map[string]bool{"Newsletters and offers": false, "Product news": true})
			tab.screenshot(ctx, t, filepath.Join(artifacts, p.shot+"-saved.png"), p.width)
			if p.mobile {
				tab.call(ctx, t, "Emulation.setEmulatedMedia", obj{"features": []obj{{"name": "prefers-color-scheme", "value": "dark"}}}, nil)
				tab.screenshot(ctx, t, filepath.Join(artifacts, p.shot+"-dark.png"), p.width)
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

		tab := br.newTab(ctx, t)
		tab.navigate(ctx, t, pageURL)
		var formToken string
		tab.document(ctx, t).walk(func(n *domNode) {
			if n.Name == "INPUT" && n.attr("name") == "form" {
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
		tab.navigate(ctx, t, evilURL)
		button := tab.document(ctx, t).find(func(n *domNode) bool { return n.Name == "BUTTON" })
		require.NotNil(t, button)
		loaded, stop := tab.subscribe("Page.loadEventFired")
		tab.click(ctx, t, button)
		tab.wait(ctx, t, loaded, "the page after the cross-site post", func(json.RawMessage) bool { return true })
		stop()

		var optedOut []string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(array_agg(topic ORDER BY topic), '{}') FROM topic_optouts WHERE contact_id = $1`, c.ID).Scan(&optedOut))
		require.Equal(t, []string{"marketing"}, optedOut, "still opted out of marketing")
		alert := tab.document(ctx, t).find(func(n *domNode) bool { return n.attr("role") == "alert" })
		require.NotNil(t, alert, "the page says nothing changed")
		require.Contains(t, alert.text(), "Nothing was changed")
	})
}

// checkAccessible asserts the basics a screen reader and a phone need, and
// that the page has no script to need.
func checkAccessible(t *testing.T, doc *domNode) {
	t.Helper()
	html := doc.find(func(n *domNode) bool { return n.Name == "HTML" })
	require.NotNil(t, html)
	require.NotEmpty(t, html.attr("lang"), "<html lang>")
	require.NotNil(t, doc.find(func(n *domNode) bool {
		return n.Name == "META" && n.attr("name") == "viewport" && strings.Contains(n.attr("content"), "width=device-width")
	}), "viewport meta")
	require.Nil(t, doc.find(func(n *domNode) bool { return n.Name == "SCRIPT" }), "the page needs no script")
	var inputs, buttons int
	doc.walk(func(n *domNode) {
		switch {
		case n.Name == "INPUT" && n.attr("type") == "checkbox":
			inputs++
			require.NotNil(t, n.ancestor("LABEL"), "checkbox %s is inside a <label>", n.attr("value"))
		case n.Name == "BUTTON":
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
func checkAXTree(ctx context.Context, t *testing.T, tab *cdpTab, want map[string]bool) {
	t.Helper()
	var tree struct {
		Nodes []struct {
			Ignored    bool
			Role, Name axValue
			Properties []struct {
				Name  string
				Value axValue
			}
		}
	}
	tab.call(ctx, t, "Accessibility.getFullAXTree", obj{}, &tree)
	seen := map[string]bool{}
	for _, n := range tree.Nodes {
		role, name := fmt.Sprint(n.Role.Value), strings.TrimSpace(fmt.Sprint(n.Name.Value))
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
				if p.Name == "checked" {
					state = fmt.Sprint(p.Value.Value) // "true", "false" or "mixed"
				}
			}
			require.Equal(t, fmt.Sprint(checked), state, "checkbox %q", name)
		}
	}
	require.Len(t, seen, len(want), "checkboxes found by accessible name: %v", seen)
}

// axValue is a value of the accessibility tree.
type axValue struct{ Value any }

// checkboxes maps each topic to its checkbox.
func checkboxes(doc *domNode) map[string]*domNode {
	out := map[string]*domNode{}
	doc.walk(func(n *domNode) {
		if n.Name == "INPUT" && n.attr("type") == "checkbox" {
			out[n.attr("value")] = n
		}
	})
	return out
}

// domNode is a node of DOM.getDocument.
type domNode struct {
	ID       int64      `json:"nodeId"`
	Type     int        `json:"nodeType"`
	Name     string     `json:"nodeName"`
	Value    string     `json:"nodeValue"`
	Attrs    []string   `json:"attributes"` // name, value, name, value...
	Children []*domNode `json:"children"`
	parent   *domNode
}

func (n *domNode) link() {
	for _, c := range n.Children {
		c.parent = n
		c.link()
	}
}

func (n *domNode) attr(name string) string {
	for i := 0; i+1 < len(n.Attrs); i += 2 {
		if n.Attrs[i] == name {
			return n.Attrs[i+1]
		}
	}
	return ""
}

func (n *domNode) has(name string) bool {
	for i := 0; i < len(n.Attrs); i += 2 {
		if n.Attrs[i] == name {
			return true
		}
	}
	return false
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
		if p.Name == name {
			return p
		}
	}
	return nil
}

// text is the text content, as textContent, but for <style>.
func (n *domNode) text() string {
	var sb strings.Builder
	n.walk(func(c *domNode) {
		if c.Type == 3 && (c.parent == nil || c.parent.Name != "STYLE") {
			sb.WriteString(c.Value)
		}
	})
	return sb.String()
}

// cdpBrowser is a Chromium process and the DevTools Protocol spoken over
// its pipe: JSON messages ending in a NUL byte, in on fd 3, out on fd 4.
type cdpBrowser struct {
	out    *os.File // our end of Chromium's fd 3
	writeM sync.Mutex

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpMessage
	subs    map[string][]chan json.RawMessage // by session id + " " + event method
	done    chan struct{}                     // closed when the pipe is closed
	readErr error
}

// cdpCommand is a message to Chromium.
type cdpCommand struct {
	ID        int64  `json:"id"`
	SessionID string `json:"sessionId,omitempty"`
	Method    string `json:"method"`
	Params    any    `json:"params"`
}

// cdpMessage is a message from Chromium: an answer (ID) or an event (Method).
type cdpMessage struct {
	ID        int64
	SessionID string
	Method    string
	Params    json.RawMessage
	Result    json.RawMessage
	Error     *struct {
		Code    int
		Message string
	}
}

// startChromium starts headless Chromium with a profile of its own and
// stops it when the test ends.
func startChromium(t *testing.T, path string) *cdpBrowser {
	t.Helper()
	toChrome, ourOut, err := os.Pipe()
	require.NoError(t, err)
	ourIn, fromChrome, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
		"--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
		"--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fds 3 and 4
	// A group of its own, to stop its renderers with it; and killed if
	// the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second // for a child that would keep stderr open
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start(), "start chromium")
	_ = toChrome.Close()
	_ = fromChrome.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	br := &cdpBrowser{out: ourOut, pending: map[int64]chan cdpMessage{}, subs: map[string][]chan json.RawMessage{}, done: make(chan struct{})}
	go br.read(ourIn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = br.send(ctx, "", "Browser.close", obj{}, nil)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		// Whatever is left of its process group (Setpgid: the group is
		// Chromium's pid, and only its processes are in it).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		_ = ourOut.Close()
		select {
		case <-br.done:
		case <-time.After(5 * time.Second):
			t.Logf("chromium's DevTools pipe stayed open after it exited: closing our end")
		}
		_ = ourIn.Close()
		<-br.done
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", tail(stderr.String(), 4000))
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var version struct{ Product string }
	require.NoError(t, br.send(ctx, "", "Browser.getVersion", obj{}, &version), "chromium did not answer on its DevTools pipe")
	t.Logf("%s (%s)", version.Product, path)
	return br
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func (br *cdpBrowser) read(in io.Reader) {
	r := bufio.NewReaderSize(in, 1<<20)
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m cdpMessage
		if json.Unmarshal(line[:len(line)-1], &m) != nil {
			continue
		}
		br.mu.Lock()
		if m.ID != 0 {
			if ch, ok := br.pending[m.ID]; ok {
				delete(br.pending, m.ID)
				ch <- m
			}
		} else if m.Method != "" {
			for _, ch := range br.subs[m.SessionID+" "+m.Method] {
				select {
				case ch <- m.Params:
				default: // a subscriber that stopped reading misses events
				}
			}
		}
		br.mu.Unlock()
	}
	br.mu.Lock()
	br.readErr = err
	br.mu.Unlock()
	close(br.done)
}

// send calls method in session ("" for the browser) and decodes its result.
func (br *cdpBrowser) send(ctx context.Context, session, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ch := make(chan cdpMessage, 1)
	br.mu.Lock()
	br.nextID++
	id := br.nextID
	br.pending[id] = ch
	br.mu.Unlock()
	defer func() {
		br.mu.Lock()
		delete(br.pending, id)
		br.mu.Unlock()
	}()
	data, err := json.Marshal(cdpCommand{ID: id, SessionID: session, Method: method, Params: params})
	if err != nil {
		return err
	}
	br.writeM.Lock()
	_, err = br.out.Write(append(data, 0))
	br.writeM.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-br.done:
		return fmt.Errorf("%s: chromium closed its pipe: %v", method, br.readErr)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// cdpTab is a page target, attached in flat mode.
type cdpTab struct {
	br      *cdpBrowser
	session string
}

func (br *cdpBrowser) newTab(ctx context.Context, t *testing.T) *cdpTab {
	t.Helper()
	var target struct{ TargetID string }
	require.NoError(t, br.send(ctx, "", "Target.createTarget", obj{"url": "about:blank"}, &target))
	var attached struct{ SessionID string }
	require.NoError(t, br.send(ctx, "", "Target.attachToTarget", obj{"targetId": target.TargetID, "flatten": true}, &attached))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = br.send(ctx, "", "Target.closeTarget", obj{"targetId": target.TargetID}, nil)
	})
	tab := &cdpTab{br: br, session: attached.SessionID}
	tab.call(ctx, t, "Page.enable", obj{}, nil)
	tab.call(ctx, t, "Page.setLifecycleEventsEnabled", obj{"enabled": true}, nil)
	tab.call(ctx, t, "DOM.enable", obj{}, nil)
	return tab
}

func (tab *cdpTab) call(ctx context.Context, t *testing.T, method string, params, result any) {
	t.Helper()
	require.NoError(t, tab.br.send(ctx, tab.session, method, params, result))
}

// subscribe delivers the tab's events called method until stop; subscribe
// before doing what causes them.
func (tab *cdpTab) subscribe(method string) (events <-chan json.RawMessage, stop func()) {
	ch := make(chan json.RawMessage, 64)
	key := tab.session + " " + method
	br := tab.br
	br.mu.Lock()
	br.subs[key] = append(br.subs[key], ch)
	br.mu.Unlock()
	return ch, func() {
		br.mu.Lock()
		br.subs[key] = slices.DeleteFunc(br.subs[key], func(c chan json.RawMessage) bool { return c == ch })
		br.mu.Unlock()
	}
}

// wait waits, 20 s at most, for an event that match accepts.
func (tab *cdpTab) wait(ctx context.Context, t *testing.T, events <-chan json.RawMessage, what string, match func(json.RawMessage) bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return
			}
		case <-timeout:
			t.Fatalf("%s: not loaded in 20s", what)
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		case <-tab.br.done:
			t.Fatalf("%s: chromium is gone", what)
		}
	}
}

// navigate loads url and waits for its load event (that of this very
// navigation, not of an earlier one).
func (tab *cdpTab) navigate(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	events, stop := tab.subscribe("Page.lifecycleEvent")
	defer stop()
	var nav struct{ LoaderID, ErrorText string }
	tab.call(ctx, t, "Page.navigate", obj{"url": url}, &nav)
	require.Empty(t, nav.ErrorText, "navigate to %s", url)
	tab.wait(ctx, t, events, url, func(ev json.RawMessage) bool {
		var e struct{ LoaderID, Name string }
		return json.Unmarshal(ev, &e) == nil && e.Name == "load" && e.LoaderID == nav.LoaderID
	})
}

func (tab *cdpTab) document(ctx context.Context, t *testing.T) *domNode {
	t.Helper()
	var res struct{ Root *domNode }
	tab.call(ctx, t, "DOM.getDocument", obj{"depth": -1}, &res)
	require.NotNil(t, res.Root)
	res.Root.link()
	return res.Root
}

// click presses and releases the mouse in the middle of n, as a person
// does: no script of the page's or of ours is involved.
func (tab *cdpTab) click(ctx context.Context, t *testing.T, n *domNode) {
	t.Helper()
	tab.call(ctx, t, "DOM.scrollIntoViewIfNeeded", obj{"nodeId": n.ID}, nil)
	var box struct{ Model struct{ Content []float64 } }
	tab.call(ctx, t, "DOM.getBoxModel", obj{"nodeId": n.ID}, &box)
	q := box.Model.Content
	require.Len(t, q, 8, "box of <%s>", strings.ToLower(n.Name))
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		tab.call(ctx, t, "Input.dispatchMouseEvent", obj{"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1}, nil)
	}
}

// screenshot saves the whole page as a PNG at path and logs where; the page
// must fit width without scrolling sideways.
func (tab *cdpTab) screenshot(ctx context.Context, t *testing.T, path string, width int) {
	t.Helper()
	var metrics struct {
		CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
	}
	tab.call(ctx, t, "Page.getLayoutMetrics", obj{}, &metrics)
	require.LessOrEqual(t, metrics.CSSContentSize.Width, float64(width), "the page scrolls sideways at %dpx", width)
	var shot struct{ Data string }
	tab.call(ctx, t, "Page.captureScreenshot", obj{"format": "png", "captureBeyondViewport": true,
		"clip": obj{"x": 0, "y": 0, "width": width, "height": metrics.CSSContentSize.Height, "scale": 1}}, &shot)
	data, err := base64.StdEncoding.DecodeString(shot.Data)
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err, "screenshot is a PNG")
	require.Equal(t, width, cfg.Width, "screenshot width")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	t.Logf("screenshot: %s (%dx%d)", path, cfg.Width, cfg.Height)
}
