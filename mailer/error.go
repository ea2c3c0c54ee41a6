package mailer

import (
	"context"
	"errors"
	"fmt"

	"github.com/nurture-email/nurture"
)

// ErrClosed is returned, wrapped in a temporary *nurture.DeliveryError, by
// a Send on a Mailer that has been closed: the message was not sent and a
// worker that is shutting down should leave it for the next one.
var ErrClosed = errors.New("mailer closed")

// stage is a step of a mail transaction, which decides what a failure at
// it means.
type stage int

// The stages, in order.
const (
	stageMail    stage = iota + 1 // MAIL FROM and its reply
	stageRcpt                     // RCPT TO and its reply
	stageData                     // the DATA command and its 354
	stageMessage                  // writing the message and its final "."
	stageEnd                      // waiting for the reply to the final "."
)

func (s stage) String() string {
	switch s {
	case stageMail:
		return "MAIL FROM"
	case stageRcpt:
		return "RCPT TO"
	case stageData:
		return "DATA"
	case stageMessage:
		return "message"
	case stageEnd:
		return "end of DATA"
	}
	return fmt.Sprintf("stage(%d)", int(s))
}

// stageError is a failed step of a mail transaction: a reply that is not
// the one expected (a *reply), or an I/O or protocol error.
type stageError struct {
	stage stage
	err   error
}

func (e *stageError) Error() string { return e.stage.String() + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// temporary wraps a failure that a later attempt may overcome: a network
// error, a timeout, a dial or handshake failure, a cancelled context,
// before any of the message's end went out.
func temporary(err error) *nurture.DeliveryError {
	return &nurture.DeliveryError{Kind: nurture.DeliveryTemporary, Err: err}
}

// classify turns a refused or interrupted transaction into the
// DeliveryError callers act on. A relay's refusal is classified by
// replyKind. Without one (a network error, a timeout, garbage, or an
// answer out of step) the message is known not to be delivered, and the
// failure is temporary, unless the final "." had gone out: the relay may
// then have accepted it, and the outcome is unknown.
func classify(ctx context.Context, err error) *nurture.DeliveryError {
	var se *stageError
	st := stage(0)
	if errors.As(err, &se) {
		st = se.stage
	}
	var rp *reply
	if errors.As(err, &rp) && rp.code >= 400 {
		return &nurture.DeliveryError{Kind: replyKind(st, rp.code, rp.enhanced), Err: err}
	}
	if ctx.Err() != nil && st != stageEnd {
		err = fmt.Errorf("interrupted (%w): %w", context.Cause(ctx), err)
	}
	if st == stageEnd {
		return &nurture.DeliveryError{Kind: nurture.DeliveryUnknown, Err: err}
	}
	return temporary(err)
}

// replyKind classifies a relay's 4xx or 5xx reply at a stage of the
// transaction, from its code and enhanced status code (RFC 3463), never
// its text. The rules, in order:
//
//   - 421, 454 (Amazon SES's "throttling failure"), and a 4xx whose
//     enhanced code says congestion (4.4.5) or rate (4.7.28, Gmail's):
//     the relay wants us slower: Throttled.
//   - any other 4xx: Temporary.
//   - a 5xx to MAIL FROM or to the DATA command is about our sender, our
//     session or our account, not the recipient: Rejected.
//   - a 5xx to RCPT TO is about the recipient (Permanent) unless it says
//     otherwise: an enhanced code about the sender's address (5.1.7,
//     5.1.8), the size (5.2.3), the destination system (5.3.x), routing
//     other than an unknown or unroutable address (5.4.x but 5.4.1 and
//     5.4.4), the
//     protocol (5.5.x), content (5.6.x) or policy (5.7.x: our IP, our
//     authentication, relaying) is Rejected; without an enhanced code,
//     only 550, 551, 553, 521 and 556 mean the address, 552 is
//     Temporary (RFC 5321 4.5.3.1.10), and the rest (500-504, 530, 554:
//     syntax, sequence, authentication, block lists) is Rejected.
//   - a 5xx to the final "." is about our message (Rejected: too big,
//     line too long, content, policy), unless its enhanced code is about
//     the mailbox or address (5.1.x but 5.1.7 and 5.1.8, 5.2.x but 5.2.3,
//     5.4.1, 5.4.4): some relays check recipients only then. Permanent
//     then.
//
// Suppressing an address is the one outcome that cannot be taken back,
// so every doubt falls on Rejected.
func replyKind(st stage, code int, enh enhancedCode) nurture.DeliveryKind {
	if enh.class != code/100 || (enh.subject == 0 && enh.detail == 0) {
		enh = enhancedCode{} // X.0.0 says nothing the reply code does not
	}
	switch {
	case code == 421 || code == 454:
		return nurture.DeliveryThrottled
	case code < 500 && (enh == enhancedCode{4, 4, 5} || enh == enhancedCode{4, 7, 28}):
		return nurture.DeliveryThrottled
	case code < 500:
		return nurture.DeliveryTemporary
	}
	switch st {
	case stageRcpt:
		if enh.class != 0 {
			if aboutAddress(enh) {
				return nurture.DeliveryPermanent
			}
			return nurture.DeliveryRejected
		}
		switch code {
		case 550, 551, 553, 521, 556:
			return nurture.DeliveryPermanent
		case 552:
			return nurture.DeliveryTemporary
		}
	case stageEnd:
		if enh.class != 0 && aboutAddress(enh) {
			return nurture.DeliveryPermanent
		}
	}
	return nurture.DeliveryRejected
}

// aboutAddress reports whether a 5.x.x enhanced code is about the
// recipient's mailbox or address rather than the sender, the message or
// the systems in between.
func aboutAddress(e enhancedCode) bool {
	switch e.subject {
	case 1: // addressing
		return e.detail != 7 && e.detail != 8 // the sender's mailbox and system
	case 2: // mailbox
		return e.detail != 3 // the message's length
	case 4: // network and routing
		// 5.4.4: the address's domain cannot be routed to. 5.4.1 is "no
		// answer from host" in RFC 3463, but Microsoft 365 answers it for
		// an address its directory does not know, at RCPT or after the
		// data; a 5xx never means a busy host.
		return e.detail == 1 || e.detail == 4
	}
	return false
}
