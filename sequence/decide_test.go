package sequence_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// oneSend is a sequence of one email sent on weekdays from 9 to 17, local
// time.
const oneSend = `
id: one
topic: onboarding
trigger: {event: signed_up}
send_window: {days: weekdays, from: "09:00", to: "17:00"}
steps:
  - id: tips
    send: tips
`

// TestDecideSendWindowInTimeZones puts the same step in front of contacts
// of three time zones (and one known only by country, one by nothing): a
// step inside their quiet hours waits for the start of their next window,
// in their own time, across the change to summer time in New York.
func TestDecideSendWindowInTimeZones(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, oneSend)
	tests := []struct {
		name    string
		contact nurture.Contact
		def     *time.Location
		now     time.Time
		want    time.Time // zero: sends now
		zone    string    // where the zone came from, in the reason
	}{
		// 22:30 in Paris on a Tuesday: Wednesday 09:00 CET is 08:00 UTC.
		{"Paris, evening", nurture.Contact{TimeZone: "Europe/Paris"}, nil, utc("2027-03-09 21:30"), utc("2027-03-10 08:00"), "timezone trait"},
		// 09:30 in Tokyo: inside the window.
		{"Tokyo, morning", nurture.Contact{TimeZone: "Asia/Tokyo"}, nil, utc("2027-03-09 00:30"), time.Time{}, ""},
		// 08:59 in Tokyo: one minute early.
		{"Tokyo, a minute early", nurture.Contact{TimeZone: "Asia/Tokyo"}, nil, utc("2027-03-08 23:59"), utc("2027-03-09 00:00"), "timezone trait"},
		// Friday 18:00 EST in New York; clocks go forward on Sunday 14
		// March, so Monday 09:00 is EDT: 13:00 UTC, not 14:00.
		{"New York, over the change to summer time", nurture.Contact{TimeZone: "America/New_York"}, nil, utc("2027-03-12 23:00"), utc("2027-03-15 13:00"), "timezone trait"},
		// And back in November: Monday 09:00 EST is 14:00 UTC.
		{"New York, over the change to winter time", nurture.Contact{TimeZone: "America/New_York"}, nil, utc("2027-11-05 22:00"), utc("2027-11-08 14:00"), "timezone trait"},
		// No time zone, but a country: Japan's.
		{"by country", nurture.Contact{Country: "JP"}, nil, utc("2027-03-09 21:30"), utc("2027-03-10 00:00"), "country JP"},
		// Nothing known: the default passed in.
		{"by default", nurture.Contact{}, zone(t, "America/Los_Angeles"), utc("2027-03-09 12:00"), utc("2027-03-09 17:00"), "default"},
		// Nothing known and no default: UTC.
		{"UTC", nurture.Contact{}, nil, utc("2027-03-09 17:00"), utc("2027-03-10 09:00"), "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			facts := &nurture.Facts{Contact: &tc.contact}
			in := sequence.Input{Sequence: seq, State: newState(tc.now), Facts: facts, Now: tc.now, DefaultZone: tc.def}
			d, err := sequence.Decide(in)
			require.NoError(t, err)
			if tc.want.IsZero() {
				require.Equal(t, sequence.ActSend, d.Action, "want a send now (%s)", d.Reason)
				return
			}
			require.Equal(t, sequence.ActWait, d.Action, "want a wait until %s (%s)", tc.want, d.Reason)
			require.True(t, d.Until.Equal(tc.want), "got a wait until %s (%s), want until %s", d.Until.UTC(), d.Reason, tc.want)
			require.Contains(t, d.Reason, "quiet hours")
			require.Contains(t, d.Reason, tc.zone)
			require.Equal(t, "tips", d.State.Step, "postponed, the enrollment should stand on the send step")
			require.NotEmpty(t, d.Trail, "postponed, the enrollment should have a postponed record")
			require.Equal(t, sequence.RecPostponed, d.Trail[len(d.Trail)-1].Kind, "postponed, the enrollment should have a postponed record: %+v", d)
			// Decided again when the window opens, it sends, and the email
			// says why it waited.
			in.State, in.Now = d.State, d.Until
			d, err = sequence.Decide(in)
			require.NoError(t, err, "at the opening")
			require.Equal(t, sequence.ActSend, d.Action, "at the opening (%s)", d.Reason)
			require.Contains(t, strings.Join(d.Email.Reasons, "\n"), "quiet hours", "the email's reasons do not say it was postponed")
		})
	}
}

// TestDecideFrequencyCap: a contact who got three emails in the last 24
// hours waits until the oldest leaves the window; when that moment falls in
// quiet hours, until the window opens after it.
func TestDecideFrequencyCap(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, oneSend)
	paris := nurture.Contact{TimeZone: "Europe/Paris"}
	now := utc("2027-03-09 10:00") // Tuesday 11:00 in Paris
	tests := []struct {
		name string
		cap  sequence.Cap
		want time.Time // zero: sends now
	}{
		{"two of three", sequence.Cap{Limit: 3, Sent: []time.Time{now.Add(-23 * time.Hour), now.Add(-time.Hour)}}, time.Time{}},
		{"three, the oldest leaves in an hour", sequence.Cap{Limit: 3, Sent: []time.Time{now.Add(-time.Hour), now.Add(-23 * time.Hour), now.Add(-10 * time.Hour)}}, now.Add(time.Hour)},
		{"older ones do not count", sequence.Cap{Limit: 3, Sent: []time.Time{now.Add(-25 * time.Hour), now.Add(-30 * time.Hour), now.Add(-time.Hour), now.Add(-2 * time.Hour)}}, time.Time{}},
		{"four of three: two must leave", sequence.Cap{Limit: 3, Sent: []time.Time{now.Add(-20 * time.Hour), now.Add(-22 * time.Hour), now.Add(-3 * time.Hour), now.Add(-time.Hour)}}, now.Add(4 * time.Hour)},
		// Room comes back at 06:00 UTC on Wednesday, 07:00 in Paris: the
		// window opens at 09:00 (08:00 UTC).
		{"room comes back in quiet hours", sequence.Cap{Limit: 1, Sent: []time.Time{now.Add(-4 * time.Hour)}}, utc("2027-03-10 08:00")},
		{"a cap of its own period", sequence.Cap{Limit: 1, Period: time.Hour, Sent: []time.Time{now.Add(-30 * time.Minute)}}, now.Add(30 * time.Minute)},
		{"no cap", sequence.Cap{Sent: []time.Time{now, now, now, now}}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := sequence.Input{Sequence: seq, State: newState(now), Facts: &nurture.Facts{Contact: &paris}, Now: now, Cap: tc.cap}
			d, err := sequence.Decide(in)
			require.NoError(t, err)
			if tc.want.IsZero() {
				require.Equal(t, sequence.ActSend, d.Action, "want a send now (%s)", d.Reason)
				return
			}
			require.Equal(t, sequence.ActWait, d.Action, "want a wait until %s (%s)", tc.want, d.Reason)
			require.True(t, d.Until.Equal(tc.want), "got a wait until %s (%s), want until %s", d.Until.UTC(), d.Reason, tc.want)
			require.Contains(t, d.Reason, "frequency cap", "the reason does not name the cap")
			in.State, in.Now = d.State, d.Until
			d, _ = sequence.Decide(in)
			require.Equal(t, sequence.ActSend, d.Action, "at %s (%s), want the send", in.Now, d.Reason)
		})
	}
	// Transactional email does not count against the cap, nor wait for it.
	receipts := mustParse(t, `
id: receipts
topic: onboarding
trigger: {event: paid}
steps:
  - {id: receipt, send: {template: receipt, topic: transactional}}
`)
	in := sequence.Input{Sequence: receipts, State: newState(now), Facts: &nurture.Facts{}, Now: now,
		Cap: sequence.Cap{Limit: 1, Sent: []time.Time{now.Add(-time.Minute)}}}
	d, _ := sequence.Decide(in)
	require.Equal(t, sequence.ActSend, d.Action, "a transactional send waited for the cap (%s)", d.Reason)
}

// engagedSeq sends a welcome, waits a day, then branches on whether a
// person clicked it.
const engagedSeq = `
id: onboarding
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: welcome, send: welcome}
  - {id: day-1, wait: 1d}
  - id: clicked
    branch: {if: clicked step welcome, then: thanks, else: nudge}
  - {id: nudge, send: nudge, next: end}
  - {id: thanks, send: thanks}
`

// TestDecideBranchOnHumanClick: an Apple privacy-proxy open and a link
// scanner's click leave the contact in the "did not engage" branch; only a
// person's click takes the other.
func TestDecideBranchOnHumanClick(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, engagedSeq)
	start := utc("2027-03-09 10:00")
	sentAt := start
	tests := []struct {
		name string
		hits []nurture.EmailHit
		want string
	}{
		{"nothing", nil, "nudge"},
		{"a machine open", []nurture.EmailHit{{Kind: nurture.HitOpen, Class: nurture.ClassMachine, At: sentAt.Add(time.Second)}}, "nudge"},
		{"a scanner click", []nurture.EmailHit{{Kind: nurture.HitClick, Class: nurture.ClassBot, At: sentAt.Add(2 * time.Second)}}, "nudge"},
		{"a human open", []nurture.EmailHit{{Kind: nurture.HitOpen, Class: nurture.ClassHuman, At: sentAt.Add(time.Hour)}}, "nudge"},
		{"a human click", []nurture.EmailHit{{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: sentAt.Add(time.Hour)}}, "thanks"},
		{"all three", []nurture.EmailHit{
			{Kind: nurture.HitOpen, Class: nurture.ClassMachine, At: sentAt.Add(time.Second)},
			{Kind: nurture.HitClick, Class: nurture.ClassBot, At: sentAt.Add(2 * time.Second)},
			{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: sentAt.Add(time.Hour)},
		}, "thanks"},
		{"a human click after the branch", []nurture.EmailHit{{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: sentAt.Add(25 * time.Hour)}}, "nudge"},
	}
	// A click on the welcome of an earlier enrollment in the same sequence
	// is not a click on this one's.
	t.Run("a human click on an earlier enrollment's welcome", func(t *testing.T) {
		t.Parallel()
		old := start.Add(-100 * 24 * time.Hour)
		facts := &nurture.Facts{Emails: []nurture.EmailFacts{{MessageID: 1, Template: "welcome", Topic: nurture.TopicOnboarding,
			Sequence: "onboarding", Step: "welcome", SentAt: old, Hits: []nurture.EmailHit{{Kind: nurture.HitClick, Class: nurture.ClassHuman, At: old.Add(time.Hour)}}}}}
		st := sequence.State{Started: start, Step: "clicked", Entered: start.Add(24 * time.Hour), Visits: map[string]int{"clicked": 1}}
		d, err := sequence.Decide(sequence.Input{Sequence: seq, State: st, Facts: facts, Now: start.Add(24 * time.Hour)})
		require.NoError(t, err)
		require.NotNil(t, d.Email, "got %s, want the nudge", d.Action)
		require.Equal(t, "nudge", d.Email.Template)
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			facts := &nurture.Facts{Emails: []nurture.EmailFacts{{MessageID: 1, Template: "welcome", Topic: nurture.TopicOnboarding,
				Sequence: "onboarding", Step: "welcome", SentAt: sentAt, Hits: tc.hits}}}
			moments, err := sequence.Simulate(sequence.Input{Sequence: seq, State: newState(start), Facts: facts, Now: start}, start.Add(72*time.Hour))
			require.NoError(t, err)
			var sent []string
			var reasons []string
			for _, m := range moments {
				if m.Decision.Action == sequence.ActSend {
					sent = append(sent, m.Decision.Email.Template)
					reasons = m.Decision.Email.Reasons
				}
			}
			require.Equal(t, []string{"welcome", tc.want}, sent)
			why := strings.Join(reasons, "\n")
			require.Contains(t, why, "clicked: clicked step welcome is", "the email's reasons do not show the branch")
			if scanner := len(tc.hits) > 0 && tc.hits[0].Class == nurture.ClassBot; scanner {
				require.Contains(t, why, "1 by machines or scanners left out", "the reasons do not say the machine hits were left out")
			}
		})
	}
}

const waitUntilSeq = `
id: setup
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: wait-setup
    wait_until: {event: setup_completed, where: {source: app}, timeout: 3d, then: thanks, on_timeout: nudge}
  - {id: nudge, send: nudge, next: end}
  - {id: thanks, send: thanks}
`

// TestDecideWaitUntil: whichever comes first of the event and the timeout
// chooses the branch; an event before the wait began, or with other
// properties, does not count.
func TestDecideWaitUntil(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, waitUntilSeq)
	start := utc("2027-03-09 10:00")
	app := map[string]any{"source": "app"}
	tests := []struct {
		name   string
		events []nurture.EventOccurrence
		now    time.Time
		want   string // template sent, or "" for a wait
		until  time.Time
	}{
		{"nothing yet", nil, start.Add(time.Hour), "", start.Add(72 * time.Hour)},
		{"the event", []nurture.EventOccurrence{{At: start.Add(5 * time.Hour), Properties: app}}, start.Add(5 * time.Hour), "thanks", time.Time{}},
		{"the event, noticed late", []nurture.EventOccurrence{{At: start.Add(70 * time.Hour), Properties: app}}, start.Add(80 * time.Hour), "thanks", time.Time{}},
		{"the timeout", nil, start.Add(72 * time.Hour), "nudge", time.Time{}},
		{"the event after the timeout", []nurture.EventOccurrence{{At: start.Add(73 * time.Hour), Properties: app}}, start.Add(74 * time.Hour), "nudge", time.Time{}},
		{"the event before the wait began", []nurture.EventOccurrence{{At: start.Add(-time.Hour), Properties: app}}, start.Add(time.Hour), "", start.Add(72 * time.Hour)},
		{"the event with other properties", []nurture.EventOccurrence{{At: start.Add(time.Hour), Properties: map[string]any{"source": "api"}}}, start.Add(2 * time.Hour), "", start.Add(72 * time.Hour)},
		{"the event in the future", []nurture.EventOccurrence{{At: start.Add(10 * time.Hour), Properties: app}}, start.Add(2 * time.Hour), "", start.Add(72 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			facts := &nurture.Facts{}
			for _, e := range tc.events {
				facts.AddEvent("Setup Completed", e.At, e.Properties)
			}
			d, err := sequence.Decide(sequence.Input{Sequence: seq, State: newState(start), Facts: facts, Now: tc.now})
			require.NoError(t, err)
			if tc.want == "" {
				require.Equal(t, sequence.ActWait, d.Action, "want a wait until %s (%s)", tc.until, d.Reason)
				require.True(t, d.Until.Equal(tc.until), "got a wait until %s (%s), want until %s", d.Until, d.Reason, tc.until)
				require.Equal(t, []string{"setupcompleted"}, d.WakeOn, "want the awaited event")
				return
			}
			require.Equal(t, sequence.ActSend, d.Action, "want %s (%s)", tc.want, d.Reason)
			require.Equal(t, tc.want, d.Email.Template)
		})
	}

	// A condition already true passes at once, without waiting.
	byPlan := mustParse(t, `
id: setup
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: wait-plan
    wait_until: {condition: traits.plan == "pro", timeout: 3d, then: thanks, on_timeout: nudge}
  - {id: nudge, send: nudge, next: end}
  - {id: thanks, send: thanks}
`)
	facts := &nurture.Facts{Contact: &nurture.Contact{Attributes: map[string]any{"plan": "pro"}}}
	d, err := sequence.Decide(sequence.Input{Sequence: byPlan, State: newState(start), Facts: facts, Now: start})
	require.NoError(t, err, "a condition already true")
	require.Equal(t, sequence.ActSend, d.Action, "a condition already true")
	require.Equal(t, "thanks", d.Email.Template, "a condition already true")
	facts.Contact.Attributes["plan"] = "free"
	d, _ = sequence.Decide(sequence.Input{Sequence: byPlan, State: newState(start), Facts: facts, Now: start})
	require.Equal(t, sequence.ActWait, d.Action, "a condition on traits not yet true")
	require.True(t, d.WakeOnTraits, "a condition on traits not yet true")
}

const exitSeq = `
id: onboarding
topic: onboarding
trigger: {event: signed_up}
exit:
  events: [demo_booked, {event: plan_changed, where: {plan: pro}}]
  if: traits.plan == "enterprise"
goal: {event: activated, within: 30d}
steps:
  - {id: day-1, wait: 1d}
  - {id: tips, send: tips}
  - {id: demo, send: {template: demo-offer, topic: marketing}}
  - {id: day-2, wait: 1d}
  - {id: check-in, send: check-in}
`

// TestDecideEnds: what ends an enrollment before its next email, and what
// does not.
func TestDecideEnds(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, exitSeq)
	start := utc("2027-03-09 10:00")
	now := start.Add(25 * time.Hour)
	tests := []struct {
		name   string
		facts  func(f *nurture.Facts)
		action sequence.Action
		reason string
	}{
		{"nothing: the tips go", func(f *nurture.Facts) {}, sequence.ActSend, ""},
		{"an exit event", func(f *nurture.Facts) { f.AddEvent("Demo Booked", start.Add(time.Hour), nil) }, sequence.ActExit, "exit event demo_booked"},
		{"an exit event before the enrollment", func(f *nurture.Facts) { f.AddEvent("demo_booked", start.Add(-time.Hour), nil) }, sequence.ActSend, ""},
		{"an exit event with its properties", func(f *nurture.Facts) {
			f.AddEvent("plan_changed", start.Add(time.Hour), map[string]any{"plan": "pro"})
		}, sequence.ActExit, `exit event plan_changed where plan == "pro"`},
		{"an exit event with other properties", func(f *nurture.Facts) {
			f.AddEvent("plan_changed", start.Add(time.Hour), map[string]any{"plan": "team"})
		}, sequence.ActSend, ""},
		{"the exit condition", func(f *nurture.Facts) { f.Contact.Attributes = map[string]any{"plan": "Enterprise"} }, sequence.ActExit, "exit condition"},
		{"unsubscribed from the topic", func(f *nurture.Facts) {
			f.OptOuts = []nurture.OptOut{{Topic: nurture.TopicOnboarding, Since: start.Add(time.Hour)}}
		}, sequence.ActExit, "unsubscribed from onboarding"},
		{"unsubscribed from another topic", func(f *nurture.Facts) {
			f.OptOuts = []nurture.OptOut{{Topic: nurture.TopicEducation, Since: start}}
		}, sequence.ActSend, ""},
		{"suppressed", func(f *nurture.Facts) { f.Suppressed = true }, sequence.ActExit, "suppressed"},
		{"the goal", func(f *nurture.Facts) { f.AddEvent("activated", start.Add(2*time.Hour), nil) }, sequence.ActConverted, "goal activated reached"},
		{"the goal after an exit event", func(f *nurture.Facts) {
			f.AddEvent("demo_booked", start.Add(time.Hour), nil)
			f.AddEvent("activated", start.Add(2*time.Hour), nil)
		}, sequence.ActExit, "demo_booked"},
		{"the goal before an exit event", func(f *nurture.Facts) {
			f.AddEvent("demo_booked", start.Add(3*time.Hour), nil)
			f.AddEvent("activated", start.Add(2*time.Hour), nil)
		}, sequence.ActConverted, "activated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &nurture.Facts{Contact: &nurture.Contact{}}
			tc.facts(f)
			d, err := sequence.Decide(sequence.Input{Sequence: seq, State: newState(start), Facts: f, Now: now})
			require.NoError(t, err)
			require.Equal(t, tc.action, d.Action, "reason %q", d.Reason)
			require.Contains(t, d.Reason, tc.reason)
			if d.Action.Final() {
				require.NotEmpty(t, d.Trail, "the trail does not end with the reason")
				require.Equal(t, d.Reason, d.Trail[len(d.Trail)-1].Detail, "the trail %+v does not end with the reason", d.Trail)
			}
		})
	}

	// A goal outside its window does not convert; one with continue: true
	// converts once and goes on.
	f := &nurture.Facts{Contact: &nurture.Contact{}}
	f.AddEvent("activated", start.Add(31*24*time.Hour), nil)
	late := start.Add(32 * 24 * time.Hour)
	d, _ := sequence.Decide(sequence.Input{Sequence: seq, State: newState(start), Facts: f, Now: late})
	require.NotEqual(t, sequence.ActConverted, d.Action, "a goal reached after 30 days converted: %s", d.Reason)
	require.False(t, d.Converted, "a goal reached after 30 days converted: %s", d.Reason)
	cont := mustParse(t, strings.Replace(exitSeq, "within: 30d}", "within: 30d, continue: true}", 1))
	f = &nurture.Facts{Contact: &nurture.Contact{}}
	f.AddEvent("activated", start.Add(time.Hour), nil)
	d, _ = sequence.Decide(sequence.Input{Sequence: cont, State: newState(start), Facts: f, Now: now})
	require.True(t, d.Converted, "continue: true")
	require.Equal(t, sequence.ActSend, d.Action, "continue: true")
	require.True(t, d.State.Converted.Equal(start.Add(time.Hour)), "continue: true: state %v", d.State.Converted)
	d, _ = sequence.Decide(sequence.Input{Sequence: cont, State: d.State, Facts: f, Now: now})
	require.False(t, d.Converted, "the goal converted twice")

	// Opted out of the marketing topic of one step: that step is skipped,
	// with its reason, and the sequence goes on.
	f = &nurture.Facts{Contact: &nurture.Contact{}, OptOuts: []nurture.OptOut{{Topic: nurture.TopicMarketing, Since: start}}}
	st := sequence.State{Started: start, Step: "demo", Entered: now, Visits: map[string]int{"demo": 1}}
	d, _ = sequence.Decide(sequence.Input{Sequence: seq, State: st, Facts: f, Now: now})
	require.Equal(t, sequence.ActWait, d.Action, "opted out of marketing")
	require.Equal(t, "day-2", d.State.Step, "opted out of marketing")
	require.Equal(t, sequence.RecSkipped, d.Trail[0].Kind, "opted out of marketing: trail %+v", d.Trail)
	require.Equal(t, "opted out of marketing", d.Trail[0].Detail)
}

const lessonsSeq = `
id: lessons
topic: education
trigger: {event: activated}
steps:
  - id: lesson
    send:
      choose:
        - {feature: report_scheduled, template: feature-reports, roles: [marketing, sales]}
        - {feature: automation_created, template: feature-automation, roles: [operations], industries: [logistics]}
        - {feature: integration_connected, template: feature-integrations, roles: [engineering]}
      none_left: done
  - {id: pause, wait: 5d, next: lesson}
  - {id: done, exit: every lesson given}
`

// TestDecideChoose: the lesson is the first feature the contact has not
// used and has not been taught, preferring their role, then their
// industry; with none left the step is skipped, with the reason.
func TestDecideChoose(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, lessonsSeq)
	now := utc("2027-03-09 10:00")
	tests := []struct {
		name    string
		contact nurture.Contact
		facts   func(f *nurture.Facts)
		sent    []string // templates this enrollment sent
		want    string   // "" when none is left
		why     string
	}{
		{"anyone: the first", nurture.Contact{}, nil, nil, "feature-reports", "report_scheduled not used yet"},
		{"an engineer", nurture.Contact{Role: "Engineering Manager"}, nil, nil, "feature-integrations", `role matches "engineering"`},
		{"by department", nurture.Contact{Department: "Operations"}, nil, nil, "feature-automation", `role matches "operations"`},
		{"by industry", nurture.Contact{Industry: "Logistics"}, nil, nil, "feature-automation", `industry matches "logistics"`},
		{"role beats industry", nurture.Contact{Industry: "Logistics", Title: "Head of Engineering"}, nil, nil, "feature-integrations", "role matches"},
		{"a feature already used", nurture.Contact{Role: "Engineering"}, func(f *nurture.Facts) {
			f.AddEvent("Integration Connected", now.Add(-time.Hour), nil)
		}, nil, "feature-reports", ""},
		{"a lesson already sent by this enrollment", nurture.Contact{}, nil, []string{"feature-reports"}, "feature-automation", ""},
		{"a lesson already sent by another email", nurture.Contact{}, func(f *nurture.Facts) {
			f.Emails = append(f.Emails, nurture.EmailFacts{Template: "feature-reports", SentAt: now.Add(-48 * time.Hour)})
		}, nil, "feature-automation", ""},
		{"none left", nurture.Contact{}, func(f *nurture.Facts) {
			f.AddEvent("report_scheduled", now.Add(-time.Hour), nil)
			f.AddEvent("automation_created", now.Add(-time.Hour), nil)
		}, []string{"feature-integrations"}, "", "no lesson left (report_scheduled already used; automation_created already used; feature-integrations already sent)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &nurture.Facts{Contact: &tc.contact}
			if tc.facts != nil {
				tc.facts(f)
			}
			st := newState(now)
			for _, s := range tc.sent {
				st.Sent = append(st.Sent, sequence.Sent{Step: "lesson", Template: s, At: now.Add(-5 * 24 * time.Hour)})
			}
			d, err := sequence.Decide(sequence.Input{Sequence: seq, State: st, Facts: f, Now: now})
			require.NoError(t, err)
			if tc.want == "" {
				require.Equal(t, sequence.ActExit, d.Action, "want the exit step")
				require.Equal(t, "every lesson given", d.Reason, "want the exit step")
				require.Equal(t, sequence.RecSkipped, d.Trail[1].Kind, "trail %+v, want a skip", d.Trail)
				require.Equal(t, tc.why, d.Trail[1].Detail)
				return
			}
			require.Equal(t, sequence.ActSend, d.Action, "want %s", tc.want)
			require.Equal(t, tc.want, d.Email.Template)
			require.Contains(t, strings.Join(d.Email.Reasons, "\n"), tc.why)
		})
	}
}

// TestDecideLoopRuns: a loop enters its send step again; each email says
// which run it is, for its dedupe key.
func TestDecideLoopRuns(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, lessonsSeq)
	start := utc("2027-03-09 10:00")
	moments, err := sequence.Simulate(sequence.Input{Sequence: seq, State: newState(start), Facts: &nurture.Facts{Contact: &nurture.Contact{}}, Now: start},
		start.Add(60*24*time.Hour))
	require.NoError(t, err)
	var got []string
	for _, m := range moments {
		if e := m.Decision.Email; e != nil {
			got = append(got, e.Template+"@"+m.At.Format("01-02")+"#"+string(rune('0'+e.Run)))
		}
	}
	want := "feature-reports@03-09#1 feature-automation@03-14#2 feature-integrations@03-19#3"
	require.Equal(t, want, strings.Join(got, " "))
	last := moments[len(moments)-1]
	require.Equal(t, sequence.ActExit, last.Decision.Action, "want the exit on 03-24")
	require.True(t, last.At.Equal(start.Add(15*24*time.Hour)), "the last decision is at %s, want the exit on 03-24", last.At)
}

func TestDecideErrors(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, oneSend)
	now := utc("2027-03-09 10:00")
	_, err := sequence.Decide(sequence.Input{Sequence: seq, State: sequence.State{Started: now, Step: "gone"}, Facts: &nurture.Facts{}, Now: now})
	require.ErrorContains(t, err, `no step "gone"`, "a step not in the version")
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "a step not in the version")
	_, err = sequence.Decide(sequence.Input{Sequence: seq, Now: now})
	require.Error(t, err, "no facts")
	_, err = sequence.Decide(sequence.Input{Sequence: seq, Facts: &nurture.Facts{}, Now: now})
	require.Error(t, err, "no start time")
}

// TestDecideWakeOn: a waiting enrollment names what may change its answer
// before its time: the exit events, the goal while it can still be
// reached, and, for an exit condition on traits, any change of traits.
func TestDecideWakeOn(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, exitSeq)
	start := utc("2027-03-09 10:00")
	in := sequence.Input{Sequence: seq, State: newState(start), Facts: &nurture.Facts{Contact: &nurture.Contact{}}, Now: start}
	d, err := sequence.Decide(in)
	require.NoError(t, err)
	require.Equal(t, sequence.ActWait, d.Action)
	require.Equal(t, "activated demobooked planchanged", strings.Join(d.WakeOn, " "))
	require.True(t, d.WakeOnTraits, "wakes on traits")
	require.False(t, d.WakeOnHits, "wakes on hits")
	in.Now = start.Add(31 * 24 * time.Hour) // the goal's window has passed
	in.State = sequence.State{Started: start, Step: "day-2", Entered: in.Now, Visits: map[string]int{"day-2": 1}}
	d, _ = sequence.Decide(in)
	require.Equal(t, "demobooked planchanged", strings.Join(d.WakeOn, " "), "after the goal's window")
}

// TestDecideKeepsFewReasons: a loop that waits and branches without ever
// sending keeps only its latest reasons.
func TestDecideKeepsFewReasons(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, `
id: poll
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: pause, wait: 1h}
  - {id: check, branch: {if: did paid, then: thanks, else: pause}}
  - {id: thanks, send: thanks}
`)
	start := utc("2027-03-09 10:00")
	moments, err := sequence.Simulate(sequence.Input{Sequence: seq, State: newState(start), Facts: &nurture.Facts{}, Now: start}, start.Add(200*time.Hour))
	require.NoError(t, err)
	last := moments[len(moments)-1].Decision
	require.GreaterOrEqual(t, len(moments), 150, "decisions")
	require.Len(t, last.State.Why, 50, "the reasons the last decision keeps")
	require.True(t, strings.HasPrefix(last.State.Why[49], "check: did paid is false"), "the last reason: %q", last.State.Why[49])
}
