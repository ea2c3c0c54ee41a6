// Package smtptest runs an in-process SMTP relay for tests. It speaks real
// SMTP (emersion/go-smtp) on a loopback port, records every message it
// accepts, and refuses, delays, drops or never answers on cue, so delivery
// code is tested against a real conversation without a network or an
// external mail catcher.
//
// It owns nothing but test plumbing: no production code may import it.
package smtptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted: the envelope and the raw
// bytes of the DATA, as a relay would have queued them.
type Message struct {
	From string
	To   []string
	Data []byte
	// User is the AUTH PLAIN user name of the session, "" when the client
	// did not authenticate; it lets a test see that credentials were used.
	User string
	// Helo is the name the client gave in EHLO (or HELO).
	Helo string
}

func (m Message) clone() Message {
	m.To = slices.Clone(m.To)
	m.Data = slices.Clone(m.Data)
	return m
}

// Server is a running test relay. It accepts any AUTH PLAIN (or none),
// plain text included, because a test relay has nothing to protect.
type Server struct {
	tb        testing.TB
	ln        net.Listener
	srv       *smtp.Server
	url       string
	clientTLS *tls.Config
	served    chan struct{}

	mu       sync.Mutex
	messages []Message
	failures []*scripted
	sessions int
	conns    []net.Conn
	closed   bool
	arrived  chan struct{} // closed and replaced whenever a message is recorded
	holds    []*Hold
	stopping chan struct{} // closed when the server starts to close
}

// Option changes how Start sets a server up.
type Option func(*options)

type options struct {
	startTLS    bool
	implicitTLS bool
}

// WithStartTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1, so the mandatory-STARTTLS path of a client can
// be tested; URL then says tls=starttls and ClientTLSConfig trusts it.
func WithStartTLS() Option { return func(o *options) { o.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps),
// with a self-signed certificate that ClientTLSConfig trusts; URL then
// starts with smtps://.
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// Start runs a server on 127.0.0.1 and a free port until the test ends: its
// cleanup closes every connection and waits for every goroutine it started.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{
		tb:       tb,
		served:   make(chan struct{}),
		arrived:  make(chan struct{}),
		stopping: make(chan struct{}),
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0) // dropped connections are the point, not news
	s.srv = srv

	var served net.Listener = &countingListener{Listener: ln, s: s}
	scheme, query := "smtp", "?tls=none"
	if o.startTLS || o.implicitTLS {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			_ = ln.Close()
			tb.Fatalf("smtptest: certificate: %v", err)
		}
		s.clientTLS = clientTLS
		switch {
		case o.implicitTLS:
			served = tls.NewListener(served, serverTLS)
			scheme, query = "smtps", ""
		default:
			srv.TLSConfig = serverTLS
			query = "?tls=starttls"
		}
	}
	s.ln = ln
	s.url = scheme + "://" + ln.Addr().String() + query

	go func() {
		defer close(s.served)
		_ = srv.Serve(served)
	}()
	tb.Cleanup(s.close)
	return s
}

// close stops the server: listener first, then every connection, then it
// waits until go-smtp's connection goroutines and Serve have returned.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	close(s.stopping)
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()

	_ = s.ln.Close()
	<-s.served
	for _, c := range conns {
		_ = c.Close()
	}
	// Shutdown waits for the connection handlers; they end quickly now that
	// their connections are closed. Serve has already returned, so the
	// listener error it reports is expected.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		s.tb.Errorf("smtptest: connection handlers still running 10s after close")
	}
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's address as a relay URL for the mailer, with the TLS
// mode the server was started with: smtp://127.0.0.1:PORT?tls=none by
// default.
func (s *Server) URL() string { return s.url }

// ClientTLSConfig trusts the server's self-signed certificate; it is nil
// when the server was started without TLS. Each call returns a fresh copy.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns copies of the messages accepted so far, in the order
// they were accepted. Refused and dropped messages are not among them.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = m.clone()
	}
	return out
}

// WaitForMessages waits until at least n messages have been accepted and
// returns all accepted so far; it fails the test if they do not arrive
// within timeout. Call it from the test's goroutine.
func (s *Server) WaitForMessages(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.messages), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-arrived:
		case <-timer.C:
			tb.Fatalf("smtptest: %d of %d messages arrived within %v", got, n, timeout)
			return nil
		}
	}
}

// Sessions is the number of connections accepted so far, which lets a test
// see whether a client reuses its connections.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// countingListener counts and remembers accepted connections so that
// Sessions can report them and cleanup can close them.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.s.sessions++
	l.s.conns = append(l.s.conns, c)
	return c, nil
}

// session is one SMTP connection's state.
type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, _ string) error {
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.wait(StageMail)
	if err := ss.script(ss.s.takeFailure(StageMail, from), nil); err != nil {
		return err
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.wait(StageRcpt)
	if err := ss.script(ss.s.takeFailure(StageRcpt, to), nil); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	f := ss.s.takeFailure(StageData, ss.to...)
	if f != nil && f.Drop {
		return ss.script(f, r)
	}
	data, err := io.ReadAll(r) // up to and including the final "."
	if err != nil {
		return err
	}
	ss.s.wait(StageData)
	m := Message{From: ss.from, To: slices.Clone(ss.to), Data: data, User: ss.user, Helo: ss.conn.Hostname()}
	if f != nil && f.CloseAfterDot {
		ss.s.record(m) // the relay has it; only the reply will be lost
	}
	if err := ss.script(f, nil); err != nil {
		return err
	}
	ss.s.record(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// script carries out f, if any: waits out its Delay (or hangs), then
// refuses with its code, or, for Drop, reads a little of the DATA (when
// there is one) and resets the connection unanswered, or, for
// CloseAfterDot, closes it unanswered. It returns nil when f only delays
// the normal reply.
func (ss *session) script(f *Failure, data io.Reader) error {
	if f == nil {
		return nil
	}
	if !ss.s.pause(f) {
		return errors.New("smtptest: server stopping")
	}
	switch {
	case f.Code != 0:
		return &smtp.SMTPError{
			Code:         f.Code,
			EnhancedCode: smtp.EnhancedCode(f.Enhanced),
			Message:      f.message(),
		}
	case f.CloseAfterDot:
		_ = ss.conn.Conn().Close()
		return errors.New("smtptest: connection closed after the final dot")
	case !f.Drop:
		return nil
	}
	if data != nil {
		buf := make([]byte, 64)
		_, _ = io.ReadAtLeast(data, buf, 1)
	}
	raw := ss.conn.Conn()
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // RST rather than FIN: the abrupt end a crash looks like
	}
	_ = raw.Close()
	return fmt.Errorf("smtptest: connection dropped at %v", f.Stage)
}

// containsAny reports whether any of subjects contains sub.
func containsAny(subjects []string, sub string) bool {
	for _, s := range subjects {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
