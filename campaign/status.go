package campaign

import (
	"fmt"

	"github.com/nurture-email/nurture"
)

// Status is where a campaign stands.
type Status string

// The statuses of a campaign.
const (
	Draft     Status = "draft"     // being written: anything may change
	Scheduled Status = "scheduled" // waiting for its time; may still change
	Sending   Status = "sending"   // its audience is frozen and its emails are going out
	Paused    Status = "paused"    // sending stopped by hand; resume goes on where it stopped
	Sent      Status = "sent"      // every member has its email, handed to delivery, or was dropped at the end
	Cancelled Status = "cancelled" // stopped for good: what was not sent is dropped
)

// Action is what an operator asks of a campaign.
type Action string

// The actions on a campaign.
const (
	ActionSchedule Action = "schedule"
	ActionPause    Action = "pause"
	ActionResume   Action = "resume"
	ActionCancel   Action = "cancel"
)

// transitions lists, for each status, where each action leads from it.
var transitions = map[Status]map[Action]Status{
	Draft:     {ActionSchedule: Scheduled, ActionCancel: Cancelled},
	Scheduled: {ActionPause: Paused, ActionCancel: Cancelled},
	Sending:   {ActionPause: Paused, ActionCancel: Cancelled},
	Paused:    {ActionResume: Scheduled, ActionCancel: Cancelled},
}

// Transition returns the status an action moves a campaign to, or a
// conflict error saying why it cannot. Resuming a paused campaign makes it
// scheduled again: the fan-out then finds it due (or already started) and
// goes on from its checkpoint; the moment sending starts, Scheduled
// becomes Sending, by the fan-out, not by an action.
func Transition(from Status, a Action) (Status, error) {
	to, ok := transitions[from][a]
	if !ok {
		return from, &nurture.Error{Code: nurture.CodeConflict, Field: "status",
			Message: fmt.Sprintf("a %s campaign cannot be asked to %s", from, a)}
	}
	return to, nil
}

// Editable reports whether a campaign's content and audience may still
// change: only before its audience is frozen.
func Editable(s Status) bool { return s == Draft || s == Scheduled }

// Sources lists the statuses from which an action is allowed, and the
// status it leads to (the store applies it, fenced by the sources).
func Sources(a Action) (from []Status, to Status) {
	for _, s := range []Status{Draft, Scheduled, Sending, Paused, Sent, Cancelled} {
		if t, ok := transitions[s][a]; ok {
			from, to = append(from, s), t
		}
	}
	return from, to
}
