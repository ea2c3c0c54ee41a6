package providers

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
)

type sendGridEvent struct {
	Email     string `json:"email"`
	Event     string `json:"event"`
	Timestamp *int64 `json:"timestamp"`
	SMTPID    string `json:"smtp-id"`
	EventID   string `json:"sg_event_id"`
	Reason    string `json:"reason"`
	Status    string `json:"status"`
	Type      string `json:"type"` // of a bounce: bounce, blocked or expired
}

// ParseSendGridEvents reads a SendGrid Event Webhook post: an array of at
// most MaxSendGridEvents events. A bounce is hard, unless SendGrid says it was blocked or expired
// (soft); a drop because the address bounced before is hard, one because it
// complained before is a complaint; a spam report is a complaint. Every
// other event (deferred, delivered, open, ...) is ignored.
func ParseSendGridEvents(data []byte) ([]nurture.Bounce, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, nurture.FieldError("body", "must be a JSON array of SendGrid events")
	}
	if len(items) > MaxSendGridEvents {
		return nil, tooMany(MaxSendGridEvents, "events")
	}
	var out []nurture.Bounce
	for i, raw := range items {
		p := fmt.Sprintf("[%d]", i)
		var head struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, typeError(err, p+".", p, "an event object")
		}
		if head.Event == "" {
			return nil, nurture.FieldError(p+".event", "is required")
		}
		if head.Event != "bounce" && head.Event != "dropped" && head.Event != "spamreport" {
			continue
		}
		var e sendGridEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, typeError(err, p+".", p, "an event object")
		}
		var typ nurture.BounceType
		reason := strings.TrimSpace(e.Reason)
		switch e.Event {
		case "bounce":
			typ = nurture.BounceHard
			if t := strings.ToLower(e.Type); t == "blocked" || t == "expired" {
				typ = nurture.BounceSoft
			}
			if e.Status != "" && !strings.Contains(reason, e.Status) {
				reason = strings.TrimSpace(e.Status + " " + reason)
			}
		case "dropped":
			switch {
			case strings.EqualFold(reason, "Bounced Address"):
				typ = nurture.BounceHard
			case strings.EqualFold(reason, "Spam Reporting Address"):
				typ = nurture.BounceComplaint
			default:
				continue // unsubscribed, invalid, spam content...: about the mail or a list, not a bounce
			}
			reason = "dropped: " + reason
		case "spamreport":
			typ, reason = nurture.BounceComplaint, "spam report"
		}
		var at time.Time
		if e.Timestamp != nil {
			if *e.Timestamp < 0 || *e.Timestamp > 1<<40 {
				return nil, nurture.FieldError(p+".timestamp", "is not a Unix time in seconds")
			}
			at = time.Unix(*e.Timestamp, 0).UTC()
		}
		b, err := nurture.Bounce{Email: e.Email, Type: typ, Reason: reason, MessageID: e.SMTPID, At: at,
			Provider: SendGrid, EventID: e.EventID}.Normalize(p + ".email")
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
