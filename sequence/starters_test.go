package sequence_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// timeline simulates an enrollment in seq for a contact from start for 40
// days and writes what happens: each email with its UTC time, and the end.
func timeline(t *testing.T, seq *sequence.Sequence, c nurture.Contact, start time.Time, events func(f *nurture.Facts)) string {
	t.Helper()
	f := &nurture.Facts{Contact: &c}
	if events != nil {
		events(f)
	}
	moments, err := sequence.Simulate(sequence.Input{Sequence: seq, State: newState(start), Facts: f, Now: start,
		Cap: sequence.Cap{Limit: 3}}, start.Add(40*24*time.Hour))
	require.NoError(t, err)
	var out []string
	for _, m := range moments {
		switch d := m.Decision; {
		case d.Action == sequence.ActSend:
			out = append(out, fmt.Sprintf("%s %s", m.At.UTC().Format("01-02 15:04"), d.Email.Template))
		case d.Action.Final():
			out = append(out, fmt.Sprintf("%s %s: %s", m.At.UTC().Format("01-02 15:04"), d.Action, d.Reason))
		}
	}
	return strings.Join(out, "\n")
}

// TestOnboardingStarter walks the embedded onboarding sequence for a few
// contacts, with a virtual clock: who gets which email, when, in their own
// time zone, and what stops it.
func TestOnboardingStarter(t *testing.T) {
	t.Parallel()
	seq, ok := starters(t).Get("onboarding")
	require.True(t, ok, "no onboarding sequence")
	// Monday 1 March 2027, 09:00 in Paris (08:00 UTC).
	start := utc("2027-03-01 08:00")
	marketer := nurture.Contact{TimeZone: "Europe/Paris", Role: "Marketing Manager", TeamSize: "51-200"}
	tests := []struct {
		name    string
		contact nurture.Contact
		start   time.Time
		events  func(f *nurture.Facts)
		want    string
	}{
		{"a marketer at a company of 51-200", marketer, start, nil, `
03-01 08:00 welcome
03-02 08:00 onboarding-tips
03-04 08:00 feature-reports
03-08 08:00 demo-offer
03-11 08:00 check-in
03-11 08:00 completed: went through every step`},
		{"an engineer of a small team, who set up on day 0", nurture.Contact{TimeZone: "Europe/Paris", Title: "Senior Developer", TeamSize: "5"}, start,
			func(f *nurture.Facts) { f.AddEvent("Setup Completed", start.Add(3*time.Hour), nil) }, `
03-01 08:00 welcome
03-04 08:00 feature-integrations
03-11 08:00 check-in
03-11 08:00 completed: went through every step`},
		// Signed up on Friday evening in New York: the welcome goes at
		// once, the rest waits for weekday mornings in New York.
		{"someone in New York, on Friday night", nurture.Contact{Country: "US"}, utc("2027-03-05 23:30"), nil, `
03-05 23:30 welcome
03-08 14:00 onboarding-tips
03-09 14:00 feature-education
03-16 13:00 check-in
03-16 13:00 completed: went through every step`},
		{"booked a demo", marketer, start, func(f *nurture.Facts) { f.AddEvent("demo_booked", start.Add(5*24*time.Hour), nil) }, `
03-01 08:00 welcome
03-02 08:00 onboarding-tips
03-04 08:00 feature-reports
03-06 08:00 exit: exit event demo_booked on Sat 2027-03-06 09:00 CET`},
		{"activated", marketer, start, func(f *nurture.Facts) { f.AddEvent("activated", start.Add(50*time.Hour), nil) }, `
03-01 08:00 welcome
03-02 08:00 onboarding-tips
03-03 10:00 converted: goal activated reached on Wed 2027-03-03 11:00 CET`},
		{"unsubscribed from onboarding", marketer, start, func(f *nurture.Facts) {
			f.OptOuts = []nurture.OptOut{{Topic: nurture.TopicOnboarding, Since: start.Add(30 * time.Hour)}}
		}, `
03-01 08:00 welcome
03-02 08:00 onboarding-tips
03-04 08:00 exit: unsubscribed from onboarding`},
		{"unsubscribed from marketing only", marketer, start, func(f *nurture.Facts) {
			f.OptOuts = []nurture.OptOut{{Topic: nurture.TopicMarketing, Since: start}}
		}, `
03-01 08:00 welcome
03-02 08:00 onboarding-tips
03-04 08:00 feature-reports
03-11 08:00 check-in
03-11 08:00 completed: went through every step`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := timeline(t, seq, tc.contact, tc.start, tc.events)
			require.Equal(t, strings.TrimPrefix(tc.want, "\n"), got, "timeline (UTC)")
		})
	}
}

// TestOnboardingLessonFollowsTheDepartment: the day-3 lesson of the
// onboarding starter goes by the department (the product's, or the one
// research derived from the title): Engineering, IT and Product get the
// integrations lesson, Sales, Marketing and the other numbers people the
// reports one; without a department we know, role and title decide.
func TestOnboardingLessonFollowsTheDepartment(t *testing.T) {
	t.Parallel()
	seq, ok := starters(t).Get("onboarding")
	require.True(t, ok, "no onboarding sequence")
	start := utc("2027-03-01 08:00")
	tests := []struct {
		contact nurture.Contact
		want    string
	}{
		{nurture.Contact{Department: "Engineering"}, "feature-integrations"},
		{nurture.Contact{Department: "IT"}, "feature-integrations"},
		{nurture.Contact{Department: "product"}, "feature-integrations"},
		{nurture.Contact{Department: "Software Engineering"}, "feature-integrations"},
		{nurture.Contact{Department: "Sales"}, "feature-reports"},
		{nurture.Contact{Department: "Marketing", Seniority: "VP"}, "feature-reports"},
		{nurture.Contact{Department: "Executive", Title: "CTO"}, "feature-reports"},
		{nurture.Contact{Department: "Sales", Title: "Sales Engineer"}, "feature-reports"}, // the department first
		{nurture.Contact{Department: "Security", Title: "Security Engineer"}, "feature-integrations"},
		{nurture.Contact{Department: "HR"}, "feature-education"},
		{nurture.Contact{Title: "Senior Developer"}, "feature-integrations"},
		{nurture.Contact{Role: "Founder"}, "feature-reports"},
		{nurture.Contact{}, "feature-education"},
	}
	for _, tc := range tests {
		tc.contact.TimeZone = "Europe/Paris"
		got := timeline(t, seq, tc.contact, start, nil)
		require.Contains(t, got, "03-04 08:00 "+tc.want+"\n", "%+v:\n%s", tc.contact, got)
	}
}

// TestFeatureLessonsStarter: the educational series sends a lesson every
// five days, the one that fits the contact's role first, skips what they
// already use, and ends when none is left.
func TestFeatureLessonsStarter(t *testing.T) {
	t.Parallel()
	seq, ok := starters(t).Get("feature-lessons")
	require.True(t, ok, "no feature-lessons sequence")
	start := utc("2027-03-01 09:00") // Monday, 10:00 in Berlin
	c := nurture.Contact{Country: "DE", Role: "Operations"}
	got := timeline(t, seq, c, start, func(f *nurture.Facts) {
		f.AddEvent("Report Scheduled", start.Add(-time.Hour), nil)
	})
	want := `03-03 09:00 feature-automation
03-08 09:00 feature-integrations
03-13 09:00 completed: went through every step`
	require.Equal(t, want, got, "timeline")
}
