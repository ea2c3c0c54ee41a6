package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// now is when the tests run, by the console's clock.
var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// harness is the console on the real store of a fresh schema, served over
// HTTP, with an admin key to sign in with.
type harness struct {
	srv      *httptest.Server
	console  *console.Console
	store    *postgres.DB
	pool     *pgxpool.Pool
	clock    *testkit.Clock
	adminKey string // a key named "ops admin" with scope admin
}

// newHarness builds the console with every page it has (allPages), then
// lets configure change the Config before New.
func newHarness(t *testing.T, configure ...func(*console.Config)) *harness {
	t.Helper()
	pool := testkit.DB(t)
	h := &harness{pool: pool, store: postgres.New(pool), clock: testkit.NewClock(now)}
	h.adminKey = h.newKey(t, "ops admin", nurture.ScopeAdmin)
	cfg := console.Config{Keys: h.store, Sessions: h.store, Audit: h.store, Clock: h.clock,
		Product: nurture.Product{Name: "Acme CRM"}}
	allPages(t, h, &cfg)
	for _, c := range configure {
		c(&cfg)
	}
	k, err := console.New(cfg)
	require.NoError(t, err)
	h.console = k
	h.srv = httptest.NewServer(k)
	t.Cleanup(h.srv.Close)
	return h
}

// allPages gives cfg every page the console has, on the harness's store.
// Each page's concern is one line here.
func allPages(t *testing.T, h *harness, cfg *console.Config) {
	t.Helper()
	cfg.Contacts = contactPages(h)
	cfg.Sequences = sequencesPages(t, h)
	cfg.Templates = templatesPages(t, h)
	cfg.Campaigns = campaignPages(t, h)
	cfg.Suppressions = &console.Suppressions{Store: h.store}
	cfg.Queues = queueUI(t, "127.0.0.1:1") // nothing listens: the UI's page serves, its data calls fail
	cfg.Overview = &console.Overview{Activity: h.store}
}

// newKey creates an API key and returns it.
func (h *harness) newKey(t *testing.T, name string, scopes ...nurture.Scope) string {
	t.Helper()
	key, stored, err := nurture.NewAPIKey(name, scopes)
	require.NoError(t, err)
	require.NoError(t, h.store.CreateAPIKey(context.Background(), stored))
	return key
}

// client is a browser without JavaScript: it keeps cookies and does not
// follow redirects (tests look at them).
func (h *harness) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn is a client signed in with the admin key.
func (h *harness) signedIn(t *testing.T) *http.Client {
	t.Helper()
	c := h.client(t)
	res := h.signIn(t, c, h.adminKey, "")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "sign in")
	return c
}

// signIn fills in and posts the sign-in form with key, as a person does.
func (h *harness) signIn(t *testing.T, c *http.Client, key, next string) *http.Response {
	t.Helper()
	page, _ := h.get(t, c, "/admin/sign-in?next="+url.QueryEscape(next))
	form := url.Values{"key": {key}, "csrf": {csrfOf(t, page)}, "next": {next}}
	return h.post(t, c, "/admin/sign-in", form)
}

// get fetches path and returns the body and the response.
func (h *harness) get(t *testing.T, c *http.Client, path string) (string, *http.Response) {
	t.Helper()
	res, err := c.Get(h.srv.URL + path)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b), res
}

// post posts form to path as it is (add "csrf" yourself, or use submit).
func (h *harness) post(t *testing.T, c *http.Client, path string, form url.Values) *http.Response {
	t.Helper()
	res, err := c.PostForm(h.srv.URL+path, form)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	require.NoError(t, res.Body.Close())
	return res
}

// submit posts form to path with the CSRF token of the page at from, as
// the form on that page would.
func (h *harness) submit(t *testing.T, c *http.Client, from, path string, form url.Values) *http.Response {
	t.Helper()
	page, res := h.get(t, c, from)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s", from)
	form.Set("csrf", csrfOf(t, page))
	return h.post(t, c, path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token of the first form of page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, m, "no CSRF token in the page:\n%s", page)
	return m[1]
}

// artifacts is where browser tests keep their screenshots (git ignores it).
func artifacts(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "artifacts"))
	require.NoError(t, err)
	return dir
}

// browserSignIn signs the tab in with the admin key through the sign-in
// page, by typing and clicking.
func (h *harness) browserSignIn(ctx context.Context, t *testing.T) {
	t.Helper()
	require.NoError(t, chromedpSignIn(ctx, h.srv.URL, h.adminKey))
	require.Contains(t, strings.ToLower(location(ctx, t)), "/admin")
}

type consoleConfig = console.Config
