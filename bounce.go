package nurture

import (
	"bytes" // SNS SignatureVersion 1 is SHA1withRSA
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// BounceType says what a provider reported about an address.
type BounceType string

// The kinds of bounce. A hard bounce and a complaint suppress the address at
// once; soft bounces do after a configurable number of them.
const (
	BounceHard      BounceType = "hard"
	BounceSoft      BounceType = "soft"
	BounceComplaint BounceType = "complaint"
)

// Valid reports whether t is one of the bounce types.
func (t BounceType) Valid() bool {
	return t == BounceHard || t == BounceSoft || t == BounceComplaint
}

// Bounce is one report that mail to an address failed or was complained
// about, as a provider (or a caller of the generic endpoint) sent it.
type Bounce struct {
	Email  string
	Type   BounceType
	Reason string // what the receiving server or the provider said, without the address
	// MessageID is the Message-ID header value of the mail concerned, without
	// angle brackets (ours look like nurture.123.<tag>@acme.example: see
	// MessageIDs), when the provider reports it.
	MessageID string
	At        time.Time // when the provider saw it; zero when it did not say
	Provider  string    // api, ses, sendgrid or postmark
	// EventID is the provider's id of the event, the same on each of its
	// retries; empty when it gives none. It makes recording idempotent.
	EventID string
}

// The provider names of Bounce.Provider.
const (
	ProviderAPI      = "api"
	ProviderSES      = "ses"
	ProviderSendGrid = "sendgrid"
	ProviderPostmark = "postmark"
)

// MaxBounceReason is how much of a provider's reason is kept.
const MaxBounceReason = 1000

// The most items one webhook post may carry; a longer one is refused whole
// (too_large, naming the first item past the limit), so that no request
// holds the store for long. The generic endpoint is ours: its clients
// split their reports. SendGrid batches its events itself, up to 768 KB a
// post, which at a few hundred bytes an event is a few thousand: its
// limit leaves room for that, since a refused post is one it retries, and
// would retry in vain.
const (
	MaxGenericBounces = 1000
	MaxSendGridEvents = 10000
)

// tooMany is the error of a post past its limit of items.
func tooMany(limit int, what string) error {
	return &Error{Code: CodeTooLarge, Field: fmt.Sprintf("[%d]", limit),
		Message: fmt.Sprintf("is past the limit of %d %s a request: send the rest in another request", limit, what)}
}

// newBounce checks and tidies what a parser found: the address must be one
// address (a display name is dropped), the reason is clipped and loses any
// copy of the address, so that erasing the person leaves nothing behind.
func newBounce(field, email string, typ BounceType, reason, messageID string, at time.Time, provider, eventID string) (Bounce, error) {
	addr, err := bounceAddress(email)
	if err != nil {
		return Bounce{}, FieldError(field, "%s", err.Error())
	}
	reason = replaceFold(strings.TrimSpace(strings.ReplaceAll(reason, "\x00", "")), addr, "<recipient>")
	return Bounce{
		Email:     addr,
		Type:      typ,
		Reason:    clip(reason, MaxBounceReason),
		MessageID: clip(trimAngles(messageID), 255),
		At:        at,
		Provider:  provider,
		EventID:   clip(strings.TrimSpace(eventID), 255),
	}, nil
}

// bounceAddress accepts what providers write in their address fields: a
// bare address, or one with a display name.
func bounceAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is required")
	}
	if len(s) > 320 {
		return "", errors.New("is longer than 320 characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || len(addr.Address) > 254 || strings.ContainsFunc(addr.Address, unicode.IsControl) {
		return "", errors.New("is not a valid email address")
	}
	at := strings.LastIndexByte(addr.Address, '@')
	return addr.Address[:at] + "@" + strings.ToLower(addr.Address[at+1:]), nil
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowerOld) != len(old) {
		return strings.ReplaceAll(s, old, repl) // case mapping changed the length: be exact only
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// clip cuts s to at most n bytes without splitting a character, and drops
// NUL bytes, which PostgreSQL text cannot hold.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

func trimAngles(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">"))
}

// typeError names the field of a JSON type mismatch.
func typeError(err error, prefix, fallback, want string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return FieldError(prefix+te.Field, "must be %s", jsonKind(te.Type.Kind().String()))
	}
	return FieldError(fallback, "must be %s", want)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// decodeStrict decodes exactly one JSON value from data into v.
func decodeStrict(data []byte, v any, allowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// ---- the generic endpoint ----

// genericBounce is one bounce as POST /v1/webhooks/bounces takes it.
type genericBounce struct {
	Email     *string `json:"email"`
	Type      *string `json:"type"`
	Reason    string  `json:"reason"`
	MessageID string  `json:"messageId"`
	At        string  `json:"at"`
	ID        string  `json:"id"`
}

// ParseGenericBounces reads the body of POST /v1/webhooks/bounces: one
// {"email","type","reason"} object or an array of at most
// MaxGenericBounces of them. messageId (the
// Message-ID of the mail), at (RFC 3339) and id (an idempotency key) are
// optional; without id or at, a repeated post counts again.
func ParseGenericBounces(data []byte) ([]Bounce, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, FieldError("body", "is empty: send a bounce object or an array of them")
	}
	var items []json.RawMessage
	prefix := func(int) string { return "" }
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, FieldError("body", "is not a JSON array of bounce objects")
		}
		if len(items) > MaxGenericBounces {
			return nil, tooMany(MaxGenericBounces, "bounces")
		}
		prefix = func(i int) string { return fmt.Sprintf("[%d].", i) }
	case '{':
		items = []json.RawMessage{data}
	default:
		return nil, FieldError("body", "must be a bounce object or an array of them")
	}
	out := make([]Bounce, 0, len(items))
	for i, raw := range items {
		p := prefix(i)
		var g genericBounce
		if err := decodeStrict(raw, &g, false); err != nil {
			here := "body"
			if p != "" {
				here = strings.TrimSuffix(p, ".")
			}
			if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				if f = strings.Trim(f, `"`); f == "" {
					return nil, FieldError(here, "has a field without a name")
				}
				return nil, FieldError(p+f, "is not a field of a bounce (email, type, reason, messageId, at, id)")
			}
			return nil, typeError(err, p, here, "a bounce object")
		}
		if g.Email == nil {
			return nil, FieldError(p+"email", "is required")
		}
		if g.Type == nil {
			return nil, FieldError(p+"type", "is required (hard, soft or complaint)")
		}
		typ := BounceType(strings.ToLower(strings.TrimSpace(*g.Type)))
		if !typ.Valid() {
			return nil, FieldError(p+"type", "%q is not a bounce type (hard, soft or complaint)", *g.Type)
		}
		var at time.Time
		if g.At != "" {
			t, err := time.Parse(time.RFC3339Nano, g.At)
			if err != nil {
				return nil, FieldError(p+"at", "must be an RFC 3339 date-time such as 2026-03-02T12:00:00Z")
			}
			at = t
		}
		b, err := newBounce(p+"email", *g.Email, typ, g.Reason, g.MessageID, at, ProviderAPI, g.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// ---- Amazon SES (through SNS) ----

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
func ParseSESNotification(data []byte) ([]Bounce, error) {
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
			return nil, FieldError("bounce", "is required in a Bounce notification")
		}
		var typ BounceType
		switch b.BounceType {
		case "Permanent":
			typ = BounceHard
		case "Transient", "Undetermined":
			typ = BounceSoft
		case "":
			return nil, FieldError("bounce.bounceType", "is required")
		default:
			return nil, FieldError("bounce.bounceType", "%q is not Permanent, Transient or Undetermined", b.BounceType)
		}
		at, err := optionalTime(b.Timestamp, "bounce.timestamp")
		if err != nil {
			return nil, err
		}
		if len(b.BouncedRecipients) == 0 {
			return nil, FieldError("bounce.bouncedRecipients", "is required: at least one recipient")
		}
		out := make([]Bounce, 0, len(b.BouncedRecipients))
		for i, r := range b.BouncedRecipients {
			reason := r.DiagnosticCode
			if reason == "" {
				reason = strings.TrimSpace(b.BounceType + " " + b.BounceSubType + " " + r.Status)
			}
			bb, err := newBounce(fmt.Sprintf("bounce.bouncedRecipients[%d].emailAddress", i), r.EmailAddress, typ,
				reason, messageID, at, ProviderSES, b.FeedbackID)
			if err != nil {
				return nil, err
			}
			out = append(out, bb)
		}
		return out, nil
	case "Complaint":
		c := n.Complaint
		if c == nil {
			return nil, FieldError("complaint", "is required in a Complaint notification")
		}
		if strings.EqualFold(c.ComplaintFeedbackType, "not-spam") {
			return nil, nil // the report says the mail is wanted
		}
		at, err := optionalTime(c.Timestamp, "complaint.timestamp")
		if err != nil {
			return nil, err
		}
		if len(c.ComplainedRecipients) == 0 {
			return nil, FieldError("complaint.complainedRecipients", "is required: at least one recipient")
		}
		reason := "complaint"
		if c.ComplaintFeedbackType != "" {
			reason = "complaint: " + c.ComplaintFeedbackType
		}
		out := make([]Bounce, 0, len(c.ComplainedRecipients))
		for i, r := range c.ComplainedRecipients {
			bb, err := newBounce(fmt.Sprintf("complaint.complainedRecipients[%d].emailAddress", i), r.EmailAddress,
				BounceComplaint, reason, messageID, at, ProviderSES, c.FeedbackID)
			if err != nil {
				return nil, err
			}
			out = append(out, bb)
		}
		return out, nil
	case "":
		return nil, FieldError("notificationType", "is required")
	}
	return nil, nil // Delivery, Send, Open, AmazonSnsSubscriptionSucceeded...: nothing to record
}

func optionalTime(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, FieldError(field, "must be an RFC 3339 date-time")
	}
	return t, nil
}

// ---- SendGrid ----

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
func ParseSendGridEvents(data []byte) ([]Bounce, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, FieldError("body", "must be a JSON array of SendGrid events")
	}
	if len(items) > MaxSendGridEvents {
		return nil, tooMany(MaxSendGridEvents, "events")
	}
	var out []Bounce
	for i, raw := range items {
		p := fmt.Sprintf("[%d]", i)
		var head struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, typeError(err, p+".", p, "an event object")
		}
		if head.Event == "" {
			return nil, FieldError(p+".event", "is required")
		}
		if head.Event != "bounce" && head.Event != "dropped" && head.Event != "spamreport" {
			continue
		}
		var e sendGridEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, typeError(err, p+".", p, "an event object")
		}
		var typ BounceType
		reason := strings.TrimSpace(e.Reason)
		switch e.Event {
		case "bounce":
			typ = BounceHard
			if t := strings.ToLower(e.Type); t == "blocked" || t == "expired" {
				typ = BounceSoft
			}
			if e.Status != "" && !strings.Contains(reason, e.Status) {
				reason = strings.TrimSpace(e.Status + " " + reason)
			}
		case "dropped":
			switch {
			case strings.EqualFold(reason, "Bounced Address"):
				typ = BounceHard
			case strings.EqualFold(reason, "Spam Reporting Address"):
				typ = BounceComplaint
			default:
				continue // unsubscribed, invalid, spam content...: about the mail or a list, not a bounce
			}
			reason = "dropped: " + reason
		case "spamreport":
			typ, reason = BounceComplaint, "spam report"
		}
		var at time.Time
		if e.Timestamp != nil {
			if *e.Timestamp < 0 || *e.Timestamp > 1<<40 {
				return nil, FieldError(p+".timestamp", "is not a Unix time in seconds")
			}
			at = time.Unix(*e.Timestamp, 0).UTC()
		}
		b, err := newBounce(p+".email", e.Email, typ, reason, e.SMTPID, at, ProviderSendGrid, e.EventID)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// ---- Postmark ----

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
var postmarkTypes = map[string]BounceType{
	"HardBounce":          BounceHard,
	"BadEmailAddress":     BounceHard,
	"ManuallyDeactivated": BounceHard,
	"SoftBounce":          BounceSoft,
	"Transient":           BounceSoft,
	"DnsError":            BounceSoft,
	"Blocked":             BounceSoft,
	"SpamNotification":    BounceSoft,
	"SpamComplaint":       BounceComplaint,
}

// ParsePostmark reads a Postmark webhook post. A Bounce record is classified
// by its Type (HardBounce, SoftBounce, SpamComplaint...); a SpamComplaint
// record is a complaint; Delivery, Open, Click and SubscriptionChange
// records give no bounces. Postmark's MessageID is its own, so the
// Message-ID of our mail is looked for in the bounce Content, when sent.
func ParsePostmark(data []byte) ([]Bounce, error) {
	var r postmarkRecord
	if err := decodeStrict(data, &r, true); err != nil {
		return nil, typeError(err, "", "body", "a Postmark webhook object")
	}
	var typ BounceType
	switch r.RecordType {
	case "SpamComplaint":
		typ = BounceComplaint
	case "Bounce", "": // bounce webhooks predating RecordType have none
		if r.Type == "" {
			return nil, FieldError("Type", "is required")
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
	b, err := newBounce("Email", r.Email, typ, reason, ourMessageIDIn(r.Content), at, ProviderPostmark, eventID)
	if err != nil {
		return nil, err
	}
	return []Bounce{b}, nil
}

// ourMessageIDIn finds the first Message-ID header in a raw bounce that is
// one of ours: the bounce's own Message-ID comes first and is not.
func ourMessageIDIn(raw string) string {
	for line := range strings.Lines(raw) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "Message-ID") {
			continue
		}
		if _, _, ours := ParseMessageID(value); ours {
			return trimAngles(value)
		}
	}
	return ""
}
