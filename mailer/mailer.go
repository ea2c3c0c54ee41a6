// Package mailer owns SMTP delivery: it turns a composed nurture.Email into
// a MIME message (header.go, mime.go, qp.go), signs it with DKIM
// (dkim.go), keeps a small pool of persistent connections to one relay
// (pool.go), runs the mail transactions on them, pipelined where the relay
// allows, within a message and across the messages queued for a connection
// (smtp.go), reads the relay's replies (reply.go), and reports every
// failure as a *nurture.DeliveryError of a kind (temporary, throttled,
// permanent, rejected, unknown; error.go) that says what to do about it:
// no SMTP reply code leaves this package. go-mail dials, upgrades and
// authenticates the connections (see gomail_test.go for what is relied on).
//
// It knows nothing of Postgres, asynq or templates: what to send, when, and
// whether it was already sent are decided by its callers.
package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// Config configures a Mailer; its zero values, but URL, are sensible.
type Config struct {
	// URL says where the relay is and how to reach it; see ParseURL.
	URL string
	// PoolSize is how many connections are kept, and so how many messages
	// can be in flight at once (each with the next one's commands behind
	// its data, where the relay offers PIPELINING); 4 when 0. Relays limit
	// connections per client, and beyond a few, more connections rarely
	// mean more mail.
	PoolSize int
	// Timeout bounds every SMTP step: the TCP and TLS connect, and each
	// read and write on the connection; 30s when 0. A relay that hangs
	// must not hold a worker for ever.
	Timeout time.Duration
	// DataReplyTimeout bounds the wait for the relay's reply once a
	// message's final "." has gone out; 10 minutes when 0, as RFC 5321
	// 4.5.3.2.6 asks: relays check the message then, and a busy one is
	// slow. That wait ignores the Send's context, since giving up then
	// cannot unsend the message, only leave its fate unknown: a worker that
	// must stop sooner passes a shorter bound.
	DataReplyTimeout time.Duration
	// IdleTimeout closes a connection unused this long; 30s when 0.
	// Relays drop idle clients after a minute or so, and a connection
	// they dropped costs a failed NOOP to find out.
	IdleTimeout time.Duration
	// HELO is the name given in EHLO; the machine's host name when empty.
	// Relays that check it want a fully qualified name; some want one
	// that the sending IP's reverse DNS confirms.
	HELO string
	// TLSConfig is for a relay whose certificate a private CA signed, or
	// that wants a client certificate; nil means the system roots. Its
	// ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// DKIM signs every message when set; nil sends mail unsigned. Signing
	// happens in Send before it waits for a connection, so concurrent
	// Sends sign in parallel on all cores: an RSA-2048 signature costs
	// about a millisecond of CPU, an Ed25519 one under a tenth of that.
	DKIM *DKIM
	// Logger receives debug records about connections, and a warning
	// about a weak DKIM key; none when nil.
	Logger *slog.Logger
	// Clock dates the messages (their Date field and DKIM signature's
	// time); the system clock when nil.
	Clock nurture.Clock
	// Observer is told of every message handed to the relay; none when
	// nil.
	Observer Observer
}

// Observer is told how sending goes, for monitoring: package
// internal/metrics implements it.
type Observer interface {
	// SMTPSend: a Send to relay (host:port) ended with a reply of this
	// class ("2xx" accepted, "4xx", "5xx", or "network": no reply, the
	// connection or the context failed) after took, waiting for a
	// connection included. A message that could not be composed is not
	// told: it never reached a relay.
	SMTPSend(relay, replyClass string, took time.Duration)
}

// replyClass is the Observer's class of a Send's outcome.
func replyClass(err error) string {
	switch code := replyCode(err); {
	case err == nil:
		return "2xx"
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	}
	return "network"
}

// Config defaults.
const (
	defaultPoolSize         = 4
	defaultTimeout          = 30 * time.Second
	defaultDataReplyTimeout = 10 * time.Minute
	defaultIdleTimeout      = 30 * time.Second
)

// Mailer delivers email through one SMTP relay. It is safe for concurrent
// use; connections are dialled when first needed, reused for many
// messages, replaced when broken and closed when idle.
type Mailer struct {
	relay            Relay
	timeout          time.Duration
	dataReplyTimeout time.Duration
	idleTimeout      time.Duration
	helo             string
	tlsConfig        *tls.Config
	dkim             *signer // nil: no signing
	log              *slog.Logger
	clock            nurture.Clock
	observer         Observer // nil: none

	poolSize int

	// noPipelining makes the mailer talk as to a relay without PIPELINING,
	// so that tests cover that path against a test relay that offers it.
	noPipelining bool

	mu      sync.Mutex
	idle    []*pooled // most recently used last
	turns   int       // taken, at most poolSize (see pool.go)
	waiting []*waiter // Sends waiting for a turn, first come first
	closed  bool
	live    sync.WaitGroup // one count per open connection, for Close to wait on
}

// The Config fields that New's errors name, in the Field of an invalid
// *nurture.Error, so that the caller can name the setting behind each.
const (
	FieldURL              = "URL"
	FieldPoolSize         = "PoolSize"
	FieldTimeout          = "Timeout"
	FieldDataReplyTimeout = "DataReplyTimeout"
	FieldIdleTimeout      = "IdleTimeout"
	FieldHELO             = "HELO"
	FieldDKIMDomain       = "DKIM.Domain"
	FieldDKIMSelector     = "DKIM.Selector"
	FieldDKIMKey          = "DKIM.Key"
)

// New checks cfg and returns a Mailer. It does not dial: a relay that is
// down at start is a delivery failure to retry, not a reason not to start.
// A setting it refuses is reported as an invalid *nurture.Error whose
// Field is one of the Field constants.
func New(cfg Config) (*Mailer, error) {
	relay, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, nurture.FieldError(FieldURL, "%s", strings.TrimPrefix(err.Error(), "smtp url: "))
	}
	switch {
	case cfg.PoolSize < 0:
		return nil, nurture.FieldError(FieldPoolSize, "%d is negative", cfg.PoolSize)
	case cfg.Timeout < 0:
		return nil, nurture.FieldError(FieldTimeout, "%v is negative", cfg.Timeout)
	case cfg.DataReplyTimeout < 0:
		return nil, nurture.FieldError(FieldDataReplyTimeout, "%v is negative", cfg.DataReplyTimeout)
	case cfg.IdleTimeout < 0:
		return nil, nurture.FieldError(FieldIdleTimeout, "%v is negative", cfg.IdleTimeout)
	case cfg.HELO != "" && !isHostName(cfg.HELO):
		return nil, nurture.FieldError(FieldHELO, "%q is not a host name", cfg.HELO)
	}
	m := &Mailer{
		relay:            relay,
		timeout:          orDefault(cfg.Timeout, defaultTimeout),
		dataReplyTimeout: orDefault(cfg.DataReplyTimeout, defaultDataReplyTimeout),
		idleTimeout:      orDefault(cfg.IdleTimeout, defaultIdleTimeout),
		helo:             cfg.HELO,
		log:              cfg.Logger,
		clock:            cfg.Clock,
		observer:         cfg.Observer,
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = nurture.SystemClock{}
	}
	if cfg.DKIM != nil {
		if m.dkim, err = newSigner(cfg.DKIM, m.log); err != nil {
			return nil, err
		}
	}
	m.poolSize = orDefault(cfg.PoolSize, defaultPoolSize)
	m.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		m.tlsConfig = cfg.TLSConfig.Clone()
	}
	if m.tlsConfig.ServerName == "" {
		m.tlsConfig.ServerName = relay.Host
	}
	return m, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Send delivers e to the relay. It returns nil once the relay has accepted
// the message; an invalid *nurture.Error, before any connection is used,
// when e cannot be sent as it is; and a *nurture.DeliveryError for every
// failure to deliver, whose Kind says what it means (see replyKind). With
// Config.DKIM the message is signed first, outside the pool, so that
// signing never holds a connection or waits for one.
//
// ctx bounds the attempt, waiting for a connection included, until the
// message's final "." has been written: if it is done before that, the
// relay never gets the end of the DATA, nothing is delivered and the error
// is temporary. After the final ".", Send waits for the relay's reply
// whatever ctx says, up to Config.DataReplyTimeout, and reports the true
// outcome; if the connection drops or the bound passes first, the outcome
// is unknown (nurture.DeliveryUnknown).
func (m *Mailer) Send(ctx context.Context, e *nurture.Email) error {
	msg, err := compose(e, m.clock.Now())
	if err != nil {
		return err
	}
	if m.observer == nil {
		return m.send(ctx, msg)
	}
	start := time.Now() //nolint:forbidigo // a monotonic duration for the latency metric, not a date
	err = m.send(ctx, msg)
	m.observer.SMTPSend(m.relay.addr(), replyClass(err), time.Since(start)) //nolint:forbidigo // as above
	return err
}

// send signs and delivers a composed message: Send's work after
// composing.
func (m *Mailer) send(ctx context.Context, msg *message) error {
	if err := ctx.Err(); err != nil {
		return temporary(fmt.Errorf("not sent: %w", context.Cause(ctx)))
	}
	if m.dkim != nil {
		if err := m.dkim.sign(msg); err != nil {
			return temporary(fmt.Errorf("not sent: %w", err))
		}
	}
	t, err := m.wait(ctx, msg)
	if err != nil {
		return err
	}
	for {
		pc, reused := t.pc, t.pc != nil
		if pc == nil {
			if pc, reused, err = m.take(ctx); err != nil {
				m.passOn(nil, false)
				return err
			}
		}
		var next *waiter
		claim := func() *message {
			if next = m.claim(); next != nil {
				return next.msg
			}
			return nil
		}
		keep, retry, err := m.deliver(ctx, pc, msg, reused, t.pending, claim)
		switch {
		case next != nil:
			m.handOver(pc, keep, next)
		case retry:
			m.discard(pc, "dead")
			t = turn{}
			continue // a connection the relay had closed: nothing was sent on it
		default:
			m.passOn(pc, keep)
		}
		return err
	}
}

// deliver runs one mail transaction on pc, whose MAIL, RCPT and DATA for
// msg are already out when pending (see pool.go); claim may give the next
// message, whose commands then follow msg's data (see transact). keep says
// whether pc can serve another message; retry, that the message certainly
// was not sent and pc was a connection that may have died unseen (idle,
// or handed over by another Send: the relay may close it after a reply),
// and turned out dead, so another connection should be tried. A relay
// that hangs is not retried: that would only double the wait.
func (m *Mailer) deliver(ctx context.Context, pc *pooled, msg *message, reused, pending bool, claim func() *message) (keep, retry bool, err error) {
	unbind := pc.conn.bind(ctx)
	sent, accepted, after, err := pc.transact(msg, pending, claim, m.dataReplyTimeout)
	switch after {
	case behind:
		// The next message's commands follow this one's data, and the
		// reply to the final "." ended this transaction (RFC 5321
		// 4.1.1.4): there is nothing to reset, and a RSET would be read
		// as part of the next transaction.
		intact := unbind()
		if err == nil {
			pc.sent++
			return intact, false, nil
		}
		code := replyCode(err)
		return intact && code >= 400 && code <= 599 && code != 421, false, classify(ctx, err)
	case torn:
		// The final "." went out, but not all that followed it: the
		// reply says what became of the message, and the connection is
		// out of step.
		unbind()
		if err == nil {
			pc.sent++
			return false, false, nil
		}
		return false, false, classify(ctx, err)
	}
	if err == nil {
		intact := unbind()
		pc.sent++
		return intact, false, nil
	}
	if code := replyCode(err); code >= 400 && code <= 599 && code != 421 && !accepted {
		// The relay refused but the session is alive: reset the
		// transaction for the next message; a session that cannot be
		// reset is dropped.
		keep = pc.smtp.Reset() == nil
		keep = unbind() && keep
		return keep, false, classify(ctx, err)
	}
	unbind()
	if !sent && reused && replyCode(err) == 0 && ctx.Err() == nil && !pc.conn.timedOut.Load() {
		m.log.Debug("smtp connection was dead", slog.String("relay", m.relay.addr()), slog.Any("error", err))
		return false, true, nil
	}
	return false, false, classify(ctx, err)
}

// Close closes the idle connections and waits for the Sends in progress to
// finish and close theirs; Sends after Close fail with ErrClosed. It
// returns nil: a relay that does not answer QUIT has nothing to tell.
func (m *Mailer) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	idle := m.idle
	m.idle = nil
	for _, w := range m.waiting {
		w.handed = true
		w.turn <- turn{err: temporary(ErrClosed)}
	}
	m.waiting = nil
	m.mu.Unlock()

	for _, pc := range idle {
		pc.stopIdleTimer()
		m.quit(pc, "mailer closed")
	}
	m.live.Wait()
	return nil
}
