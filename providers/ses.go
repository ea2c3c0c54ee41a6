package providers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nurture-email/nurture"
)

// sesNotification is what Amazon SES publishes to an SNS topic, in the
// Message of an SNS Notification: its bounce and complaint notifications,
// and the same under SES event publishing.
type sesNotification struct {
	NotificationType string        `json:"notificationType"`
	EventType        string        `json:"eventType"` // the name under SES event publishing
	Bounce           *sesBounce    `json:"bounce"`
	Complaint        *sesComplaint `json:"complaint"`
	Mail             sesMail       `json:"mail"`
}

type sesBounce struct {
	BounceType        string         `json:"bounceType"`
	BounceSubType     string         `json:"bounceSubType"`
	BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
	Timestamp         string         `json:"timestamp"`
	FeedbackID        string         `json:"feedbackId"`
}

type sesComplaint struct {
	ComplainedRecipients  []sesRecipient `json:"complainedRecipients"`
	ComplaintFeedbackType string         `json:"complaintFeedbackType"`
	Timestamp             string         `json:"timestamp"`
	FeedbackID            string         `json:"feedbackId"`
}

type sesRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

type sesMail struct {
	Headers       []sesHeader `json:"headers"`
	CommonHeaders struct {
		MessageID string `json:"messageId"`
	} `json:"commonHeaders"`
}

type sesHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParseSESNotification reads an Amazon SES notification: the Message of an
// SNS Notification. A Permanent bounce is hard; Transient and Undetermined
// ones are soft; a complaint is a complaint unless its feedback type is
// not-spam. Deliveries and other notifications give no bounces. Field names
// in errors are relative to the notification.
func ParseSESNotification(data []byte) ([]nurture.Bounce, error) {
	var n sesNotification
	if err := decodeStrict(data, &n, true); err != nil {
		return nil, typeError(err, "", "body", "an Amazon SES notification (a JSON object)")
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	messageID := n.Mail.CommonHeaders.MessageID
	if messageID == "" {
		for _, h := range n.Mail.Headers {
			if strings.EqualFold(h.Name, "Message-ID") {
				messageID = h.Value
				break
			}
		}
	}
	switch kind {
	case "Bounce":
		b := n.Bounce
		if b == nil {
			return nil, nurture.FieldError("bounce", "is required in a Bounce notification")
		}
		var typ nurture.BounceType
		switch b.BounceType {
		case "Permanent":
			typ = nurture.BounceHard
		case "Transient", "Undetermined":
			typ = nurture.BounceSoft
		case "":
			return nil, nurture.FieldError("bounce.bounceType", "is required")
		default:
			return nil, nurture.FieldError("bounce.bounceType", "%q is not Permanent, Transient or Undetermined", b.BounceType)
		}
		at, err := optionalTime(b.Timestamp, "bounce.timestamp")
		if err != nil {
			return nil, err
		}
		if len(b.BouncedRecipients) == 0 {
			return nil, nurture.FieldError("bounce.bouncedRecipients", "is required: at least one recipient")
		}
		out := make([]nurture.Bounce, 0, len(b.BouncedRecipients))
		for i, r := range b.BouncedRecipients {
			reason := r.DiagnosticCode
			if reason == "" {
				reason = strings.TrimSpace(b.BounceType + " " + b.BounceSubType + " " + r.Status)
			}
			bb, err := nurture.Bounce{Email: r.EmailAddress, Type: typ, Reason: reason, MessageID: messageID, At: at,
				Provider: SES, EventID: b.FeedbackID}.Normalize(fmt.Sprintf("bounce.bouncedRecipients[%d].emailAddress", i))
			if err != nil {
				return nil, err
			}
			out = append(out, bb)
		}
		return out, nil
	case "Complaint":
		c := n.Complaint
		if c == nil {
			return nil, nurture.FieldError("complaint", "is required in a Complaint notification")
		}
		if strings.EqualFold(c.ComplaintFeedbackType, "not-spam") {
			return nil, nil // the report says the mail is wanted
		}
		at, err := optionalTime(c.Timestamp, "complaint.timestamp")
		if err != nil {
			return nil, err
		}
		if len(c.ComplainedRecipients) == 0 {
			return nil, nurture.FieldError("complaint.complainedRecipients", "is required: at least one recipient")
		}
		reason := "complaint"
		if c.ComplaintFeedbackType != "" {
			reason = "complaint: " + c.ComplaintFeedbackType
		}
		out := make([]nurture.Bounce, 0, len(c.ComplainedRecipients))
		for i, r := range c.ComplainedRecipients {
			bb, err := nurture.Bounce{Email: r.EmailAddress, Type: nurture.BounceComplaint, Reason: reason, MessageID: messageID,
				At: at, Provider: SES, EventID: c.FeedbackID}.Normalize(fmt.Sprintf("complaint.complainedRecipients[%d].emailAddress", i))
			if err != nil {
				return nil, err
			}
			out = append(out, bb)
		}
		return out, nil
	case "":
		return nil, nurture.FieldError("notificationType", "is required")
	}
	return nil, nil // Delivery, Send, Open, AmazonSnsSubscriptionSucceeded...: nothing to record
}

// SESBounces reads the Amazon SES notification that the SNS Notification m
// carries (ParseSESNotification), with the fields of its errors named
// inside the SNS message: Message.bounce.bounceType.
func (m *SNSMessage) SESBounces() ([]nurture.Bounce, error) {
	bounces, err := ParseSESNotification([]byte(m.Message))
	var de *nurture.Error
	if err == nil || !errors.As(err, &de) || de.Field == "" {
		return bounces, err
	}
	e := *de
	if e.Field == "body" {
		e.Field = "Message"
	} else {
		e.Field = "Message." + e.Field
	}
	return nil, &e
}
