package nurture

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
