package sequence

import (
	"slices"
	"time"

	"github.com/nurture-email/nurture"
)

// Moment is one decision of a simulation and when it was made.
type Moment struct {
	At       time.Time
	Decision Decision
}

// maxMoments bounds a simulation: a sequence of 200 steps looping for
// years would still stop.
const maxMoments = 10_000

// Simulate runs an enrollment forward on a virtual clock, from in.Now to
// until, deciding as the engine would: again at once after a send, at
// Until after a wait, or sooner when one of WakeOn is among the facts'
// occurrences before it. Occurrences dated after in.Now stand for events
// that have not happened yet (a simulation's hypothetical ones): each
// decision sees only those up to its own time. Every email it sends is
// added to the facts (no opens or clicks) and to the cap, as if it went.
// It stops when the enrollment ends, at until, or after 10,000 decisions;
// it writes and sends nothing.
func Simulate(in Input, until time.Time) ([]Moment, error) {
	facts := *in.Facts
	facts.Emails = slices.Clone(facts.Emails)
	in.Facts = &facts
	in.Cap.Sent = slices.Clone(in.Cap.Sent)
	var out []Moment
	for range maxMoments {
		if in.Now.After(until) {
			break
		}
		d, err := Decide(in)
		if err != nil {
			return out, err
		}
		out = append(out, Moment{At: in.Now, Decision: d})
		in.State = d.State
		switch {
		case d.Action.Final():
			return out, nil
		case d.Action == ActSend:
			facts.Emails = append(facts.Emails, nurture.EmailFacts{Template: d.Email.Template, Topic: d.Email.Topic,
				Sequence: in.Sequence.ID, Step: d.Email.Step, SentAt: in.Now})
			if d.Email.Topic != nurture.TopicTransactional {
				in.Cap.Sent = append(in.Cap.Sent, in.Now)
			}
			continue
		}
		next := d.Until
		for _, key := range d.WakeOn {
			ef := facts.Events[key]
			if ef == nil {
				continue
			}
			for _, o := range ef.Occurrences {
				if o.At.After(in.Now) && o.At.Before(next) {
					next = o.At
				}
			}
		}
		if !next.After(in.Now) {
			break
		}
		in.Now = next
	}
	return out, nil
}
