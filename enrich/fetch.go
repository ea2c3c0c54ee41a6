package enrich

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/temoto/robotstxt"

	nurture "github.com/nurture-email/nurture"
)

// Defaults of FetchConfig.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 10 * time.Second
	DefaultMaxBytes       = 1 << 20
	DefaultMaxRedirects   = 3
	DefaultRobotsTTL      = time.Hour
	// RobotsAgent is the token robots.txt groups are matched against.
	RobotsAgent = "Nurture"
)

// DialFunc dials a network address, like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// FetchConfig configures a Fetcher. Its zero value is production's safe
// configuration, apart from ContactURL which an operator should set.
type FetchConfig struct {
	// ContactURL goes into the User-Agent so a site owner can reach the
	// operator (NURTURE_PUBLIC_URL or a page about the bot).
	ContactURL string
	// Resolver resolves host names; nil is net.DefaultResolver. Tests
	// point it at a local DNS server (NewResolver).
	Resolver *net.Resolver
	// Limiter paces requests per domain; nil is an in-process limit of one
	// request per second per domain (NewLocalLimiter). Several processes
	// share a limit by passing a Redis-backed Limiter.
	Limiter Limiter
	// Clock dates responses and expires robots.txt; nil is the wall clock.
	Clock nurture.Clock
	// ConnectTimeout bounds each connection (default 5 s), Timeout a whole
	// request including redirects and the body (default 10 s).
	ConnectTimeout time.Duration
	Timeout        time.Duration
	// MaxBytes bounds a body read (default 1 MB): the rest is not read.
	MaxBytes int64
	// MaxRedirects bounds redirects followed (default 3).
	MaxRedirects int
	// RobotsTTL is how long a host's robots.txt is kept (default 1 h).
	RobotsTTL time.Duration

	// AllowLoopback admits a prefix inside 127.0.0.0/8 (127.0.0.0/8
	// itself, or 127.0.0.2/32 so that a redirect to 127.0.0.1 is still
	// refused), on any port. For tests and benchmarks, whose servers
	// listen on loopback: production leaves it zero, which admits nothing.
	// NewFetcher panics on a prefix outside 127.0.0.0/8.
	AllowLoopback netip.Prefix
	// WrapDial, when set, wraps the dialer under the address checks.
	// Tests install a guard there that fails any connection outside
	// 127.0.0.0/8, so a bug in the checks cannot reach the outside.
	WrapDial func(next DialFunc) DialFunc
}

// Fetcher makes the outbound HTTP requests of research, safely: see the
// package comment. It is safe for concurrent use.
type Fetcher struct {
	cfg       FetchConfig
	userAgent string
	client    *http.Client

	mu     sync.Mutex
	robots map[string]robotsEntry
}

type robotsEntry struct {
	data *robotstxt.RobotsData
	at   time.Time
}

// NewFetcher returns a Fetcher with cfg's zero values replaced by defaults.
func NewFetcher(cfg FetchConfig) *Fetcher {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLocalLimiter(1)
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.RobotsTTL <= 0 {
		cfg.RobotsTTL = DefaultRobotsTTL
	}
	if !validLoopback(cfg.AllowLoopback) {
		panic(fmt.Sprintf("enrich: AllowLoopback %s is not inside 127.0.0.0/8", cfg.AllowLoopback))
	}
	f := &Fetcher{cfg: cfg, robots: map[string]robotsEntry{}}
	f.userAgent = "Nurture/1.0 (company research for a lifecycle email service; robots.txt honoured)"
	if cfg.ContactURL != "" {
		f.userAgent = "Nurture/1.0 (+" + cfg.ContactURL + "; company research; robots.txt honoured)"
	}

	guard := guardFor(cfg.AllowLoopback)
	// The socket-level check: whatever address the dial ends up on, ssrf
	// looks at it once more right before connect.
	d := &net.Dialer{Timeout: cfg.ConnectTimeout, Control: guard.Safe}
	dial := DialFunc(d.DialContext)
	if cfg.WrapDial != nil {
		dial = cfg.WrapDial(dial)
	}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, past the checks
		DialContext:            f.safeDial(dial),
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f.client = &http.Client{
		Transport:     tr,
		Jar:           nil, // no cookies kept
		Timeout:       cfg.Timeout,
		CheckRedirect: f.checkRedirect,
	}
	return f
}

// UserAgent is the User-Agent header every request carries.
func (f *Fetcher) UserAgent() string { return f.userAgent }

// The reasons of a FetchError.
const (
	ReasonInvalidURL  = "invalid_url"
	ReasonRefused     = "refused"
	ReasonRobots      = "robots"
	ReasonTimeout     = "timeout"
	ReasonRedirects   = "redirects"
	ReasonStatus      = "status"
	ReasonContentType = "content_type"
	ReasonNetwork     = "network"
	ReasonLimited     = "rate_limited"
)

// FetchError is why a fetch failed: a Reason* code, the URL, the HTTP
// status when there was one, and the cause.
type FetchError struct {
	Reason string
	URL    string
	Status int
	Err    error
}

func (e *FetchError) Error() string {
	switch {
	case e.Status != 0:
		return fmt.Sprintf("%s: %s answered %d", e.Reason, e.URL, e.Status)
	case e.Err != nil:
		return fmt.Sprintf("%s: %s: %s", e.Reason, e.URL, e.Err.Error())
	}
	return e.Reason + ": " + e.URL
}

func (e *FetchError) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the FetchError in err's chain, or
// ReasonNetwork.
func ReasonOf(err error) string {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return ReasonNetwork
}

// Response is a fetched body.
type Response struct {
	URL         string // the final URL, after redirects
	Status      int
	ContentType string // the media type, without parameters
	Charset     string // the Content-Type's charset parameter, if any
	Body        []byte
	Truncated   bool // the body was longer than MaxBytes: only its start was read
	At          time.Time
}

type kind int

const (
	kindHTML kind = iota
	kindJSON
	kindRobots
)

type kindKey struct{}

// GetHTML fetches a web page for parsing: robots.txt must allow it, and
// the answer must be a 2xx text/html (or XHTML) page.
func (f *Fetcher) GetHTML(ctx context.Context, rawURL string) (*Response, error) {
	return f.get(ctx, rawURL, kindHTML, nil)
}

// GetJSON fetches a JSON document from an API (a provider): robots.txt is
// not consulted and the per-domain limit not applied (the operator chose
// the API and its rate), header is sent (an API key), and redirects stay on
// the same host so the key does not travel.
func (f *Fetcher) GetJSON(ctx context.Context, rawURL string, header http.Header) (*Response, error) {
	return f.get(ctx, rawURL, kindJSON, header)
}

func (f *Fetcher) get(ctx context.Context, rawURL string, k kind, header http.Header) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &FetchError{Reason: ReasonInvalidURL, URL: rawURL, Err: err}
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	if k == kindHTML {
		if err := f.robotsAllow(ctx, u); err != nil {
			return nil, err
		}
	}
	return f.do(ctx, u, k, header)
}

func (f *Fetcher) do(ctx context.Context, u *url.URL, k kind, header http.Header) (*Response, error) {
	// The per-domain limit is politeness towards the sites researched; a
	// provider's API has its own contract, and says 429 when it is
	// exceeded.
	if k != kindJSON {
		if err := f.cfg.Limiter.Wait(ctx, limitKey(u.Hostname())); err != nil {
			return nil, &FetchError{Reason: ReasonLimited, URL: u.String(), Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, kindKey{}, k), f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &FetchError{Reason: ReasonInvalidURL, URL: u.String(), Err: err}
	}
	for name, vs := range header {
		for _, v := range vs {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set("User-Agent", f.userAgent)
	switch k {
	case kindHTML:
		req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9")
	case kindJSON:
		req.Header.Set("Accept", "application/json")
	case kindRobots:
		req.Header.Set("Accept", "text/plain")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(u.String(), err)
	}
	defer resp.Body.Close()
	out := &Response{URL: resp.Request.URL.String(), Status: resp.StatusCode, At: f.cfg.Clock.Now()}
	var params map[string]string
	out.ContentType, params, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	out.Charset = params["charset"]
	if k != kindRobots {
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return out, &FetchError{Reason: ReasonStatus, URL: out.URL, Status: resp.StatusCode}
		}
		if !acceptable(k, out.ContentType) {
			return out, &FetchError{Reason: ReasonContentType, URL: out.URL,
				Err: fmt.Errorf("content type %q is not parsed", out.ContentType)}
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return out, classify(out.URL, err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		body, out.Truncated = body[:f.cfg.MaxBytes], true
	}
	out.Body = body
	return out, nil
}

func acceptable(k kind, mediaType string) bool {
	switch k {
	case kindHTML:
		return mediaType == "text/html" || mediaType == "application/xhtml+xml"
	case kindJSON:
		return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
	}
	return true
}

// classify turns a client error into a FetchError, keeping one already in
// the chain (a refusal from the dialer or from checkRedirect).
func classify(rawURL string, err error) error {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, ErrRefused) {
		return &FetchError{Reason: ReasonRefused, URL: rawURL, Err: err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &FetchError{Reason: ReasonTimeout, URL: rawURL, Err: err}
	}
	return &FetchError{Reason: ReasonNetwork, URL: rawURL, Err: err}
}

// checkURL applies the scheme and port rules to a URL, before any request
// and on every redirect.
func (f *Fetcher) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &FetchError{Reason: ReasonRefused, URL: u.String(), Err: fmt.Errorf("%w: scheme %q (only http and https)", ErrRefused, u.Scheme)}
	}
	if u.User != nil {
		return &FetchError{Reason: ReasonRefused, URL: u.Redacted(), Err: fmt.Errorf("%w: credentials in the URL", ErrRefused)}
	}
	if u.Hostname() == "" {
		return &FetchError{Reason: ReasonInvalidURL, URL: u.String(), Err: errors.New("no host")}
	}
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return &FetchError{Reason: ReasonInvalidURL, URL: u.String(), Err: err}
		}
		port = uint16(n)
	}
	if err := checkPort(port, f.cfg.AllowLoopback); err != nil {
		return &FetchError{Reason: ReasonRefused, URL: u.String(), Err: err}
	}
	return nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return &FetchError{Reason: ReasonRedirects, URL: via[0].URL.String(),
			Err: fmt.Errorf("more than %d redirects", f.cfg.MaxRedirects)}
	}
	if err := f.checkURL(req.URL); err != nil {
		return err
	}
	k, _ := req.Context().Value(kindKey{}).(kind)
	switch k {
	case kindJSON:
		if req.URL.Host != via[0].URL.Host {
			return &FetchError{Reason: ReasonRefused, URL: req.URL.String(),
				Err: fmt.Errorf("%w: a provider's redirect leaves %s", ErrRefused, via[0].URL.Host)}
		}
	case kindHTML:
		if err := f.robotsAllow(req.Context(), req.URL); err != nil {
			return err
		}
	}
	return nil
}

// safeDial resolves the host itself, refuses it when any of its addresses
// is refused (a name that mixes public and private addresses is a trick,
// not an accident), and dials the checked addresses by number so nothing
// resolves the name again between check and connect.
func (f *Fetcher) safeDial(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", portStr, err)
		}
		port := uint16(n)
		if err := checkPort(port, f.cfg.AllowLoopback); err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			addrs, err = f.cfg.Resolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", host, err)
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no address", host)
		}
		for i, a := range addrs {
			if err := CheckAddr(a, f.cfg.AllowLoopback); err != nil {
				return nil, fmt.Errorf("%s: %w", host, err)
			}
			addrs[i] = a.Unmap().WithZone("")
		}
		var firstErr error
		for _, a := range addrs {
			c, err := dial(ctx, "tcp", netip.AddrPortFrom(a, port).String())
			if err == nil {
				return c, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, firstErr
	}
}

// limitKey is the rate limit's key for a host: www.acme.com and acme.com
// are one site.
func limitKey(host string) string {
	return strings.TrimPrefix(strings.ToLower(host), "www.")
}

// LoopbackOnly returns a FetchConfig.WrapDial that refuses every
// connection outside 127.0.0.0/8 and reports it. Tests and benchmarks
// install it under the fetcher's own checks (report being t.Errorf, or a
// panic), so a bug in those checks can never reach the outside.
func LoopbackOnly(report func(address string)) func(next DialFunc) DialFunc {
	return func(next DialFunc) DialFunc {
		return func(ctx context.Context, network, address string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !loopback4.Contains(ap.Addr()) {
				report(address)
				return nil, fmt.Errorf("%w: %s is outside 127.0.0.0/8 (loopback guard)", ErrRefused, address)
			}
			return next(ctx, network, address)
		}
	}
}

// NewResolver returns a resolver that sends every DNS query to server
// (host:port), or net.DefaultResolver when server is empty. Tests point it
// at a local DNS server; an operator may point it at a resolver of theirs.
func NewResolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}
