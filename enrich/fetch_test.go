package enrich

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	none := netip.Prefix{}
	lo := netip.MustParsePrefix("127.0.0.0/8")
	only2 := netip.MustParsePrefix("127.0.0.2/32")
	tests := []struct {
		addr  string
		allow netip.Prefix
		ok    bool
	}{
		// Public addresses pass.
		{"93.184.215.14", none, true},
		{"8.8.8.8", none, true},
		{"2606:4700::6810:85e5", none, true},
		{"::ffff:8.8.8.8", none, true}, // mapped: judged as the IPv4 it carries
		// IPv4 special ranges.
		{"127.0.0.1", none, false},
		{"127.1.2.3", none, false},
		{"10.0.0.1", none, false},
		{"172.16.5.4", none, false},
		{"192.168.1.1", none, false},
		{"169.254.1.1", none, false},
		{"169.254.169.254", none, false}, // AWS, GCP, Azure metadata
		{"100.64.0.1", none, false},      // CGNAT
		{"100.100.100.200", none, false}, // Alibaba metadata
		{"168.63.129.16", none, false},   // Azure WireServer, a public address
		{"192.0.0.192", none, false},     // Oracle metadata
		{"0.0.0.0", none, false},
		{"224.0.0.1", none, false},
		{"239.255.255.250", none, false},
		{"255.255.255.255", none, false},
		{"192.0.2.1", none, false},
		{"198.18.0.1", none, false},
		// IPv6.
		{"::1", none, false},
		{"::", none, false},
		{"fe80::1", none, false},
		{"fe80::1%eth0", none, false},
		{"fc00::1", none, false},
		{"fd00:ec2::254", none, false}, // AWS metadata over IPv6
		{"ff02::1", none, false},
		{"2001:db8::1", none, false},
		// Mapped forms of refused IPv4.
		{"::ffff:127.0.0.1", none, false},
		{"::ffff:10.0.0.1", none, false},
		{"::ffff:169.254.169.254", none, false},
		// NAT64 forms: refused whatever they carry.
		{"64:ff9b::7f00:1", none, false},
		{"64:ff9b::a9fe:a9fe", none, false},
		{"64:ff9b::808:808", none, false},
		{"64:ff9b:1::a00:1", none, false},
		// Loopback admitted for tests: that prefix only.
		{"127.0.0.1", lo, true},
		{"::ffff:127.0.0.1", lo, true},
		{"127.0.0.2", only2, true},
		{"127.0.0.1", only2, false},
		{"10.0.0.1", lo, false},
		{"169.254.169.254", lo, false},
		{"::1", lo, false},
		{"64:ff9b::7f00:1", lo, false},
		// A prefix outside loopback is not admitted.
		{"10.0.0.1", netip.MustParsePrefix("10.0.0.0/8"), false},
	}
	for _, tt := range tests {
		err := CheckAddr(netip.MustParseAddr(tt.addr), tt.allow)
		if tt.ok {
			require.NoError(t, err, "%s allow %s", tt.addr, tt.allow)
		} else {
			require.ErrorIs(t, err, ErrRefused, "%s allow %s", tt.addr, tt.allow)
		}
	}
	require.ErrorIs(t, CheckAddr(netip.Addr{}, none), ErrRefused)
}

func TestFetchRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	hits := atomic.Int32{}
	srv := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	b := setupFetch(t, netip.Prefix{}, "loop.test. 60 IN A 127.0.0.1")

	for _, u := range []string{"http://loop.test/", "https://loop.test/", "http://127.0.0.1/", "http://[::ffff:127.0.0.1]/"} {
		_, err := b.f.GetHTML(t.Context(), u)
		require.ErrorIs(t, err, ErrRefused, u)
		require.Equal(t, ReasonRefused, ReasonOf(err), u)
	}
	// Ports other than 80 and 443 are refused before any lookup.
	_, err := b.f.GetHTML(t.Context(), "http://loop.test:"+port(srv)+"/")
	require.Equal(t, ReasonRefused, ReasonOf(err))
	require.Empty(t, b.guard.addrs(), "refused before the dialer")
	require.Zero(t, hits.Load())
}

func TestFetchRefusesSchemesAndCredentials(t *testing.T) {
	t.Parallel()
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"))
	for _, u := range []string{"file:///etc/passwd", "ftp://acme.test/", "gopher://acme.test/", "http://user:pw@acme.test/"} {
		_, err := b.f.GetHTML(t.Context(), u)
		require.Equal(t, ReasonRefused, ReasonOf(err), u)
	}
	_, err := b.f.GetHTML(t.Context(), "http://%zz/")
	require.Equal(t, ReasonInvalidURL, ReasonOf(err))
	require.Empty(t, b.guard.addrs())
}

func TestFetchRefusesRedirectsToForbiddenAddresses(t *testing.T) {
	t.Parallel()
	// The forbidden targets exist and would answer: a refusal is the only
	// way they stay unvisited.
	forbidden := atomic.Int32{}
	target := serveOn(t, "127.0.0.1", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { forbidden.Add(1) }))
	site := serveOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.NotFound(w, r)
		case "/to-loopback":
			http.Redirect(w, r, "http://127.0.0.1:"+port(target)+"/", http.StatusFound)
		case "/to-localhost-name":
			http.Redirect(w, r, "http://loop.test:"+port(target)+"/", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusMovedPermanently)
		case "/to-metadata-v6":
			http.Redirect(w, r, "http://[fd00:ec2::254]/latest/meta-data/", http.StatusTemporaryRedirect)
		case "/to-private-name":
			http.Redirect(w, r, "http://private.test/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<title>ok</title>"))
		}
	}))
	// Only 127.0.0.2 is admitted, so 127.0.0.1 stays forbidden.
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.2/32"),
		"private.test. 60 IN A 10.0.0.1",
		"loop.test. 60 IN A 127.0.0.1",
	)
	base := "http://127.0.0.2:" + port(site)

	resp, err := b.f.GetHTML(t.Context(), base+"/")
	require.NoError(t, err, "the admitted server answers")
	require.Contains(t, string(resp.Body), "ok")

	for _, path := range []string{"/to-loopback", "/to-localhost-name", "/to-metadata", "/to-metadata-v6", "/to-private-name", "/to-file"} {
		_, err := b.f.GetHTML(t.Context(), base+path)
		require.Error(t, err, path)
		require.Equal(t, ReasonRefused, ReasonOf(err), "%s: %v", path, err)
	}
	require.Zero(t, forbidden.Load())
	for _, a := range b.guard.addrs() {
		require.Equal(t, "127.0.0.2:"+port(site), a, "only the admitted server was dialled")
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/r/") && r.URL.Path != "/r/0":
			n := r.URL.Path[len("/r/"):]
			http.Redirect(w, r, "/r/"+string(rune(n[0]-1)), http.StatusFound)
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<title>landed</title>"))
		}
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "acme.test. 60 IN A 127.0.0.1")
	base := "http://acme.test:" + port(site)

	resp, err := b.f.GetHTML(t.Context(), base+"/r/3")
	require.NoError(t, err, "three redirects are followed")
	require.Equal(t, base+"/r/0", resp.URL)
	require.Equal(t, "text/html", resp.ContentType)

	_, err = b.f.GetHTML(t.Context(), base+"/r/4")
	require.Equal(t, ReasonRedirects, ReasonOf(err))
	_, err = b.f.GetHTML(t.Context(), base+"/loop")
	require.Equal(t, ReasonRedirects, ReasonOf(err))
}

func TestFetchLimitsBodyTimeAndType(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("<p>filler</p>", 5<<20/13+1)
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(big))
		case "/slow":
			w.Header().Set("Content-Type", "text/html")
			<-r.Context().Done() // never answers; the client gives up
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		default:
			http.NotFound(w, r)
		}
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "acme.test. 60 IN A 127.0.0.1")
	base := "http://acme.test:" + port(site)

	resp, err := b.f.GetHTML(t.Context(), base+"/big")
	require.NoError(t, err)
	require.True(t, resp.Truncated)
	require.Len(t, resp.Body, DefaultMaxBytes)

	cfg := b.cfg
	cfg.Timeout = 300 * time.Millisecond
	short := NewFetcher(cfg)
	_, err = short.GetHTML(t.Context(), base+"/slow")
	require.Equal(t, ReasonTimeout, ReasonOf(err), "%v", err)

	_, err = b.f.GetHTML(t.Context(), base+"/json")
	require.Equal(t, ReasonContentType, ReasonOf(err))
	_, err = b.f.GetHTML(t.Context(), base+"/gone")
	require.Equal(t, ReasonStatus, ReasonOf(err))
}

func TestFetchHonoursRobotsAndSendsNoCookies(t *testing.T) {
	t.Parallel()
	var robotsHits, privateHits atomic.Int32
	var sawCookie atomic.Bool
	var agent atomic.Value
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent.Store(r.UserAgent())
		if r.Header.Get("Cookie") != "" {
			sawCookie.Store(true)
		}
		switch r.URL.Path {
		case "/robots.txt":
			robotsHits.Add(1)
			_, _ = w.Write([]byte("User-agent: *\nAllow: /\n\nUser-agent: Nurture\nDisallow: /private\n"))
		case "/private":
			privateHits.Add(1)
		default:
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "x"})
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<title>public</title>"))
		}
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "acme.test. 60 IN A 127.0.0.1")
	base := "http://acme.test:" + port(site)

	_, err := b.f.GetHTML(t.Context(), base+"/")
	require.NoError(t, err)
	_, err = b.f.GetHTML(t.Context(), base+"/about")
	require.NoError(t, err)
	_, err = b.f.GetHTML(t.Context(), base+"/private/team")
	require.Equal(t, ReasonRobots, ReasonOf(err))

	require.Zero(t, privateHits.Load())
	require.Equal(t, int32(1), robotsHits.Load(), "robots.txt is cached per host")
	require.False(t, sawCookie.Load(), "no cookie is kept")
	require.Contains(t, agent.Load(), "Nurture")
	require.Contains(t, agent.Load(), "https://nurture.test/bot")
}

func TestLocalLimiter(t *testing.T) {
	t.Parallel()
	l := NewLocalLimiter(1)
	require.NoError(t, l.Wait(t.Context(), "acme.test"))
	// The next token is a second away: a context ending sooner is refused
	// at once rather than kept waiting.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, l.Wait(ctx, "acme.test"))
	require.NoError(t, l.Wait(ctx, "other.test"), "domains have their own buckets")
}

func TestNewFetcherPanicsOnNonLoopbackAllowance(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { NewFetcher(FetchConfig{AllowLoopback: netip.MustParsePrefix("10.0.0.0/8")}) })
}

func TestFetchChecksRobotsOfARedirectTarget(t *testing.T) {
	t.Parallel()
	var hidden atomic.Int32
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		switch {
		case r.URL.Path == "/robots.txt" && host == "www.acme.test":
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /hidden\n"))
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
		case host == "acme.test":
			http.Redirect(w, r, "http://www.acme.test:"+r.Host[len("acme.test:"):]+"/hidden", http.StatusMovedPermanently)
		default:
			hidden.Add(1)
		}
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"), "acme.test. 60 IN A 127.0.0.1", "www.acme.test. 60 IN A 127.0.0.1")
	_, err := b.f.GetHTML(t.Context(), "http://acme.test:"+port(site)+"/")
	require.Equal(t, ReasonRobots, ReasonOf(err))
	require.Zero(t, hidden.Load())
}

func TestFetchCapsADecompressedBody(t *testing.T) {
	t.Parallel()
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(make([]byte, 20<<20)) // 20 MB of zeros, about 20 KB on the wire
	require.NoError(t, zw.Close())
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	}))
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"))
	resp, err := b.f.GetHTML(t.Context(), "http://127.0.0.1:"+port(site)+"/")
	require.NoError(t, err)
	require.True(t, resp.Truncated)
	require.Len(t, resp.Body, DefaultMaxBytes)
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	var reported []string
	next := func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("next dialer reached")
	}
	dial := LoopbackOnly(func(a string) { reported = append(reported, a) })(next)
	for _, a := range []string{"10.0.0.1:80", "169.254.169.254:80", "[::1]:80", "[::ffff:10.0.0.1]:443", "example.com:80"} {
		_, err := dial(t.Context(), "tcp", a)
		require.ErrorIs(t, err, ErrRefused, a)
	}
	require.Len(t, reported, 5)
	_, err := dial(t.Context(), "tcp", "127.0.0.1:80")
	require.EqualError(t, err, "next dialer reached")
}
