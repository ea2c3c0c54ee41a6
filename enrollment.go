package nurture

import "time"

// EnrollmentStatus is where an enrollment in a sequence stands.
type EnrollmentStatus string

// An enrollment is active until it completes its steps, reaches its goal
// (converted), leaves early (exited, with a reason) or cannot go on
// (failed: its sequence or version is gone).
const (
	EnrollmentActive    EnrollmentStatus = "active"
	EnrollmentCompleted EnrollmentStatus = "completed"
	EnrollmentConverted EnrollmentStatus = "converted"
	EnrollmentExited    EnrollmentStatus = "exited"
	EnrollmentFailed    EnrollmentStatus = "failed"
)

// Enrollment is one contact's walk through one version of a sequence, as
// the store keeps it. State is the sequence package's state of the walk,
// as JSON: the store keeps it without reading it.
type Enrollment struct {
	ID        int64
	ContactID int64
	Sequence  string
	Version   string
	Topic     Topic
	Status    EnrollmentStatus
	Reason    string
	Step      string
	Visit     int
	State     []byte
	// NextRun is when it is to be advanced next; zero once it has ended.
	NextRun time.Time
	// Revision counts its changes: an update names the revision it was
	// decided on, and is refused when another came first.
	Revision int64
	Started  time.Time
	Ended    time.Time
	Updated  time.Time
}

// EnrollmentRecord is one line of an enrollment's history.
type EnrollmentRecord struct {
	Step   string
	Kind   string
	Detail string
	At     time.Time
}

// EnrollmentUpdate is a decision about an enrollment, to apply at once:
// its new status, step and state, when to advance it next, what may wake
// it before then, the lines of its history, and the email to create, if
// any.
type EnrollmentUpdate struct {
	ID int64
	// Revision is the enrollment's revision the decision was made on.
	Revision int64
	Status   EnrollmentStatus
	Reason   string
	Step     string
	Visit    int
	State    []byte
	// Version moves the enrollment to another version of its sequence
	// ("": it stays on its own).
	Version string
	NextRun time.Time // zero when it ends
	// WakeKeys are what may wake it before NextRun: WakeEvent(key),
	// WakeTraits, WakeHits.
	WakeKeys []string
	History  []EnrollmentRecord
	// Message is the email to create (its dedupe key makes it once), with
	// Reasons saying why.
	Message *Message
	Reasons *MessageReasons
	At      time.Time
	// Decisions is how many decisions the update applies at once (a send
	// and the wait after it); the revision moves on by as many. 0 counts
	// as 1.
	Decisions int
}

// The keys of what may wake an enrollment.
const (
	WakeTraits = "traits"
	WakeHits   = "hits"
)

// WakeEvent returns the wake key of the event whose EventKey is key.
func WakeEvent(key string) string { return "event:" + key }

// MessageReasons says why a message was sent: the sequence, version and
// step that sent it, and the branch decisions, condition values and waits
// that led there.
type MessageReasons struct {
	EnrollmentID int64
	Sequence     string
	Version      string
	Step         string
	Reasons      []string
}

// SignalKind is what a sequence signal reports.
type SignalKind string

// The kinds of sequence signals.
const (
	// SignalEvent: the contact did an event (Name, Properties).
	SignalEvent SignalKind = "event"
	// SignalTraits: the contact's traits changed (an identify call).
	SignalTraits SignalKind = "traits"
	// SignalTopic: the contact opted out of a topic (Name).
	SignalTopic SignalKind = "topic"
	// SignalHits: a person opened or clicked one of the contact's emails.
	SignalHits SignalKind = "hits"
)

// SequenceSignal is something that happened to a contact that may start a
// sequence or wake an enrollment: ingestion leaves one in the same
// transaction as the event, and the sequence engine consumes it.
type SequenceSignal struct {
	ID         int64
	ContactID  int64
	Kind       SignalKind
	Name       string
	Properties map[string]any
	At         time.Time
}

// FactsNeeds is what a store loads into Facts for one contact: what the
// conditions read, the events whose occurrences since a time are needed,
// and whether the contact's emails (with their opens and clicks) are.
type FactsNeeds struct {
	ConditionRefs
	Since  []string
	Emails bool
}

// FactsRequest asks a store for the facts of one contact: what needs says,
// with the occurrences of the events in needs.Since from Since on (an
// enrollment's start). A batch of them loads in a few queries.
type FactsRequest struct {
	ContactID int64
	Needs     FactsNeeds
	Since     time.Time
}

// EnrollmentResult is what applying one EnrollmentUpdate did: Applied is
// false when the enrollment had changed since the update's revision (the
// caller decides again), and Message is the email it created, nil when
// there was none or its dedupe key existed already.
type EnrollmentResult struct {
	Applied bool
	Message *Message
}

// SequenceSource is the text of one version of a sequence file, kept so
// that enrollments on an older version can still be advanced after the
// file changes.
type SequenceSource struct {
	Sequence string
	Version  string
	File     string
	Source   []byte
}
