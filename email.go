package nurture

import (
	"errors"
	"fmt"
	"net/mail"
)

// Email is a composed message ready for a relay: addresses, subject, both
// bodies and any extra headers. Header values come from us, never verbatim
// from outside input.
type Email struct {
	MessageID string // the Message-ID header value, without angle brackets
	From      mail.Address
	To        mail.Address
	Subject   string
	HTML      string
	Text      string
	Headers   []Header
	// Attachments are files sent with the email (a person's export of
	// their data); none for most emails.
	Attachments []Attachment
}

// Attachment is a file sent with an Email: the name the recipient sees,
// its media type without parameters (application/json) and its bytes. The
// mailer refuses a name or type that could break out of its header, and
// writes the bytes in base64.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Header is one extra header of an Email.
type Header struct {
	Name  string
	Value string
}

// DeliveryKind says what a failed delivery means for the message and for
// its recipient's address. The mailer decides it from the relay's reply (or
// its silence), so that nothing above the mailer reads SMTP reply codes:
// callers retry, slow down, bounce or suppress by kind alone.
type DeliveryKind string

// The kinds of delivery failure.
const (
	// DeliveryTemporary: the message was not delivered this time and a
	// later attempt may be (a 4xx, a network error, a timeout or a
	// cancelled context before the end of the message went out).
	DeliveryTemporary DeliveryKind = "temporary"
	// DeliveryThrottled: the relay asks us to slow down (421, a rate or
	// congestion reply): try later, and lower the rate every worker
	// shares.
	DeliveryThrottled DeliveryKind = "throttled"
	// DeliveryPermanent: the recipient's address is refused for good (no
	// such mailbox, a domain that takes no mail): bounce the message and
	// suppress the address.
	DeliveryPermanent DeliveryKind = "permanent"
	// DeliveryRejected: the relay refused the message for a reason of
	// ours (our sender, our IP, our account, our message's size, format or
	// content), not the recipient's. The address must never be suppressed
	// for it; the message may be tried again once the cause is fixed.
	DeliveryRejected DeliveryKind = "rejected"
	// DeliveryUnknown: the whole message, final "." included, went out,
	// and the connection was lost or timed out before the relay answered.
	// The relay may have accepted it (RFC 1047): sending again may deliver
	// it twice, not sending may lose it.
	DeliveryUnknown DeliveryKind = "unknown"
)

// DeliveryError is a failure to hand a message to the relay: a refusal, a
// lost connection, a timeout. Kind is all a caller needs to act on; Err
// keeps the relay's reply text (its code included, for people reading the
// history) or the network error.
type DeliveryError struct {
	Kind DeliveryKind
	Err  error
}

func (e *DeliveryError) Error() string {
	if e.Kind == DeliveryUnknown {
		return fmt.Sprintf("delivery outcome unknown: %v", e.Err)
	}
	return fmt.Sprintf("%s delivery failure: %v", e.Kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// DeliveryKindOf returns the kind of the first *DeliveryError in err's
// chain, and "" when there is none: a nil error, or one that is not about
// delivery (input refused before anything was sent, say).
func DeliveryKindOf(err error) DeliveryKind {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Kind
	}
	return ""
}
