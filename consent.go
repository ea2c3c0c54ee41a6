package nurture

import (
	"strconv"
	"strings"
	"time"
)

// ConsentSource says how a consent was given or withdrawn.
type ConsentSource string

// The ways a consent is given or withdrawn.
const (
	ConsentAPI            ConsentSource = "api"             // an admin call (POST /v1/contacts/{id}/consents)
	ConsentImport         ConsentSource = "import"          // an admin call bringing a consent from another system
	ConsentPreferencePage ConsentSource = "preference_page" // the person, on the preference page
	ConsentOneClick       ConsentSource = "one_click"       // the person, through an email's one-click unsubscribe
	ConsentDoubleOptIn    ConsentSource = "double_opt_in"   // the person, through the link of a confirmation email
	ConsentBounce         ConsentSource = "bounce"          // the address bounced and was suppressed
	ConsentComplaint      ConsentSource = "complaint"       // the person reported an email as spam
)

// Valid reports whether s is one of the sources.
func (s ConsentSource) Valid() bool {
	switch s {
	case ConsentAPI, ConsentImport, ConsentPreferencePage, ConsentOneClick, ConsentDoubleOptIn, ConsentBounce, ConsentComplaint:
		return true
	}
	return false
}

// ConsentRecord is one line of a contact's consent history: a topic given
// or withdrawn, when, how and from which address (when there is one). A
// record without a topic concerns the address as a whole: a bounce that
// suppressed it.
type ConsentRecord struct {
	Topic   Topic // "" for the whole address
	Granted bool
	Source  ConsentSource
	IP      string // the person's address, for what they did on our pages; "" otherwise
	At      time.Time
}

// ConsentState is where a contact stands on a topic.
type ConsentState string

// The states of a contact's consent to a topic.
const (
	// ConsentDefault: neither opted in nor out; every topic is sent by
	// default, except one that requires an opt-in.
	ConsentDefault  ConsentState = "default"
	ConsentOptedIn  ConsentState = "opted_in"
	ConsentOptedOut ConsentState = "opted_out"
)

// Consent is a contact's current consent to one topic: its state, since
// when and how it came to be (both zero for ConsentDefault).
type Consent struct {
	Topic  Topic
	State  ConsentState
	Since  time.Time
	Source ConsentSource
}

// Consents is what a contact said about each topic: where they stand now
// (one entry per topic a person can choose, in the order of
// PreferenceTopics) and every change, oldest first.
type Consents struct {
	Current []Consent
	History []ConsentRecord
}

// PreferenceTopics are the topics a person can turn off or on;
// transactional mail (receipts, password resets) is not theirs to refuse.
var PreferenceTopics = []Topic{TopicOnboarding, TopicEducation, TopicProduct, TopicMarketing}

// ConsentChange is a change of a contact's consents, applied in one
// transaction: the topics opted out of and those opted in to (never the
// same topic in both), how, from which address, and the templates whose
// queued messages the opt-outs cancel. Only actual changes are recorded in
// the history: opting out of a topic already off records nothing.
type ConsentChange struct {
	ContactID       int64
	OptOut, OptIn   []Topic
	Source          ConsentSource
	IP              string
	CancelTemplates []string
}

// Double opt-in: an opt-in asked by the operator becomes the person's
// once they confirm it through a signed link in an email sent to their
// address (the link proves the mailbox). The email is a message row like
// any other, of ConfirmTemplate, whose dedupe key names the topic.
const (
	// ConfirmTemplate is the template of the confirmation email.
	ConfirmTemplate = "confirm-opt-in"
	// MaxConfirmAge is how long a confirmation link works.
	MaxConfirmAge = 7 * 24 * time.Hour
	// confirmEvery is how often one contact may be sent a confirmation
	// of one topic: a second request within it is the first one.
	confirmEvery = time.Hour
	optInPrefix  = "optin:"
)

// OptInDedupeKey is the dedupe key of the confirmation email of topic for
// contact, asked at at: one per contact, topic and hour.
func OptInDedupeKey(topic Topic, contactID int64, at time.Time) string {
	return optInPrefix + string(topic) + ":" + strconv.FormatInt(contactID, 10) + ":" + strconv.FormatInt(at.Unix()/int64(confirmEvery/time.Second), 10)
}

// OptInTopic returns the topic a confirmation email's dedupe key names,
// and false for the key of any other email.
func OptInTopic(dedupeKey string) (Topic, bool) {
	rest, ok := strings.CutPrefix(dedupeKey, optInPrefix)
	if !ok {
		return "", false
	}
	topic, _, ok := strings.Cut(rest, ":")
	t := Topic(topic)
	return t, ok && t.Valid() && t != TopicTransactional
}
