package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// conn is the bottom layer of every relay connection, below TLS. go-mail
// sets one deadline per message and knows no context, so conn takes the
// deadlines over: each read and write gets its own (the Timeout per SMTP
// step, or the bound on the wait for the reply to a message's final "."),
// and a Send's context, while bound, interrupts whatever I/O is in
// progress the moment it is done.
type conn struct {
	net.Conn
	timeout time.Duration

	timedOut atomic.Bool // an operation ran out of time: the relay hangs

	mu          sync.Mutex
	interrupted error     // set for good once a bound context is done
	binding     *binding  // the context bound now, if any
	until       time.Time // when set, the deadline of every operation
}

// binding is one bind of a context to the connection.
type binding struct {
	stop     func() bool
	detached bool // guarded by conn.mu: the context no longer interrupts
}

func newConn(c net.Conn, timeout time.Duration) *conn {
	return &conn{Conn: c, timeout: timeout}
}

func (c *conn) Read(p []byte) (int, error) {
	if err := c.arm(c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.noteTimeout(err)
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	if err := c.arm(c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.noteTimeout(err)
	return n, err
}

func (c *conn) noteTimeout(err error) {
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
}

// arm gives the next operation its deadline, unless the connection has
// been interrupted. The lock orders it with interrupt: either the
// operation sees the interruption, or interrupt's past deadline replaces
// this one and ends the operation.
func (c *conn) arm(set func(time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted != nil {
		return c.interrupted
	}
	if !c.until.IsZero() {
		return set(c.until)
	}
	return set(time.Now().Add(c.timeout))
}

// SetDeadline ignores deadlines from above (go-mail's per-message one, the
// TLS layer's): conn sets its own for every operation.
func (c *conn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored for the same reason as SetDeadline.
func (c *conn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored for the same reason as SetDeadline.
func (c *conn) SetWriteDeadline(time.Time) error { return nil }

// bind lets ctx interrupt the connection until unbind is called, or until
// awaitReply detaches it. unbind reports whether the connection came
// through intact; once interrupted it is unusable, since the relay's view
// of the conversation is unknown.
func (c *conn) bind(ctx context.Context) (unbind func() (intact bool)) {
	b := &binding{}
	c.mu.Lock()
	c.binding = b
	c.mu.Unlock()
	b.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if b.detached {
			return
		}
		c.interrupted = fmt.Errorf("smtp conversation interrupted: %w", context.Cause(ctx))
		_ = c.Conn.SetDeadline(time.Unix(1, 0)) // in the past: pending I/O returns now
	})
	return func() bool {
		b.stop()
		c.mu.Lock()
		defer c.mu.Unlock()
		b.detached = true
		c.binding = nil
		c.until = time.Time{}
		return c.interrupted == nil
	}
}

// awaitReply is called once a message's final "." has been written: from
// then on the relay may have the message, and only its reply tells. The
// bound context stops interrupting (an interruption that came after the
// last write is undone: no I/O was in progress), and every operation gets
// the deadline until instead of the per-step timeout, until endAwait.
func (c *conn) awaitReply(until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.binding != nil {
		c.binding.detached = true
		c.interrupted = nil
	}
	c.until = until
}

// endAwait puts the per-step timeout back once the reply has come.
func (c *conn) endAwait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until = time.Time{}
}
