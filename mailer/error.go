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

// temporary wraps a failure that a later attempt may overcome: a network
// error, a timeout, a dial or handshake failure, a cancelled context. The
// relay's reply code is unknown (0) unless it gave one.
func temporary(code int, err error) *nurture.DeliveryError {
	return &nurture.DeliveryError{Permanent: false, Code: code, Err: err}
}

// classify turns a refused or interrupted transaction into the
// DeliveryError callers decide retries by: permanent only for a 5xx reply
// that is about the message or the recipient; everything without a reply
// (a network error, a timeout) is temporary. A refusal of MAIL FROM is
// about our sender (its address, our IP, our account), never about the
// recipient, whom callers would otherwise suppress: it is temporary, to be
// retried once someone has fixed it.
func classify(ctx context.Context, err error) *nurture.DeliveryError {
	code := replyCode(err)
	if code < 400 || code > 599 {
		if ctx.Err() != nil {
			return temporary(0, fmt.Errorf("interrupted (%w): %w", context.Cause(ctx), err))
		}
		return temporary(0, err)
	}
	var se *stageError
	sender := errors.As(err, &se) && se.stage == "MAIL FROM"
	return &nurture.DeliveryError{
		Permanent: permanentReply(code) && !sender,
		Code:      code,
		Enhanced:  enhancedCode(err),
		Err:       err,
	}
}

// permanentReply reports whether a relay's reply code means that trying
// the same message again cannot succeed. A 5xx normally does; the codes
// below say something about our session or configuration instead (a
// command out of sequence or not understood, authentication required), and
// must not get a recipient marked undeliverable while someone fixes them.
func permanentReply(code int) bool {
	switch code {
	case 500, 502, 503, 530:
		return false
	}
	return code >= 500 && code <= 599
}
