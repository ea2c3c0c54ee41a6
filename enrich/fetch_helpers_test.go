package enrich

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// guard sits under the fetcher's own checks in every test: it fails the
// test on any connection outside 127.0.0.0/8 (and refuses it), so a bug in
// the checks can never reach another address, and it records every address
// dialled so a test can prove a refusal came before it.
type guard struct {
	t      *testing.T
	mu     sync.Mutex
	dialed []string
}

func (g *guard) wrap(next DialFunc) DialFunc {
	outside := LoopbackOnly(func(address string) {
		g.t.Errorf("guard: connection to %s, outside 127.0.0.0/8", address)
	})(next)
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		g.mu.Lock()
		g.dialed = append(g.dialed, address)
		g.mu.Unlock()
		return outside(ctx, network, address)
	}
}

func (g *guard) addrs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.dialed...)
}

// serveOn starts an HTTP test server listening on ip (a loopback address).
func serveOn(t *testing.T, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// serveAcme serves Acme Robotics' site on loopback (testdata/site: a home
// page with JSON-LD and its about page), counting requests in requests
// when it is not nil.
func serveAcme(t *testing.T, requests *atomic.Int32) *httptest.Server {
	t.Helper()
	return serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests != nil {
			requests.Add(1)
		}
		name := map[string]string{"/": "jsonld.html", "/company/about-us": "about.html"}[r.URL.Path]
		if name == "" {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(filepath.Join("testdata", "site", name))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	}))
}

// port returns the port of a test server.
func port(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

type fetchBundle struct {
	f     *Fetcher
	guard *guard
	cfg   FetchConfig
}

// setupFetch returns a fetcher that admits allow (a loopback prefix, or
// the zero Prefix as in production), resolves through a local DNS server
// holding records, never waits for a rate limit, and dials through a guard.
func setupFetch(t *testing.T, allow netip.Prefix, records ...string) fetchBundle {
	t.Helper()
	g := &guard{t: t}
	cfg := FetchConfig{
		ContactURL:    "https://nurture.test/bot",
		Resolver:      NewResolver(testkit.StartDNS(t, records...)),
		Limiter:       Unlimited{},
		Clock:         fixedClock{},
		AllowLoopback: allow,
		WrapDial:      g.wrap,
	}
	return fetchBundle{f: NewFetcher(cfg), guard: g, cfg: cfg}
}

var testTime = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

type fixedClock struct{}

func (fixedClock) Now() time.Time { return testTime }

func urlParse(s string) (*url.URL, error) { return url.Parse(s) }
