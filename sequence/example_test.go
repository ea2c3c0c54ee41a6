package sequence_test

import (
	"fmt"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// The engine asks Decide what an enrollment does next, and stores the
// answer: here a new enrollment sends its welcome, then waits for a
// weekday morning in Paris before the tips.
func ExampleDecide() {
	templates := fakeTemplates{"welcome": nurture.TopicOnboarding, "tips": nurture.TopicOnboarding}
	seq, err := sequence.Parse("onboarding.yaml", []byte(`
id: onboarding
topic: onboarding
trigger: {event: signed_up}
send_window: {days: weekdays, from: "09:00", to: "17:00"}
steps:
  - {id: welcome, send: {template: welcome, send_window: any}}
  - {id: tips, send: tips}
`), templates)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2027, 3, 5, 21, 0, 0, 0, time.UTC) // Friday, 22:00 in Paris
	in := sequence.Input{
		Sequence: seq,
		State:    sequence.State{Started: now},
		Facts:    &nurture.Facts{Contact: &nurture.Contact{TimeZone: "Europe/Paris"}},
		Now:      now,
	}
	d, _ := sequence.Decide(in)
	fmt.Println(d.Action, d.Email.Template, d.Email.Run)

	in.State = d.State // the engine stores it with the message, and decides again
	d, _ = sequence.Decide(in)
	fmt.Println(d.Action, d.Until)
	fmt.Println(d.Reason)
	// Output:
	// send welcome 1
	// wait 2027-03-08 08:00:00 +0000 UTC
	// tips: postponed to Mon 2027-03-08 09:00 CET: quiet hours: Fri 22:00 is outside the send window (mon-fri 09:00-17:00, time zone Europe/Paris from the timezone trait)
}
