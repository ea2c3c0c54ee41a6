package nurture

// SequenceStats is what a sequence did: its enrollments by outcome, and
// per step what happened there and to its emails.
type SequenceStats struct {
	Sequence string
	Enrolled int64
	Active   int64
	// Converted counts the enrollments that reached the goal within its
	// window, including those that went on after it (continue: true).
	Converted int64
	Completed int64
	Failed    int64
	// Exited counts the enrollments that left early, by reason.
	Exited map[string]int64
	Steps  []StepStats
}

// StepStats is what happened at one step of a sequence.
type StepStats struct {
	Step    string
	Entered int64
	Sent    int64
	// Skipped and Postponed count by reason: "quiet hours", "frequency
	// cap", "opted out of education", a lesson none left...
	Skipped   map[string]int64
	Postponed map[string]int64
	// Emails are the messages the step created; Opened and Clicked count
	// those a person opened (a human click counts as an open) or clicked.
	Emails, Opened, Clicked int64
	// Unsubscribed and ConversionsAfter count the enrollments that left by
	// unsubscribing from the sequence's topic, or reached its goal, when
	// this step's email was the last they had.
	Unsubscribed, ConversionsAfter int64
}
