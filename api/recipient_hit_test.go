package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

func TestClickRedirectEscapesLikeHTTPRedirect(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	for _, target := range []string{
		"https://acme.example/pricing?plan=team#faq",
		"https://acme.example/caf\u00e9/men\u00fc?q=\u00fcber",
		"https://xn--bcher-kva.example/\u65e5\u672c",
	} {
		tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: r.message, ContactID: r.contact, LinkIndex: 1, URL: target})
		w := r.serve(httptest.NewRequest(http.MethodGet, "/c/"+tok, nil))
		require.Equal(t, http.StatusFound, w.Code, target)
		want := httptest.NewRecorder()
		http.Redirect(want, httptest.NewRequest(http.MethodGet, "/", nil), target, http.StatusFound)
		require.Equal(t, want.Header().Get("Location"), w.Header().Get("Location"), target)
		require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		require.Equal(t, "no-referrer", w.Header().Get("Referrer-Policy"))
	}
	require.Equal(t, 3, r.hits(t))
}

func TestPixelHeadersAndBody(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	tok := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: r.message, ContactID: r.contact})
	for _, path := range []string{"/o/" + tok, "/o/not-a-token"} {
		w := r.serve(httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, w.Code)
		require.Equal(t, "image/gif", w.Header().Get("Content-Type"))
		require.Equal(t, "no-store, no-cache, must-revalidate, private", w.Header().Get("Cache-Control"))
		require.Equal(t, "no-cache", w.Header().Get("Pragma"))
		require.Len(t, w.Body.Bytes(), 43)
		require.Equal(t, "GIF89a", w.Body.String()[:6])
	}
	require.Equal(t, 1, r.hits(t), "the bad token recorded nothing")
}

func TestErasedContactsTokensRecordNothing(t *testing.T) {
	t.Parallel()
	r := setupRecipient(t)
	_, err := r.pool.Exec(context.Background(), `UPDATE contacts SET erased_at = now() WHERE id = $1`, r.contact)
	require.NoError(t, err)
	open := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: r.message, ContactID: r.contact})
	click := r.signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: r.message, ContactID: r.contact, URL: "https://acme.example/"})
	w := r.serve(httptest.NewRequest(http.MethodGet, "/o/"+open, nil))
	require.Equal(t, http.StatusOK, w.Code)
	w = r.serve(httptest.NewRequest(http.MethodGet, "/c/"+click, nil))
	require.Equal(t, http.StatusFound, w.Code, "the link still works")
	require.Zero(t, r.hits(t))
}

func TestHitAddressIsThePeersUnlessAProxyIsTrusted(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		trusted []string
		want    string
	}{
		"no trusted proxy: X-Forwarded-For ignored": {nil, "192.0.2.1"},
		"trusted proxy: X-Forwarded-For believed":   {[]string{"192.0.2.1"}, "203.0.113.9"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			signer, _ := nurture.NewSigner(strings.Repeat("r", 32))
			b := setup(t, func(c *api.Config) {
				c.Recipients.Signer, c.Recipients.Hits, c.TrustedProxies = signer, c.Recipients.Store.(api.HitStore), tc.trusted
			})
			t.Cleanup(b.api.Close)
			ctx := context.Background()
			c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "reader@example.com"})
			require.NoError(t, err)
			m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: received})
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, "/o/"+signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.ID, ContactID: c.ID}), nil)
			req.RemoteAddr = "192.0.2.1:41234"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			b.api.ServeHTTP(httptest.NewRecorder(), req)
			var ip string
			require.NoError(t, b.pool.QueryRow(ctx, `SELECT ip FROM email_events`).Scan(&ip))
			require.Equal(t, tc.want, ip)
		})
	}
}

func TestMessageTimelineShowsOpensAndClicksWithTheirClass(t *testing.T) {
	t.Parallel()
	signer, _ := nurture.NewSigner(strings.Repeat("r", 32))
	b := setup(t, func(c *api.Config) {
		c.Recipients.Signer, c.Recipients.Hits = signer, c.Recipients.Store.(api.HitStore)
	})
	t.Cleanup(b.api.Close)
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "reader@example.com"})
	require.NoError(t, err)
	msg := func(key string) int64 {
		m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: c.ID, Template: "welcome", SendAt: received})
		require.NoError(t, err)
		return m.ID
	}
	id, other := msg("k1"), msg("k2")
	sent := received.Add(-time.Hour)
	get := func(tok, ua string) {
		req := httptest.NewRequest(http.MethodGet, tok, nil)
		req.Header.Set("User-Agent", ua)
		b.api.ServeHTTP(httptest.NewRecorder(), req)
	}
	const person = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"
	open := func(m int64) string {
		return "/o/" + signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m, ContactID: c.ID, IssuedAt: sent})
	}
	get(open(id), person)
	get(open(id), "Mozilla/5.0") // Apple Mail Privacy Protection
	get("/c/"+signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: id, ContactID: c.ID, IssuedAt: sent, LinkIndex: 2, URL: "https://acme.example/docs"}), person)
	get(open(other), person) // the same contact's other email: not in this timeline

	resp := b.do(t, request{method: http.MethodGet, path: "/v1/messages/" + strconv.FormatInt(id, 10), key: b.admin, bearer: true})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	var out struct {
		Opens    int `json:"humanOpens"`
		Clicks   int `json:"humanClicks"`
		Timeline []struct {
			Event, Class, Reason, URL string
			Link                      *int
		} `json:"timeline"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &out))
	require.Equal(t, 1, out.Opens)
	require.Equal(t, 1, out.Clicks)
	var hits []string
	for _, e := range out.Timeline {
		switch e.Event {
		case "open", "click":
			hits = append(hits, e.Event+":"+e.Class+":"+e.Reason)
		}
		if e.Event == "click" {
			require.Equal(t, "https://acme.example/docs", e.URL)
			require.NotNil(t, e.Link)
			require.Equal(t, 2, *e.Link)
		}
	}
	require.ElementsMatch(t, []string{"open:human:", "open:machine:apple-mail-privacy-protection", "click:human:"}, hits)
}

// TestHitPathsAnswerAsThroughGin: the pixel and the click are answered
// before Gin when no proxy is trusted, and through Gin's routes and
// middleware when one is; both answer every request alike, status,
// headers and body, a panic and a body too large included, and record the
// same hits.
func TestHitPathsAnswerAsThroughGin(t *testing.T) {
	t.Parallel()
	signer, err := nurture.NewSigner(strings.Repeat("h", 32))
	require.NoError(t, err)
	sent := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	open := signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: 7, ContactID: 8, IssuedAt: sent})
	click := signer.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: 7, ContactID: 8, IssuedAt: sent, LinkIndex: 2,
		URL: "https://acme.example/caf\u00e9?q=1"})
	type server struct {
		api   *api.API
		hits  *listedHits
		clock *breakingClock
	}
	newServer := func(trusted []string) server {
		s := server{hits: &listedHits{}, clock: &breakingClock{}}
		s.api, err = api.New(api.Config{
			Recipients:     &api.Recipients{Store: unusedRecipientStore{}, Signer: signer, Hits: s.hits},
			TrustedProxies: trusted,
			MaxBodyBytes:   1 << 10,
			Clock:          s.clock,
			Logger:         slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(s.api.Close)
		return s
	}
	serve := func(s server, method, path, body string, breakClock bool) *httptest.ResponseRecorder {
		var r io.Reader = http.NoBody
		if body != "" {
			r = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, r)
		req.RemoteAddr = "198.51.100.7:4242"
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
		if breakClock {
			s.clock.breakAt.Store(2) // the request's start, then the hit's moment
		}
		w := httptest.NewRecorder()
		s.api.ServeHTTP(w, req)
		return w
	}
	lean, gin := newServer(nil), newServer([]string{"203.0.113.1"}) // a proxy that never calls
	for _, tc := range []struct {
		method, path, body string
		breakClock         bool
	}{
		{http.MethodGet, "/o/" + open, "", false},
		{http.MethodGet, "/o/" + open + "?x=1", "", false},
		{http.MethodGet, "/o/not-a-token", "", false},
		{http.MethodGet, "/o/" + click, "", false},
		{http.MethodHead, "/o/" + open, "", false},
		{http.MethodPost, "/o/" + open, "", false},
		{http.MethodGet, "/c/" + click, "", false},
		{http.MethodHead, "/c/" + click, "", false},
		{http.MethodGet, "/c/" + click + "?url=https://evil.example", "", false},
		{http.MethodGet, "/c/" + open, "", false},
		{http.MethodGet, "/c/not-a-token", "", false},
		{http.MethodPut, "/c/" + click, "", false},
		{http.MethodGet, "/c/", "", false},
		{http.MethodGet, "/o/" + open + "/", "", false},
		{http.MethodGet, "/o/a/b", "", false},
		{http.MethodGet, "/o/" + open, strings.Repeat("x", 2<<10), false},
		{http.MethodGet, "/o/" + open, "", true},
		{http.MethodGet, "/c/" + click, "", true},
	} {
		want, got := serve(gin, tc.method, tc.path, tc.body, tc.breakClock), serve(lean, tc.method, tc.path, tc.body, tc.breakClock)
		name := tc.method + " " + tc.path
		require.Equal(t, want.Code, got.Code, name)
		require.Equal(t, want.Header(), got.Header(), name)
		require.Equal(t, want.Body.String(), got.Body.String(), name)
	}
	require.Equal(t, http.StatusInternalServerError, serve(lean, http.MethodGet, "/o/"+open, "", true).Code)
	require.NotEmpty(t, lean.hits.list())
	require.Equal(t, gin.hits.list(), lean.hits.list())
}

// listedHits keeps the hits it is given, their moments left out.
type listedHits struct {
	mu   sync.Mutex
	hits []nurture.Hit
}

func (l *listedHits) RecordHits(_ context.Context, hits []nurture.Hit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range hits {
		h.At = time.Time{}
		l.hits = append(l.hits, h)
	}
	return nil
}

func (l *listedHits) list() []nurture.Hit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hits)
}

// breakingClock is the system's clock, which panics at the breakAt-th
// reading from when it is set.
type breakingClock struct{ breakAt atomic.Int32 }

func (c *breakingClock) Now() time.Time {
	if c.breakAt.Add(-1) == 0 {
		panic("the clock broke")
	}
	return time.Now()
}
