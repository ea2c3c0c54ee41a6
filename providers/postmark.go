package providers

import (
	"strconv"
	"strings"

	"github.com/nurture-email/nurture"
)

type postmarkRecord struct {
	RecordType string `json:"RecordType"`
	ID         *int64 `json:"ID"`
	Type       string `json:"Type"`
	Email      string `json:"Email"`
	Details    string `json:"Details"`
	Desc       string `json:"Description"`
	BouncedAt  string `json:"BouncedAt"`
	Content    string `json:"Content"`
}

// postmarkTypes classifies Postmark's bounce types; a type not listed (an
// auto-responder, a challenge, an error of ours such as DMARCPolicy or
// TemplateRenderingFailed) says nothing about the address and is ignored.
var postmarkTypes = map[string]nurture.BounceType{
	"HardBounce":          nurture.BounceHard,
	"BadEmailAddress":     nurture.BounceHard,
	"ManuallyDeactivated": nurture.BounceHard,
	"SoftBounce":          nurture.BounceSoft,
	"Transient":           nurture.BounceSoft,
	"DnsError":            nurture.BounceSoft,
	"Blocked":             nurture.BounceSoft,
	"SpamNotification":    nurture.BounceSoft,
	"SpamComplaint":       nurture.BounceComplaint,
}

// ParsePostmark reads a Postmark webhook post. A Bounce record is classified
// by its Type (HardBounce, SoftBounce, SpamComplaint...); a SpamComplaint
// record is a complaint; Delivery, Open, Click and SubscriptionChange
// records give no bounces. Postmark's MessageID is its own, so the
// Message-ID of our mail is looked for in the bounce Content, when sent.
func ParsePostmark(data []byte) ([]nurture.Bounce, error) {
	var r postmarkRecord
	if err := decodeStrict(data, &r, true); err != nil {
		return nil, typeError(err, "", "body", "a Postmark webhook object")
	}
	var typ nurture.BounceType
	switch r.RecordType {
	case "SpamComplaint":
		typ = nurture.BounceComplaint
	case "Bounce", "": // bounce webhooks predating RecordType have none
		if r.Type == "" {
			return nil, nurture.FieldError("Type", "is required")
		}
		t, ok := postmarkTypes[r.Type]
		if !ok {
			return nil, nil
		}
		typ = t
	default:
		return nil, nil
	}
	at, err := optionalTime(r.BouncedAt, "BouncedAt")
	if err != nil {
		return nil, err
	}
	reason := r.Details
	if reason == "" {
		reason = r.Desc
	}
	if reason == "" {
		reason = r.Type
	}
	eventID := ""
	if r.ID != nil {
		eventID = strconv.FormatInt(*r.ID, 10)
	}
	b, err := nurture.Bounce{Email: r.Email, Type: typ, Reason: reason, MessageID: ourMessageIDIn(r.Content), At: at,
		Provider: Postmark, EventID: eventID}.Normalize("Email")
	if err != nil {
		return nil, err
	}
	return []nurture.Bounce{b}, nil
}

// ourMessageIDIn finds the first Message-ID header in a raw bounce that is
// one of ours: the bounce's own Message-ID comes first and is not.
func ourMessageIDIn(raw string) string {
	for line := range strings.Lines(raw) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "Message-ID") {
			continue
		}
		if _, _, ours := nurture.ParseMessageID(value); ours {
			return value // Bounce.Normalize drops the angle brackets
		}
	}
	return ""
}
