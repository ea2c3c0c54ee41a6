package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
)

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

// genericBounce is one bounce as POST /v1/webhooks/bounces takes it.
type genericBounce struct {
	Email     *string `json:"email"`
	Type      *string `json:"type"`
	Reason    string  `json:"reason"`
	MessageID string  `json:"messageId"`
	At        string  `json:"at"`
	ID        string  `json:"id"`
}

// ParseGenericBounces reads the body of POST /v1/webhooks/bounces, the
// format of relays without one of their own here: one
// {"email","type","reason"} object or an array of at most
// MaxGenericBounces of them. messageId (the Message-ID of the mail), at
// (RFC 3339) and id (an idempotency key) are optional; without id or at, a
// repeated post counts again.
func ParseGenericBounces(data []byte) ([]nurture.Bounce, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nurture.FieldError("body", "is empty: send a bounce object or an array of them")
	}
	var items []json.RawMessage
	prefix := func(int) string { return "" }
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, nurture.FieldError("body", "is not a JSON array of bounce objects")
		}
		if len(items) > MaxGenericBounces {
			return nil, tooMany(MaxGenericBounces, "bounces")
		}
		prefix = func(i int) string { return fmt.Sprintf("[%d].", i) }
	case '{':
		items = []json.RawMessage{data}
	default:
		return nil, nurture.FieldError("body", "must be a bounce object or an array of them")
	}
	out := make([]nurture.Bounce, 0, len(items))
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
					return nil, nurture.FieldError(here, "has a field without a name")
				}
				return nil, nurture.FieldError(p+f, "is not a field of a bounce (email, type, reason, messageId, at, id)")
			}
			return nil, typeError(err, p, here, "a bounce object")
		}
		if g.Email == nil {
			return nil, nurture.FieldError(p+"email", "is required")
		}
		if g.Type == nil {
			return nil, nurture.FieldError(p+"type", "is required (hard, soft or complaint)")
		}
		typ := nurture.BounceType(strings.ToLower(strings.TrimSpace(*g.Type)))
		if !typ.Valid() {
			return nil, nurture.FieldError(p+"type", "%q is not a bounce type (hard, soft or complaint)", *g.Type)
		}
		var at time.Time
		if g.At != "" {
			t, err := time.Parse(time.RFC3339Nano, g.At)
			if err != nil {
				return nil, nurture.FieldError(p+"at", "must be an RFC 3339 date-time such as 2026-03-02T12:00:00Z")
			}
			at = t
		}
		b, err := nurture.Bounce{Email: *g.Email, Type: typ, Reason: g.Reason, MessageID: g.MessageID, At: at,
			Provider: Generic, EventID: g.ID}.Normalize(p + "email")
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
