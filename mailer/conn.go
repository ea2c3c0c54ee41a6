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
// step), and a Send's context, while bound, interrupts whatever I/O is in
// progress the moment it is done.
type conn struct {
	net.Conn
	timeout time.Duration

	timedOut atomic.Bool // an operation ran out of time: the relay hangs

	mu          sync.Mutex
	interrupted error // set for good once a bound context is done
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
	return set(time.Now().Add(c.timeout))
}

// SetDeadline ignores deadlines from above (go-mail's per-message one, the
// TLS layer's): conn sets its own for every operation.
func (c *conn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored for the same reason as SetDeadline.
func (c *conn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored for the same reason as SetDeadline.
func (c *conn) SetWriteDeadline(time.Time) error { return nil }

// bind lets ctx interrupt the connection until unbind is called. unbind
// reports whether the connection came through intact; once interrupted it
// is unusable, since the relay's view of the conversation is unknown.
func (c *conn) bind(ctx context.Context) (unbind func() (intact bool)) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.interrupted = fmt.Errorf("smtp conversation interrupted: %w", context.Cause(ctx))
		_ = c.Conn.SetDeadline(time.Unix(1, 0)) // in the past: pending I/O returns now
	})
	return func() bool {
		if stop() {
			return true
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.interrupted == nil
	}
}
