package nurture

import (
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
}

// Header is one extra header of an Email.
type Header struct {
	Name  string
	Value string
}

// DeliveryError is a relay's refusal or a failure to reach it. Permanent
// means that trying again cannot help (an SMTP 5xx for the recipient or the
// content); everything else, network errors included, is worth a retry.
type DeliveryError struct {
	Permanent bool
	Code      int    // the SMTP reply code, 0 when the relay was not reached
	Enhanced  string // the enhanced status code, such as 5.1.1, when given
	Err       error
}

func (e *DeliveryError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Code != 0 && e.Enhanced != "" {
		return fmt.Sprintf("%s delivery failure (%d %s): %v", kind, e.Code, e.Enhanced, e.Err)
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s delivery failure (%d): %v", kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s delivery failure: %v", kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }
