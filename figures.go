package nurture

import "time"

// Figures are counts of the engine's work at one moment, as the store
// keeps them: what whoever runs Nurture watches (how many emails wait in
// each status, how far sequences and campaigns have got, whether due work
// is being queued). The store reads them; monitoring exports them.
type Figures struct {
	// Pending counts the messages not yet final (queued, deferred,
	// sending) by status and topic: the backlog. Final ones are counted as
	// they happen (delivery's outcomes), not in the table, which only grows.
	Pending []MessageFigure
	// Enrollments counts the enrollments by status.
	Enrollments map[EnrollmentStatus]int64
	// Campaigns counts the campaigns by status (draft, scheduled, sending,
	// paused, sent, cancelled).
	Campaigns map[string]int64
	// Sending is the progress of each campaign that is sending.
	Sending []CampaignProgress
	// OldestDue is how long the oldest message that is due but was never
	// handed to the task queue has been due; zero when there is none.
	OldestDue time.Duration
}

// MessageFigure is how many messages of a topic are in a status.
type MessageFigure struct {
	Status MessageStatus
	Topic  Topic
	Count  int64
}

// CampaignProgress is how far a sending campaign has got: the contacts of
// its audience frozen so far and the emails sent to them.
type CampaignProgress struct {
	CampaignID int64
	Audience   int64
	Sent       int64
}
