package nurture

import "time"

// Topic is what an email is about, from the recipient's point of view: the
// unit of their preferences ("no more marketing, please") and of one-click
// unsubscribe. Every template declares exactly one.
type Topic string

// The topics a template may declare.
const (
	TopicOnboarding    Topic = "onboarding"
	TopicEducation     Topic = "education"
	TopicProduct       Topic = "product"
	TopicMarketing     Topic = "marketing"
	TopicTransactional Topic = "transactional"
)

// Valid reports whether t is one of the five topics.
func (t Topic) Valid() bool {
	switch t {
	case TopicOnboarding, TopicEducation, TopicProduct, TopicMarketing, TopicTransactional:
		return true
	}
	return false
}

// OptOutVia says how a contact opted out of a topic.
type OptOutVia string

// The ways an opt-out is made.
const (
	// OptOutEmailLink is the recipient's own choice, through an email's
	// one-click unsubscribe or its preference page; the store does not yet
	// record which of the two.
	OptOutEmailLink OptOutVia = "email_link"
)

// OptOut is a contact's choice to get no more email of one topic: since
// when, and how it was made.
type OptOut struct {
	Topic Topic
	Since time.Time
	Via   OptOutVia
}
