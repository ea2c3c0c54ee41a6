package sequence_test

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the time zones of the tests, whatever the machine has

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// fakeTemplates stands for the email templates: names and topics.
type fakeTemplates map[string]nurture.Topic

func (f fakeTemplates) Names() []string {
	var out []string
	for n := range f {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (f fakeTemplates) Topic(name string) (nurture.Topic, bool) {
	t, ok := f[name]
	return t, ok
}

// tmpl are the templates the tests' sequences send.
var tmpl = fakeTemplates{
	"welcome": nurture.TopicOnboarding, "tips": nurture.TopicOnboarding, "nudge": nurture.TopicOnboarding,
	"thanks": nurture.TopicOnboarding, "check-in": nurture.TopicOnboarding, "receipt": nurture.TopicTransactional,
	"demo-offer": nurture.TopicMarketing, "feature-reports": nurture.TopicEducation,
	"feature-automation": nurture.TopicEducation, "feature-integrations": nurture.TopicEducation,
}

// mustParse parses a sequence written for a test.
func mustParse(t testing.TB, src string) *sequence.Sequence {
	t.Helper()
	s, err := sequence.Parse("test.yaml", []byte(src), tmpl)
	require.NoError(t, err, "Parse")
	return s
}

// starters returns the embedded sequences, checked against the embedded
// templates.
func starters(t testing.TB) *sequence.Set {
	t.Helper()
	set, err := templates.Default()
	require.NoError(t, err)
	seqs, err := sequence.Load(templates.Sequences(), set)
	require.NoError(t, err, "Load")
	return seqs
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// utc is a moment written in UTC: utc("2027-03-12 23:00").
func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// newState is a new enrollment that started at start.
func newState(start time.Time) sequence.State {
	return sequence.State{Started: start}
}
