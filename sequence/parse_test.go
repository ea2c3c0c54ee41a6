package sequence_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// TestStartersLoad: the embedded sequences pass validation against the
// embedded templates, and say what the README says they do.
func TestStartersLoad(t *testing.T) {
	t.Parallel()
	set := starters(t)
	var ids []string
	for _, s := range set.All() {
		ids = append(ids, s.ID)
		require.Len(t, s.Version, 12, "%s: version", s.ID)
	}
	require.Equal(t, "feature-lessons onboarding", strings.Join(ids, " "), "sequences")
	on, _ := set.Get("onboarding")
	require.Equal(t, nurture.TopicOnboarding, on.Topic, "onboarding topic")
	require.True(t, on.TriggeredBy("Signed Up", nil), "onboarding: trigger %+v", on.Trigger.Event)
	require.Zero(t, on.Entry.AgainAfter, "onboarding: entry %+v", on.Entry)
	require.NotNil(t, on.Goal, "onboarding goal")
	require.Equal(t, "activated", on.Goal.Event, "onboarding goal %+v", on.Goal)
	require.Equal(t, 30*24*time.Hour, on.Goal.Within, "onboarding goal %+v", on.Goal)
	require.False(t, on.Goal.Continue, "onboarding goal %+v", on.Goal)
	require.Len(t, on.Exit.Events, 1, "onboarding exits %+v", on.Exit)
	require.Equal(t, "demo_booked", on.Exit.Events[0].Event, "onboarding exits %+v", on.Exit)
	first := on.Steps[0]
	require.NotNil(t, first.Send, "the first step %+v is not the welcome", first)
	require.Equal(t, "welcome", first.Send.Template, "the first step")
	require.True(t, first.Send.AnyTime, "the first step %+v is not sent at any time", first)
	require.Equal(t, "check-in demo-offer feature-education feature-integrations feature-reports onboarding-tips welcome", strings.Join(on.Templates(), " "), "onboarding sends")
	triggered := set.TriggeredBy("activated", nil)
	require.Len(t, triggered, 1, "activated triggers %v", triggered)
	require.Equal(t, "feature-lessons", triggered[0].ID, "activated triggers")
}

// brokenFiles are one sequence file per kind of mistake, and the error
// each must give: file:line:column: field: message.
var brokenFiles = []struct {
	name string
	src  string
	want string
}{
	{"unknown template", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: welcom
`, `test.yaml:6:11: steps[0].send: unknown template "welcom" (did you mean welcome?)`},
	{"unknown template in a choose", `
id: s
topic: education
trigger: {event: x}
steps:
  - id: lesson
    send:
      choose:
        - {feature: a, template: feature-report}
`, `test.yaml:8:34: steps[0].send.choose[0].template: unknown template "feature-report" (did you mean feature-reports?)`},
	{"unknown step in a jump", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: check
    branch: {if: did x, then: thank}
  - {id: thanks, send: thanks}
`, `test.yaml:6:31: steps[0].branch.then: unknown step "thank" (did you mean thanks?)`},
	{"unknown step in next", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, wait: 1d, next: nowhere}
`, `test.yaml:5:29: steps[0].next: unknown step "nowhere"`},
	{"unknown event operator", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: check
    branch:
      if: {did: {event: report_created, at_leest: 3}}
      then: check
`, `test.yaml:7:51: steps[0].branch.if.did.at_leest: unknown key "at_leest" of did: want event, where, at_least or within`},
	{"unknown trait operator", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: check
    branch:
      if:
        traits.plan: {equals: trial}
      else: end
  - {id: a, send: tips}
`, `test.yaml:8:31: steps[0].branch.if.traits.plan.equals: unknown operator "equals": want one of eq, neq, in, contains, gt, gte, lt, lte, exists`},
	{"unknown operator in text", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: check
    branch: {if: traits.plan = "trial", else: end}
  - {id: a, send: tips}
`, `test.yaml:6:30: steps[0].branch.if: a single = does not compare: write ==`},
	{"unknown property operator in a trigger", `
id: s
topic: onboarding
trigger:
  event: signed_up
  where: {plan: {is: trial}}
steps:
  - {id: a, send: tips}
`, `test.yaml:5:22: trigger.where.plan.is: unknown operator "is": want one of eq, neq, in, contains, gt, gte, lt, lte, exists`},
	{"a loop without a wait", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, wait: 1d}
  - {id: tips, send: tips}
  - id: again
    branch: {if: not clicked step tips, then: tips}
`, `test.yaml:6:5: steps[1]: the steps tips → again → tips loop without a wait: put a wait of a duration (wait: 1d) or a wait_until an event in the loop`},
	{"a loop whose only wait is the send window", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: tips, send: tips}
  - {id: window, wait: {until: send_window}, next: tips}
`, `test.yaml:5:5: steps[0]: the steps tips → window → tips loop without a wait`},
	{"a bad duration", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, wait: 2 days}
`, `test.yaml:5:19: steps[0].wait: "2 days" is not a duration: write it as 2d, 36h, 90m or 1d12h`},
	{"a bad duration in a condition", `
id: s
topic: onboarding
trigger: {event: signed_up}
exit:
  if: did x within 7 days
steps:
  - {id: a, send: tips}
`, `test.yaml:5:20: exit.if: want a duration such as 7d or 36h after within, not "7"`},
	{"a template of another topic", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: demo, send: demo-offer}
`, `test.yaml:5:22: steps[0].send: template "demo-offer" is about marketing, not onboarding (the sequence's topic)`},
	{"a template of another topic than the send says", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: demo, send: {template: demo-offer, topic: education}}
`, `test.yaml:5:33: steps[0].send.template: template "demo-offer" is about marketing, not education as this send says`},
	{"duplicate step ids", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: hello, send: welcome}
  - {id: hello, send: tips}
`, `test.yaml:6:5: steps[1].id: step id "hello" is already the id of steps[0]`},
	{"a subject on two lines", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: a
    send: {template: tips, subject: "Hi\nBcc: x@example.com"}
`, `test.yaml:6:37: steps[0].send.subject: a subject is one line`},
	{"a missing key", `
id: s
trigger: {event: signed_up}
steps:
  - {id: a, send: tips}
`, `test.yaml:1:1: topic: is required`},
	{"an unknown key", `
id: s
topic: onboarding
trigger: {event: signed_up}
stpes:
  - {id: a, send: tips}
`, `test.yaml:4:1: unknown key "stpes" (did you mean steps?)`},
	{"a bad id", `
id: On Boarding
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, send: tips}
`, `test.yaml:1:5: id: "On Boarding" is not an id`},
	{"a transactional sequence", `
id: s
topic: transactional
trigger: {event: signed_up}
steps:
  - {id: a, send: receipt}
`, `test.yaml:2:8: topic: a sequence cannot be transactional`},
	{"two kinds in a step", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, send: tips, wait: 1d}
`, `test.yaml:5:31: steps[0].wait: a step does one thing: send and wait are both given (make two steps)`},
	{"a step called end", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: end, send: tips}
`, `test.yaml:5:10: steps[0].id: end is the target that ends the sequence`},
	{"a wait_until without a timeout", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: a, wait_until: {event: setup_completed}}
`, `test.yaml:5:25: steps[0].wait_until.timeout: is required`},
	{"a bad send window", `
id: s
topic: onboarding
trigger: {event: signed_up}
send_window: {days: [mon, tuesday, fry], from: "9h", to: "17:00"}
steps:
  - {id: a, send: tips}
`, `test.yaml:4:36: send_window.days[2]: "fry" is not a day`},
	{"a send window backwards", `
id: s
topic: onboarding
trigger: {event: signed_up}
send_window: {from: "21:00", to: "08:00"}
steps:
  - {id: a, send: tips}
`, `test.yaml:4:34: send_window.to: the window ends before it starts`},
	{"an anchor", `
id: s
topic: onboarding
trigger: &t {event: signed_up}
steps:
  - {id: a, send: tips}
`, `test.yaml:3:10: trigger: anchors and aliases (& and *) are not supported`},
	{"a YAML syntax error", `
id: s
topic: [onboarding
steps: []
`, `test.yaml:3:1: ',' or ']' must be specified`},
	{"a duplicate key", `
id: s
id: t
`, `test.yaml:2:1: mapping key "id" already defined at [1:1]`},
	{"two documents", `
id: s
topic: onboarding
trigger: {event: signed_up}
steps: [{id: a, send: tips}]
---
id: t
`, `test.yaml:6:1: a file holds one sequence`},
	{"an empty file", "# nothing here\n", `test.yaml: is empty`},
	{"a list instead of a map", "- id: s\n", `test.yaml:1:1: want a sequence: a map with id, topic, trigger and steps, not a list`},
}

// TestParseErrors: each kind of mistake is reported with its file, line,
// column and field.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range brokenFiles {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sequence.Parse("test.yaml", []byte(strings.TrimPrefix(tc.src, "\n")), tmpl)
			require.Error(t, err, "want %s", tc.want)
			var es sequence.Errors
			require.ErrorAs(t, err, &es)
			found := false
			for _, e := range es {
				found = found || strings.HasPrefix(e.Error(), tc.want)
			}
			require.True(t, found, "no error starts with:\n%s\ngot:\n%v", tc.want, err)
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
		})
	}
}

// TestParseReportsEveryMistake: one file with many mistakes gets them all,
// in the order of the file.
func TestParseReportsEveryMistake(t *testing.T) {
	t.Parallel()
	src := `id: s
topic: onboarding
trigger: {event: signed_up}
goal: {event: activated}
steps:
  - {id: a, send: welcom}
  - {id: b, wait: soon}
  - {id: c, branch: {if: did, then: z}}
  - {id: d, send: demo-offer}
`
	_, err := sequence.Parse("many.yaml", []byte(src), tmpl)
	want := []string{
		`many.yaml:4:7: goal.within: is required`,
		`many.yaml:6:19: steps[0].send: unknown template "welcom"`,
		`many.yaml:7:19: steps[1].wait: "soon" is not a duration`,
		`many.yaml:8:29: steps[2].branch.if: want the name of an event`,
		`many.yaml:8:37: steps[2].branch.then: unknown step "z"`,
		`many.yaml:9:19: steps[3].send: template "demo-offer" is about marketing`,
	}
	var es sequence.Errors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, len(want), "%v", err)
	for i, w := range want {
		require.True(t, strings.HasPrefix(es[i].Error(), w), "error %d:\n%s\nwant:\n%s", i, es[i], w)
	}
}

// TestParseLoopBesideOtherMistakes: a loop is reported with the file's
// other mistakes, and a step with a mistake of its own does not make one
// up (its wait of "soon" may be a real wait).
func TestParseLoopBesideOtherMistakes(t *testing.T) {
	t.Parallel()
	src := `id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: hello, send: welcom}
  - {id: tips, send: tips}
  - {id: again, branch: {if: did x, then: tips}}
  - {id: pause, wait: soon, next: hello}
`
	_, err := sequence.Parse("loop.yaml", []byte(src), tmpl)
	want := []string{
		`loop.yaml:5:23: steps[0].send: unknown template "welcom"`,
		`loop.yaml:6:5: steps[1]: the steps tips → again → tips loop without a wait`,
		`loop.yaml:8:23: steps[3].wait: "soon" is not a duration`,
	}
	var es sequence.Errors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, len(want), "%v", err)
	for i, w := range want {
		require.True(t, strings.HasPrefix(es[i].Error(), w), "error %d:\n%s\nwant:\n%s", i, es[i], w)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	ok := "id: %s\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps: [{id: a, send: tips}]\n"
	fsys := fstest.MapFS{
		"a.yaml":       {Data: []byte(strings.Replace(ok, "%s", "first", 1))},
		"b.yml":        {Data: []byte(strings.Replace(ok, "%s", "second", 1))},
		"README.md":    {Data: []byte("not a sequence")},
		"old/c.yaml":   {Data: []byte("not read: only the top directory is")},
		"d-copy.yaml":  {Data: []byte(strings.Replace(ok, "%s", "first", 1))},
		"e.yaml":       {Data: []byte("id: broken\n")},
		"huge.yaml":    {Data: []byte(strings.Repeat("#", sequence.MaxFileSize+1))},
		"f-empty.yaml": {Data: nil},
	}
	_, err := sequence.Load(fsys, tmpl)
	want := []string{
		`d-copy.yaml:1:5: id: sequence "first" is already defined in a.yaml`,
		`e.yaml:1:1: topic: is required`,
		`e.yaml:1:1: trigger: is required`,
		`e.yaml:1:1: steps: is required`,
		`f-empty.yaml: is empty`,
		`huge.yaml: is 262145 bytes; a sequence file may have at most 262144`,
	}
	var es sequence.Errors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, len(want), "%v", err)
	for i, w := range want {
		require.True(t, strings.HasPrefix(es[i].Error(), w), "error %d:\n%s\nwant:\n%s", i, es[i], w)
	}
	delete(fsys, "d-copy.yaml")
	delete(fsys, "e.yaml")
	delete(fsys, "huge.yaml")
	delete(fsys, "f-empty.yaml")
	set, err := sequence.Load(fsys, tmpl)
	require.NoError(t, err)
	all := set.All()
	require.Len(t, all, 2, "loaded %v", all)
	require.Equal(t, "first", all[0].ID)
	require.Equal(t, "second", all[1].ID)
	require.Equal(t, "b.yml", all[1].File)
	_, err = sequence.Load(fstest.MapFS{}, tmpl)
	require.NoError(t, err, "an empty directory")
}

// TestVersion: the version follows what the sequence does, not how the
// file is written.
func TestVersion(t *testing.T) {
	t.Parallel()
	base := mustParse(t, `
id: s
topic: onboarding
trigger: {event: signed_up}
goal: {event: activated, within: 30d}
steps:
  - {id: hello, send: welcome}
  - {id: pause, wait: 36h}
  - id: check
    branch:
      if: traits.plan == "trial" and not did demo_booked
      then: tips
  - {id: tips, send: tips}
`)
	same := mustParse(t, `# The same sequence, written otherwise.
topic: "onboarding"
id: s
goal:
  within: 30d
  event: activated
trigger:
  event: signed_up
steps:
  - id: hello
    send: welcome
  - id: pause
    wait: {for: 1d12h}   # 36 hours
  - id: check
    branch:
      then: tips
      if:
        and:
          - traits.plan: trial
          - not: {did: demo_booked}
  - id: tips
    send: {template: tips}
`)
	require.Equal(t, base.Version, same.Version, "the same sequence written otherwise")
	for _, change := range []struct{ from, to string }{
		{"wait: 36h", "wait: 48h"},
		{`"trial"`, `"free"`},
		{"within: 30d", "within: 31d"},
		{"then: tips", "else: tips"},
		{"send: welcome", "send: nudge"},
	} {
		src := strings.Replace(`
id: s
topic: onboarding
trigger: {event: signed_up}
goal: {event: activated, within: 30d}
steps:
  - {id: hello, send: welcome}
  - {id: pause, wait: 36h}
  - id: check
    branch:
      if: traits.plan == "trial" and not did demo_booked
      then: tips
  - {id: tips, send: tips}
`, change.from, change.to, 1)
		require.NotEqual(t, base.Version, mustParse(t, src).Version, "%s -> %s kept the version", change.from, change.to)
	}
}

func TestCanMove(t *testing.T) {
	t.Parallel()
	v1 := mustParse(t, `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: hello, send: welcome}
  - {id: pause, wait: 2d}
  - {id: tips, send: tips}
`)
	v2 := mustParse(t, `
id: s
topic: onboarding
trigger: {event: signed_up}
steps:
  - {id: hello, send: welcome}
  - {id: pause, wait: 3d}
  - {id: nudge, send: nudge}
  - {id: tips, wait_until: {event: x, timeout: 1d}}
`)
	other := mustParse(t, "id: t\ntopic: onboarding\ntrigger: {event: x}\nsteps: [{id: hello, send: welcome}]\n")
	tests := []struct {
		from, to *sequence.Sequence
		step     string
		ok       bool
		why      string
	}{
		{v1, v2, "hello", true, ""},
		{v1, v2, "pause", true, ""}, // the wait's length may change
		{v1, v2, "", true, ""},
		{v1, v2, "tips", false, "tips is a wait_until step in version " + v2.Version + ", not a send step"},
		{v2, v1, "nudge", false, "step nudge is gone in version " + v1.Version},
		{v1, v1, "tips", true, ""},
		{v1, other, "hello", false, "another sequence"},
	}
	for _, tc := range tests {
		ok, why := sequence.CanMove(tc.from, tc.to, tc.step)
		require.Equal(t, tc.ok, ok, "CanMove(%s -> %s, %q): %q", tc.from.Version, tc.to.Version, tc.step, why)
		require.Contains(t, why, tc.why, "CanMove(%s -> %s, %q)", tc.from.Version, tc.to.Version, tc.step)
	}
}

func TestCanEnter(t *testing.T) {
	t.Parallel()
	once := mustParse(t, "id: s\ntopic: onboarding\ntrigger: {event: x}\nsteps: [{id: a, send: tips}]\n")
	again := mustParse(t, "id: s\ntopic: onboarding\ntrigger: {event: x}\nentry: {again_after: 30d}\nsteps: [{id: a, send: tips}]\n")
	now := utc("2027-03-09 10:00")
	day := 24 * time.Hour
	tests := []struct {
		seq  *sequence.Sequence
		past []sequence.Past
		ok   bool
		why  string
	}{
		{once, nil, true, ""},
		{once, []sequence.Past{{Started: now.Add(-100 * day), Ended: now.Add(-90 * day)}}, false, "entry: once"},
		{again, []sequence.Past{{Started: now.Add(-100 * day), Ended: now.Add(-90 * day)}}, true, ""},
		{again, []sequence.Past{{Started: now.Add(-40 * day), Ended: now.Add(-20 * day)}}, false, "may enter again from 2027-03-19T10:00:00Z"},
		{again, []sequence.Past{{Started: now.Add(-100 * day), Ended: now.Add(-90 * day)}, {Started: now.Add(-day)}}, false, "already enrolled"},
	}
	for i, tc := range tests {
		ok, why := tc.seq.CanEnter(tc.past, now)
		require.Equal(t, tc.ok, ok, "%d: CanEnter: %q", i, why)
		require.Contains(t, why, tc.why, "%d: CanEnter", i)
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	seq := mustParse(t, "id: s\ntopic: onboarding\ntrigger: {event: Signed Up, where: {plan: {in: [trial, free]}}}\nsteps: [{id: a, send: tips}]\n")
	for _, tc := range []struct {
		name  string
		props map[string]any
		want  bool
	}{
		{"signed_up", map[string]any{"plan": "trial"}, true},
		{"signed-up", map[string]any{"plan": "FREE"}, true},
		{"signed_up", map[string]any{"plan": "pro"}, false},
		{"signed_up", nil, false},
		{"logged_in", map[string]any{"plan": "trial"}, false},
	} {
		require.Equal(t, tc.want, seq.TriggeredBy(tc.name, tc.props), "TriggeredBy(%s, %v)", tc.name, tc.props)
	}
	cond := mustParse(t, "id: s\ntopic: onboarding\ntrigger: {condition: traits.plan == \"trial\"}\nsteps: [{id: a, send: tips}]\n")
	require.False(t, cond.TriggeredBy("signed_up", nil), "condition trigger %+v", cond.Trigger)
	require.NotNil(t, cond.Trigger.Condition, "condition trigger %+v", cond.Trigger)
	require.Equal(t, `traits.plan == "trial"`, cond.Trigger.Condition.String())
}

func TestNeeds(t *testing.T) {
	t.Parallel()
	on, _ := starters(t).Get("onboarding")
	n := on.Needs()
	require.Equal(t, "activated demobooked", strings.Join(n.Since, " "), "onboarding: Since")
	require.Equal(t, "demobooked setupcompleted", strings.Join(n.Events, " "), "onboarding: %+v", n)
	require.True(t, n.Traits, "onboarding: %+v", n)
	require.True(t, n.Company, "onboarding: %+v", n)
	require.False(t, n.Emails, "onboarding: %+v", n)
	lessons, _ := starters(t).Get("feature-lessons")
	n = lessons.Needs()
	require.Equal(t, "automationcreated integrationconnected reportscheduled", strings.Join(n.Events, " "), "feature-lessons: %+v", n)
	require.True(t, n.Emails, "feature-lessons: %+v", n)
	require.False(t, n.Traits, "feature-lessons: %+v", n)
	engaged := mustParse(t, engagedSeq).Needs()
	require.True(t, engaged.Emails, "engaged: %+v", engaged)
	require.True(t, engaged.Engagement, "engaged: %+v", engaged)
	require.Equal(t, "welcome", strings.Join(engaged.Steps, " "), "engaged")
	wait := mustParse(t, waitUntilSeq).Needs()
	require.Equal(t, "setupcompleted", strings.Join(wait.Since, " "), "wait_until: %+v", wait)
}

// With the real templates, a subject override is checked as they check
// their own subjects: one that would not render is an error at its line.
func TestParseChecksSubjectOverrides(t *testing.T) {
	t.Parallel()
	set, err := templates.Default()
	require.NoError(t, err)
	topic, ok := set.Topic("welcome")
	require.True(t, ok)
	file := func(subject string) []byte {
		return []byte(`id: s
topic: ` + string(topic) + `
trigger: {event: signed_up}
steps:
  - id: a
    send: {template: welcome, subject: '` + subject + `'}
`)
	}
	tests := []struct{ subject, wantErr string }{
		{"{{with .Contact.FirstName}}{{.}}, welcome{{else}}Welcome{{end}} to {{.Product.Name}}", ""},
		{"Hi {{.Contact.Nickname}}", `test.yaml:6:40: steps[0].send.subject: `},
		{"Hi {{.Contact.FirstName", `test.yaml:6:40: steps[0].send.subject: `},
		{"{{.Contact.FirstName}}", `comes out empty`},
	}
	for _, tt := range tests {
		s, err := sequence.Parse("test.yaml", file(tt.subject), set)
		if tt.wantErr == "" {
			require.NoError(t, err, tt.subject)
			require.Equal(t, tt.subject, s.Steps[0].Send.Subject)
			continue
		}
		require.ErrorContains(t, err, tt.wantErr, tt.subject)
	}
}
