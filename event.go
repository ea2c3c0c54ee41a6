package nurture

import "time"

// EventType is the kind of call that produced an event, after Segment's
// tracking API.
type EventType string

// The event types Nurture records.
const (
	EventIdentify EventType = "identify"
	EventTrack    EventType = "track"
	EventPage     EventType = "page"
	EventAlias    EventType = "alias"
	EventGroup    EventType = "group"
)

// EventSignedUp is the track event that starts a contact's onboarding.
const EventSignedUp = "signed_up"

// Event is something a contact did or that was said about them.
type Event struct {
	ID         int64
	ContactID  int64
	MessageID  string // the caller's idempotency key (Segment's messageId)
	Type       EventType
	Name       string // the track event's name or the page's name
	Properties map[string]any
	OccurredAt time.Time
	ReceivedAt time.Time
}
