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

	sent      int // messages delivered on it, for the logs
	pipelined int // messages whose commands went out behind another's data, for the logs

	// Buffers kept for the next message: its commands, and the data
	// joined with what follows it when the data has no room to spare.
	cmds, wire []byte
	idleSince  time.Time   // guarded by Mailer.mu
	idleTimer  *time.Timer // guarded by Mailer.mu; nil until first idle
}

func (pc *pooled) stopIdleTimer() {
	if pc.idleTimer != nil {
		pc.idleTimer.Stop()
	}
}

// A Send holds a turn while it has a message on a connection: there are
// at most PoolSize turns, so at most PoolSize connections. A Send that
// finds them all taken queues as a waiter, and gets its turn from a Send
// that is done with one, in the order they came:
//
//   - a Send about to end its message's data claims the first waiter and
//     writes that message's MAIL, RCPT and DATA in the same write as its
//     own final "." (RFC 2920 allows commands after the end of the data),
//     then, once it has read its own reply, hands the connection over with
//     those commands pending: a busy connection costs one write and one
//     read a message;
//   - a Send done without a claim passes its connection (or, if it was
//     dropped, only the turn) to the first waiter, or returns it to the
//     idle list.
//
// A waiter's context still ends its wait. Claimed, its commands may be on
// the wire: the message is not sent (no data went), and the connection,
// which the relay now holds in the middle of a transaction, is dropped
// when it is handed over.

// turn is what a Send gets when it may use a connection.
type turn struct {
	// pc is the connection handed over by the previous Send; nil when
	// the Send takes an idle connection or dials one.
	pc *pooled
	// pending says that the message's MAIL, RCPT and DATA went out on pc
	// behind the previous message: their replies are the next to read.
	pending bool
	err     error
}

// waiter is a Send queued for a turn.
type waiter struct {
	msg  *message
	turn chan turn // buffered: it is given at most one turn

	// Guarded by Mailer.mu.
	claimed bool // its commands were put behind another message's data
	handed  bool // its turn has been given
	gone    bool // claimed, but its Send gave up before its turn came
}

// wait returns a turn for msg, at once when fewer than PoolSize are taken,
// or when a Send passes one on.
func (m *Mailer) wait(ctx context.Context, msg *message) (turn, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return turn{}, temporary(ErrClosed)
	}
	if m.turns < m.poolSize {
		m.turns++
		m.mu.Unlock()
		return turn{}, nil
	}
	w := &waiter{msg: msg, turn: make(chan turn, 1)}
	m.waiting = append(m.waiting, w)
	m.mu.Unlock()

	select {
	case t := <-w.turn:
		return t, t.err
	case <-ctx.Done():
	}
	m.mu.Lock()
	switch {
	case w.handed:
		// The turn came as the context ended: pass it on.
		m.mu.Unlock()
		if t := <-w.turn; t.err == nil {
			m.passOn(t.pc, !t.pending)
		}
	case w.claimed:
		w.gone = true
		m.mu.Unlock()
	default:
		m.waiting = slices.DeleteFunc(m.waiting, func(o *waiter) bool { return o == w })
		m.mu.Unlock()
	}
	return turn{}, temporary(fmt.Errorf("not sent, no free connection: %w", context.Cause(ctx)))
}

// claim takes the first waiter, whose message's commands are about to go
// out behind the current message's data; nil when none waits or the
// Mailer is closed.
func (m *Mailer) claim() *waiter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.waiting) == 0 {
		return nil
	}
	w := m.popWaiter()
	w.claimed = true
	return w
}

// popWaiter removes and returns the first waiter; m.mu is held and the
// queue is not empty.
func (m *Mailer) popWaiter() *waiter {
	w := m.waiting[0]
	m.waiting[0] = nil
	m.waiting = m.waiting[1:]
	if len(m.waiting) == 0 {
		m.waiting = m.waiting[:0:0] // let the array go rather than creep along it
	}
	return w
}

// handOver gives the turn to next, whose commands went out on pc: with pc
// when it can be kept, else without a connection. A next that gave up
// leaves pc in the middle of a transaction: it is dropped.
func (m *Mailer) handOver(pc *pooled, keep bool, next *waiter) {
	m.mu.Lock()
	if next.gone {
		m.mu.Unlock()
		m.passOn(pc, false)
		return
	}
	next.handed = true
	if keep {
		next.turn <- turn{pc: pc, pending: true}
		m.mu.Unlock()
		return
	}
	next.turn <- turn{}
	m.mu.Unlock()
	m.discard(pc, "broken or refused to reset")
}

// passOn gives up a turn and its connection pc, if any: pc goes with the
// turn to the first waiter, or back to the idle list, unless it cannot be
// kept (it is closed then, and the waiter gets the turn alone) or the
// Mailer is closed.
func (m *Mailer) passOn(pc *pooled, keep bool) {
	if pc != nil && !keep {
		m.discard(pc, "broken or refused to reset")
		pc = nil
	}
	m.mu.Lock()
	switch {
	case m.closed:
		m.turns--
		m.mu.Unlock()
		if pc != nil {
			m.quit(pc, "mailer closed")
		}
		return
	case len(m.waiting) > 0:
		w := m.popWaiter()
		w.handed = true
		w.turn <- turn{pc: pc}
		m.mu.Unlock()
		return
	}
	m.turns--
	if pc != nil {
		pc.idleSince = time.Now()
		if pc.idleTimer == nil {
			pc.idleTimer = time.AfterFunc(m.idleTimeout, func() { m.expire(pc) })
		} else {
			pc.idleTimer.Reset(m.idleTimeout)
		}
		m.idle = append(m.idle, pc)
	}
	m.mu.Unlock()
}

// take returns a connection for the caller, who holds a turn: the most
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
		slog.String("reason", reason), slog.Int("sent", pc.sent), slog.Int("pipelined", pc.pipelined))
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
