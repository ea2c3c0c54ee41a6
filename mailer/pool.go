package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// pooled is one relay connection. go-mail's Client is a configuration that
// owns at most one connection; the pool gives each connection its own, so
// that its dial function and AUTH state belong to that connection alone.
type pooled struct {
	client *mail.Client
	smtp   *smtp.Client
	conn   *conn

	// What the relay offers on this connection, from its EHLO reply.
	pipelining, smtputf8 bool

	sent      int         // messages delivered on it, for the logs
	idleSince time.Time   // guarded by Mailer.mu
	idleTimer *time.Timer // guarded by Mailer.mu; nil until first idle
}

func (pc *pooled) stopIdleTimer() {
	if pc.idleTimer != nil {
		pc.idleTimer.Stop()
	}
}

// take returns a connection for the caller, who holds a slot: the most
// recently used idle one (so that surplus ones grow idle and expire), or a
// new one. reused says whether it was idle, and so may have died unseen.
func (m *Mailer) take(ctx context.Context) (pc *pooled, reused bool, err error) {
	var stale []*pooled
	defer func() {
		for _, s := range stale {
			m.discard(s, "idle too long")
		}
	}()

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, false, temporary(ErrClosed)
	}
	for len(m.idle) > 0 {
		pc = m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		pc.stopIdleTimer()
		if time.Since(pc.idleSince) >= m.idleTimeout {
			stale = append(stale, pc) // its timer is late; treat it as expired
			continue
		}
		m.mu.Unlock()
		return pc, true, nil
	}
	m.live.Add(1) // under mu and before closed: Close's Wait sees this dial
	m.mu.Unlock()

	pc, err = m.dial(ctx)
	if err != nil {
		m.live.Done()
		return nil, false, temporary(fmt.Errorf("connect to relay %s: %w", m.relay.addr(), err))
	}
	m.log.Debug("smtp connection opened", slog.String("relay", m.relay.addr()))
	return pc, false, nil
}

// release returns pc to the idle list, or closes it if it cannot be kept
// or the Mailer is closed.
func (m *Mailer) release(pc *pooled, keep bool) {
	if !keep {
		m.discard(pc, "broken or refused to reset")
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.quit(pc, "mailer closed")
		return
	}
	pc.idleSince = time.Now()
	if pc.idleTimer == nil {
		pc.idleTimer = time.AfterFunc(m.idleTimeout, func() { m.expire(pc) })
	} else {
		pc.idleTimer.Reset(m.idleTimeout)
	}
	m.idle = append(m.idle, pc)
	m.mu.Unlock()
}

// expire closes pc if it is still idle and has been for IdleTimeout; the
// check makes a timer that fired while pc was being taken harmless.
func (m *Mailer) expire(pc *pooled) {
	m.mu.Lock()
	i := slices.Index(m.idle, pc)
	if i < 0 || time.Since(pc.idleSince) < m.idleTimeout {
		m.mu.Unlock()
		return
	}
	m.idle = slices.Delete(m.idle, i, i+1)
	m.mu.Unlock()
	m.quit(pc, "idle")
}

// quit ends a healthy connection politely, with QUIT.
func (m *Mailer) quit(pc *pooled, reason string) {
	_ = pc.client.CloseWithSMTPClient(pc.smtp)
	m.discard(pc, reason)
}

// discard drops a connection without a word, as is right for a broken one.
func (m *Mailer) discard(pc *pooled, reason string) {
	_ = pc.conn.Close()
	m.log.Debug("smtp connection closed", slog.String("relay", m.relay.addr()),
		slog.String("reason", reason), slog.Int("sent", pc.sent))
	m.live.Done()
}

// dial opens, secures and authenticates a new connection. ctx interrupts
// the whole handshake, not only the TCP connect as go-mail's would.
func (m *Mailer) dial(ctx context.Context) (*pooled, error) {
	var (
		raw    *conn
		unbind = func() bool { return true }
	)
	dialFunc := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dialCtx, "tcp", m.relay.addr())
		if err != nil {
			return nil, err
		}
		raw = newConn(c, m.timeout)
		unbind = raw.bind(ctx)
		if !m.relay.Implicit {
			return raw, nil
		}
		tc := tls.Client(raw, m.tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}

	opts := []mail.Option{
		mail.WithPort(m.relay.Port),
		mail.WithTimeout(m.timeout),
		mail.WithDialContextFunc(dialFunc),
		mail.WithTLSConfig(m.tlsConfig),
	}
	switch {
	case m.relay.Implicit:
		// The dial function does the TLS: go-mail's WithSSL is ignored
		// with a custom dialer, and there is no STARTTLS on top.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case m.relay.TLS == TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case m.relay.TLS == TLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.helo != "" {
		opts = append(opts, mail.WithHELO(m.helo))
	}
	if m.relay.Username != "" {
		opts = append(opts, mail.WithSMTPAuthCustom(&relayAuth{
			username: m.relay.Username,
			password: m.relay.Password,
			loopback: isLoopback(m.relay.Host),
		}))
	}
	client, err := mail.NewClient(m.relay.Host, opts...)
	if err != nil {
		return nil, err
	}

	sc, err := client.DialToSMTPClientWithContext(ctx)
	intact := unbind()
	if err == nil && !intact {
		err = fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	if err != nil {
		// go-mail leaves the connection open when EHLO, STARTTLS or AUTH
		// fails after the connect.
		if raw != nil {
			_ = raw.Close()
		}
		return nil, err
	}
	pc := &pooled{client: client, smtp: sc, conn: raw}
	pc.pipelining, _ = sc.Extension("PIPELINING")
	pc.pipelining = pc.pipelining && !m.noPipelining
	pc.smtputf8, _ = sc.Extension("SMTPUTF8")
	return pc, nil
}
