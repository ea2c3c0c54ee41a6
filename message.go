package nurture

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// MessageStatus is where a message is in its life.
type MessageStatus string

// A message moves queued -> sending -> sent, or to deferred (a temporary
// failure that will be retried), bounced (the relay refused it for good),
// skipped (a last-moment check said no) or failed (it could not be built).
const (
	StatusQueued   MessageStatus = "queued"
	StatusSending  MessageStatus = "sending"
	StatusSent     MessageStatus = "sent"
	StatusDeferred MessageStatus = "deferred"
	StatusBounced  MessageStatus = "bounced"
	StatusSkipped  MessageStatus = "skipped"
	StatusFailed   MessageStatus = "failed"
)

// Final reports whether no more delivery attempts will be made.
func (s MessageStatus) Final() bool {
	switch s {
	case StatusSent, StatusBounced, StatusSkipped, StatusFailed:
		return true
	}
	return false
}

// Message is one email to one contact for one reason. Its DedupeKey is
// unique: whatever retries, crashes or repeated calls happen, there is at
// most one message, and so at most one email, per key.
type Message struct {
	ID        int64
	DedupeKey string
	ContactID int64
	Template  string
	// Subject, when not "", replaces the template's subject: a text
	// template on the same data (a sequence step's subject override).
	Subject string
	Topic   Topic // known once the message has been rendered
	// Queue is the message's queue class: critical, default or low.
	Queue string
	// Region is the region whose relay sends it ("" without regions);
	// its task queue is TaskQueue().
	Region   string
	Status   MessageStatus
	Attempts int
	SendAt   time.Time
	// EnqueuedAt is when the message was last handed to the task queue;
	// zero when never. A creator that enqueues at once sets it, so that the
	// reconciler leaves the message alone unless that enqueue was lost.
	EnqueuedAt time.Time
	SentAt     time.Time // zero until sent
	LastError  string
	CreatedAt  time.Time
}

// WelcomeDedupeKey is the key of the welcome email: one per contact, however
// many times the product reports the sign-up.
func WelcomeDedupeKey(contactID int64) string {
	return fmt.Sprintf("welcome:%d", contactID)
}

// Outcome is what became of one delivery attempt of a message.
type Outcome struct {
	MessageID int64
	// Claim is the id of the attempt's claim: the outcome is recorded only
	// while the row is still held under it (fencing), so an attempt whose
	// lease lapsed and was taken over can no longer write.
	Claim  int64
	Status MessageStatus
	Detail string
	Topic  Topic     // the rendered email's topic, when it got that far
	At     time.Time // when it happened; the sent time of a sent message
}

// StatusChange is one step of a message's status history.
type StatusChange struct {
	Status MessageStatus
	Detail string
	At     time.Time
}

// LogAttrs are the ids that say which email a log line is about: the
// message, its contact, and the enrollment or campaign that made it (read
// from its dedupe key: seq:<enrollment>:..., camp:<campaign>:...). Never
// an address or a name: logs at info level carry no personal data.
func (m *Message) LogAttrs() []any {
	attrs := []any{slog.Int64("message_id", m.ID), slog.Int64("contact_id", m.ContactID)}
	kind, rest, _ := strings.Cut(m.DedupeKey, ":")
	idText, _, _ := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	switch {
	case err != nil:
	case kind == "seq":
		attrs = append(attrs, slog.Int64("enrollment_id", id))
	case kind == "camp":
		attrs = append(attrs, slog.Int64("campaign_id", id))
	}
	return attrs
}
