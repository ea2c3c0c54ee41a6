package sequence_test

import (
	"bytes"
	"context"
	"net/mail"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/jobs"
)

var day = 24 * time.Hour

// TestSignUpWalksTheWholeOnboarding: an engineer at a company of 50 signs
// up and gets, on a controlled clock, the welcome at once, the setup tips
// a day later, the integrations lesson on day 3, the demo offer on day 6
// and the check-in on day 10; then the enrollment completes. Each email
// says why it was sent.
func TestSignUpWalksTheWholeOnboarding(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com", FirstName: "Ada", Role: "Engineer", TeamSize: "50-100"})
	f.run()
	require.Equal(t, []string{"welcome"}, f.templatesSent(id), "the welcome goes at once")
	require.Equal(t, monday10, f.sentAt(id, "welcome"))

	f.at(monday10.Add(day - time.Minute))
	require.Len(t, f.templatesSent(id), 1, "nothing before the day is over")
	for _, d := range []int{1, 3, 6, 10} {
		f.at(monday10.Add(time.Duration(d) * day))
	}
	require.Equal(t, []string{"welcome", "onboarding-tips", "feature-integrations", "demo-offer", "check-in"}, f.templatesSent(id))
	require.Equal(t, monday10.Add(3*day), f.sentAt(id, "feature-integrations"))
	require.Equal(t, monday10.Add(10*day), f.sentAt(id, "check-in"))
	e := f.in(id, "onboarding")
	require.Equal(t, nurture.EnrollmentCompleted, e.Status)

	var msg int64
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM messages WHERE contact_id = $1 AND template = 'feature-integrations'`, id).Scan(&msg))
	why, err := f.store.MessageReasons(context.Background(), msg)
	require.NoError(t, err)
	require.Equal(t, "onboarding", why.Sequence)
	require.Equal(t, e.Version, why.Version)
	require.Equal(t, "lesson-integrations", why.Step)
	require.NotEmpty(t, why.Reasons, "the branch that chose the lesson is among the reasons")
	history, err := f.store.EnrollmentHistory(context.Background(), e.ID)
	require.NoError(t, err)
	require.Equal(t, "enrolled", history[0].Kind)
	require.Equal(t, "completed", history[len(history)-1].Kind)
}

// TestExitEventStopsTheNextEmail: booking a demo ends the onboarding at
// once; the setup tips never go.
func TestExitEventStopsTheNextEmail(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	f.at(monday10.Add(time.Hour))
	f.track("u1", "demo_booked")
	f.run()
	e := f.in(id, "onboarding")
	require.Equal(t, nurture.EnrollmentExited, e.Status, "the event woke it: it did not wait for the day to pass")
	f.at(monday10.Add(2 * day))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// TestGoalConverts: the goal event ends the enrollment as converted.
func TestGoalConverts(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	f.at(monday10.Add(2 * time.Hour))
	f.track("u1", "activated")
	f.run()
	require.Equal(t, nurture.EnrollmentConverted, f.in(id, "onboarding").Status)
	require.Equal(t, nurture.EnrollmentActive, f.in(id, "feature-lessons").Status, "activated starts the lessons")
	f.at(monday10.Add(day + time.Hour)) // the setup tips were due; the lessons wait 2 days
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// TestUnsubscribingFromTheTopicStopsIt: an opt-out from onboarding ends
// the onboarding sequence.
func TestUnsubscribingFromTheTopicStopsIt(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	require.NoError(t, f.store.SetPreferences(context.Background(), id, []nurture.Topic{nurture.TopicOnboarding}, nil))
	f.run()
	require.Equal(t, nurture.EnrollmentExited, f.in(id, "onboarding").Status)
	f.at(monday10.Add(2 * day))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// TestQuietHoursInThreeTimeZones: sign-ups late on a Monday (UTC) whose
// setup tips fall due in the quiet hours of New York, Paris and Tokyo get
// them at 09:00 on the Wednesday in their own time zone, not before.
func TestQuietHoursInThreeTimeZones(t *testing.T) {
	t.Parallel()
	signUp := time.Date(2027, 3, 1, 23, 30, 0, 0, time.UTC) // due Tuesday 23:30 UTC
	f := newFlow(t, nil, signUp)
	zones := []struct {
		zone string
		want time.Time // Wednesday 09:00 there
	}{
		{"Asia/Tokyo", time.Date(2027, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"Europe/Paris", time.Date(2027, 3, 3, 8, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2027, 3, 3, 14, 0, 0, 0, time.UTC)},
	}
	ids := make([]int64, len(zones))
	for i, z := range zones {
		ids[i] = f.signUp(z.zone, nurture.Contact{Email: "p" + string(rune('a'+i)) + "@example.com", TimeZone: z.zone})
	}
	f.run()
	f.at(signUp.Add(day))
	for i, z := range zones {
		require.Equal(t, []string{"welcome"}, f.templatesSent(ids[i]), "%s: in quiet hours", z.zone)
	}
	for i, z := range zones {
		f.at(z.want.Add(-time.Minute))
		require.Len(t, f.templatesSent(ids[i]), 1, "%s: a minute before its window opens", z.zone)
		f.at(z.want)
		require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(ids[i]), z.zone)
		require.Equal(t, z.want, f.sentAt(ids[i], "onboarding-tips"), z.zone)
	}
}

// TestEntryRulesPreventASecondEnrollment: onboarding is once per contact:
// a second sign-up, during or after the first enrollment, enrolls no one
// and sends no second welcome.
func TestEntryRulesPreventASecondEnrollment(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.track("u1", nurture.EventSignedUp)
	f.run()
	f.track("u1", "activated") // ends it
	f.run()
	f.at(monday10.Add(time.Hour))
	f.track("u1", nurture.EventSignedUp)
	f.run()
	var onboarding int
	for _, e := range f.enrollments(id) {
		if e.Sequence == "onboarding" {
			onboarding++
		}
	}
	require.Equal(t, 1, onboarding)
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// waitFor is a sequence that waits for an event for two days.
const waitFor = `id: nudge
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: wait-setup
    wait_until: {event: setup_completed, timeout: 2d, then: thanks, on_timeout: tips}
  - id: tips
    send: {template: onboarding-tips, send_window: any}
    next: end
  - id: thanks
    send: {template: check-in, send_window: any}
`

// TestWaitUntilPassesOnTheEventAndOnTheTimeout: the contact who finishes
// setting up gets the thanks when they do; the one who does not gets the
// tips when the two days are over.
func TestWaitUntilPassesOnTheEventAndOnTheTimeout(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"nudge.yaml": {Data: []byte(waitFor)}}, monday10)
	doer := f.signUp("doer", nurture.Contact{Email: "doer@example.com"})
	idle := f.signUp("idle", nurture.Contact{Email: "idle@example.com"})
	f.run()
	f.at(monday10.Add(5 * time.Hour))
	f.track("doer", "setup_completed")
	f.run()
	require.Equal(t, []string{"welcome", "check-in"}, f.templatesSent(doer), "the event passed the wait at once")
	require.Equal(t, monday10.Add(5*time.Hour), f.sentAt(doer, "check-in"))
	require.Equal(t, []string{"welcome"}, f.templatesSent(idle))

	f.at(monday10.Add(2*day - time.Minute))
	require.Equal(t, []string{"welcome"}, f.templatesSent(idle))
	f.at(monday10.Add(2 * day))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(idle))
	require.Equal(t, nurture.EnrollmentCompleted, f.only(idle).Status)
	require.Equal(t, nurture.EnrollmentCompleted, f.only(doer).Status)
}

const versionA = `id: drip
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: pause
    wait: 1d
  - id: last
    send: {template: check-in, send_window: any}
`

// versionB drops the pause step: contacts standing on it stay on A.
const versionB = `id: drip
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: longer-pause
    wait: 2d
  - id: last
    send: {template: onboarding-tips, send_window: any}
`

// versionC keeps the pause step: contacts standing on it move to C.
const versionC = `id: drip
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: pause
    wait: 1d
  - id: last
    send: {template: onboarding-tips, send_window: any}
`

// TestVersionChangeKeepsContactsInFlightOnTheirVersion: after the file
// changes, a contact waiting on a step the new version no longer has goes
// on with the version they entered with; a new contact gets the new one;
// when the new version keeps the step they stand on, they move to it.
func TestVersionChangeKeepsContactsInFlightOnTheirVersion(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}, monday10)
	old := f.signUp("old", nurture.Contact{Email: "old@example.com"})
	f.run()
	versionOfA := f.only(old).Version

	f.newEngine(fstest.MapFS{"drip.yaml": {Data: []byte(versionB)}})
	fresh := f.signUp("new", nurture.Contact{Email: "new@example.com"})
	f.run()
	f.at(monday10.Add(day - time.Minute))
	require.Equal(t, versionOfA, f.only(old).Version, "B has no step pause: it stays on A")
	f.at(monday10.Add(day))
	require.Equal(t, []string{"welcome", "check-in"}, f.templatesSent(old), "version A's last step")
	require.Equal(t, nurture.EnrollmentCompleted, f.only(old).Status)
	f.at(monday10.Add(2 * day))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(fresh), "version B")
	require.NotEqual(t, versionOfA, f.only(fresh).Version)

	// A third contact enters on C's predecessor A... then C keeps "pause".
	f.newEngine(fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}})
	mover := f.signUp("mover", nurture.Contact{Email: "mover@example.com"})
	f.run()
	f.newEngine(fstest.MapFS{"drip.yaml": {Data: []byte(versionC)}})
	f.at(monday10.Add(3 * day))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(mover), "moved to version C")
	require.NotEqual(t, versionOfA, f.only(mover).Version)
}

// TestSameStepEnqueuedTwiceSendsOnce: the advance of one step queued twice
// is one task, and advances run at once for the same enrollment create
// one message and send one email.
func TestSameStepEnqueuedTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	ctx := context.Background()
	_, _, err := f.poller.Pass(ctx) // enrolls, and queues its first advance
	require.NoError(t, err)
	e := f.in(id, "onboarding")
	queued, err := f.enqueuer.EnqueueAdvanceBatch(ctx, []nurture.Enrollment{e})
	require.NoError(t, err)
	require.False(t, queued, "the same batch's task is queued already")

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.engine.Advance(ctx, e.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.run()
	var n int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, id).Scan(&n))
	require.Equal(t, 1, n)
	require.Len(t, f.smtp.Messages(), 1)
}

// clicks branches on whether a person clicked the welcome.
const clicks = `id: clicks
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: later
    wait: 1d
  - id: engaged
    branch: {if: clicked step hello, then: thanks}
  - id: tips
    send: {template: onboarding-tips, send_window: any}
    next: end
  - id: thanks
    send: {template: check-in, send_window: any}
`

// TestBranchFollowsAHumanClickNotMachines: the contact whose welcome only a
// mail privacy proxy opened and a link scanner clicked is treated as not
// engaged; the one who clicked it themselves takes the other branch.
func TestBranchFollowsAHumanClickNotMachines(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"clicks.yaml": {Data: []byte(clicks)}}, monday10)
	person := f.signUp("person", nurture.Contact{Email: "person@example.com"})
	machine := f.signUp("machine", nurture.Contact{Email: "machine@example.com"})
	f.run()
	welcome := func(contact int64) int64 {
		var id int64
		require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM messages WHERE contact_id = $1 AND template = 'welcome'`, contact).Scan(&id))
		return id
	}
	at := monday10.Add(time.Hour)
	require.NoError(t, f.store.RecordHits(context.Background(), []nurture.Hit{
		{MessageID: welcome(machine), ContactID: machine, Kind: nurture.HitOpen, Class: nurture.ClassMachine, At: at},
		{MessageID: welcome(machine), ContactID: machine, Kind: nurture.HitClick, Class: nurture.ClassBot, URL: "https://app.acme.example", At: at},
		{MessageID: welcome(person), ContactID: person, Kind: nurture.HitClick, Class: nurture.ClassHuman, URL: "https://app.acme.example", At: at},
	}))
	f.at(monday10.Add(day))
	require.Equal(t, []string{"welcome", "check-in"}, f.templatesSent(person))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(machine))
}

// engagedWait waits for a person's click of the welcome, for three days.
const engagedWait = `id: engaged
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: wait-click
    wait_until: {condition: clicked step hello, timeout: 3d, on_timeout: end}
  - id: thanks
    send: {template: check-in, send_window: any}
`

// TestHumanClickWakesAWaitOnEngagement: a click by a person wakes the
// enrollment that waits for it at once; a scanner's click does not.
func TestHumanClickWakesAWaitOnEngagement(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"engaged.yaml": {Data: []byte(engagedWait)}}, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	var msg int64
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM messages WHERE contact_id = $1`, id).Scan(&msg))
	f.clock.Set(monday10.Add(time.Hour))
	require.NoError(t, f.store.RecordHits(context.Background(), []nurture.Hit{
		{MessageID: msg, ContactID: id, Kind: nurture.HitClick, Class: nurture.ClassBot, URL: "https://app.acme.example", At: f.clock.Now()}}))
	f.run()
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
	f.clock.Set(monday10.Add(2 * time.Hour))
	require.NoError(t, f.store.RecordHits(context.Background(), []nurture.Hit{
		{MessageID: msg, ContactID: id, Kind: nurture.HitClick, Class: nurture.ClassHuman, URL: "https://app.acme.example", At: f.clock.Now()}}))
	f.run()
	require.Equal(t, []string{"welcome", "check-in"}, f.templatesSent(id))
	require.Equal(t, monday10.Add(2*time.Hour), f.sentAt(id, "check-in"))
}

// twoAtOnce sends two emails in a row.
const twoAtOnce = `id: pair
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
  - id: tips
    send: {template: onboarding-tips, send_window: any}
`

// TestFrequencyCapPostpones: with a cap of one email a day, the second of
// two steps in a row waits until the first is a day old: postponed, not
// dropped, and sent once.
func TestFrequencyCapPostpones(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"pair.yaml": {Data: []byte(twoAtOnce)}}, monday10)
	f.capLimit = 1
	f.newEngine(fstest.MapFS{"pair.yaml": {Data: []byte(twoAtOnce)}})
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
	f.at(monday10.Add(day - time.Minute))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
	f.at(monday10.Add(day))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(id))
	f.at(monday10.Add(3 * day))
	require.Len(t, f.smtp.Messages(), 2)
	require.Equal(t, nurture.EnrollmentCompleted, f.only(id).Status)
}

// TestRedisFlushedMidSequenceLosesNothing: the task queue loses its data
// twice, once with a step's advance queued, once with the step's email
// queued after the advance created it (as when a worker dies between the
// two). The poller queues the step again after its grace, the reconciler
// the email after its own; the step runs once and its email goes once.
func TestRedisFlushedMidSequenceLosesNothing(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	ctx := context.Background()
	_, _, err := f.poller.Pass(ctx) // enrolled; its first advance queued
	require.NoError(t, err)
	require.Len(t, f.tasks(), 1)
	f.flushRedis()
	f.at(monday10.Add(30 * time.Second))
	require.Empty(t, f.templatesSent(id), "within the grace nothing is queued again")
	f.at(monday10.Add(61 * time.Second))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id), "queued again after the grace")

	// The day-1 step (a day after the welcome): its advance runs, then the
	// queue loses its email.
	f.clock.Set(monday10.Add(day + 2*time.Minute))
	_, _, err = f.poller.Pass(ctx)
	require.NoError(t, err)
	tasks := f.tasks()
	require.Len(t, tasks, 1)
	f.process(tasks[0])
	var queued int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1 AND status = 'queued'`, id).Scan(&queued))
	require.Equal(t, 1, queued, "the advance created the email and queued it")
	f.flushRedis()
	f.process(tasks[0]) // and the lost advance runs again anyway: nothing new
	f.at(monday10.Add(day + 3*time.Minute))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id), "within the reconciler's grace")
	f.at(monday10.Add(day + 5*time.Minute))
	require.Equal(t, []string{"welcome", "onboarding-tips"}, f.templatesSent(id), "the reconciler queued the email again")
	require.Len(t, f.smtp.Messages(), 2, "every email once")
}

// TestRemovedSequenceKeepsItsContacts: a sequence whose file is gone goes
// on for the contacts in it, on the version they entered with; it enrolls
// no one new.
func TestRemovedSequenceKeepsItsContacts(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	f.newEngine(fstest.MapFS{})
	late := f.signUp("u2", nurture.Contact{Email: "late@example.com"})
	f.at(monday10.Add(day))
	require.Equal(t, []string{"welcome", "check-in"}, f.templatesSent(id))
	require.Equal(t, nurture.EnrollmentCompleted, f.only(id).Status)
	require.Empty(t, f.enrollments(late))
}

// TestErasedContactLeavesTheSequence: once a contact is erased, their
// enrollment ends at its next step and sends nothing more.
func TestErasedContactLeavesTheSequence(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	_, err := f.pool.Exec(context.Background(), `UPDATE contacts SET erased_at = now() WHERE id = $1`, id)
	require.NoError(t, err)
	f.at(monday10.Add(day))
	e := f.only(id)
	require.Equal(t, nurture.EnrollmentExited, e.Status)
	require.Equal(t, "the contact was erased", e.Reason)
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// trial starts when a contact's plan becomes trial.
const trial = `id: trial
topic: onboarding
trigger: {condition: 'traits.plan == "trial"'}
steps:
  - id: hello
    send: {template: welcome, send_window: any}
`

// TestProfileConditionTriggers: an identify call that makes the trigger's
// condition true enrolls the contact; one that does not, or a repeat,
// does not.
func TestProfileConditionTriggers(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"trial.yaml": {Data: []byte(trial)}}, monday10)
	f.identify("u1", nurture.Contact{Email: "ada@example.com", Attributes: map[string]any{"plan": "free"}})
	f.run()
	c, err := f.store.ContactByExternalID(context.Background(), "u1")
	require.NoError(t, err)
	require.Empty(t, f.enrollments(c.ID))
	f.identify("u1", nurture.Contact{Email: "ada@example.com", Attributes: map[string]any{"plan": "trial"}})
	f.run()
	f.identify("u1", nurture.Contact{Email: "ada@example.com", Attributes: map[string]any{"plan": "trial"}})
	f.run()
	require.Len(t, f.enrollments(c.ID), 1)
	require.Equal(t, []string{"welcome"}, f.templatesSent(c.ID))
}

// TestRedisLossNoticedAtOnce: with its marker, the poller notices that
// Redis lost its data and queues the lost step again at its next pass,
// without waiting for the grace.
func TestRedisLossNoticedAtOnce(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil, monday10)
	opt, err := redis.ParseURL(f.redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	f.marker = jobs.NewSequenceMarker(rdb)
	f.newEngine(nil)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	_, _, err = f.poller.Pass(context.Background())
	require.NoError(t, err)
	f.flushRedis()
	f.at(monday10.Add(time.Second))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id))
}

// TestSubjectOverrideReachesTheInbox: a send step's subject replaces its
// template's, personalised for the contact, in the email that goes out;
// a step without one keeps the template's subject.
func TestSubjectOverrideReachesTheInbox(t *testing.T) {
	t.Parallel()
	const drip = `id: drip
topic: onboarding
trigger: {event: signed_up}
steps:
  - id: hello
    send: {template: welcome, send_window: any, subject: "{{with .Contact.FirstName}}{{.}}, your{{else}}Your{{end}} workspace is ready"}
  - id: last
    send: {template: check-in, send_window: any}
`
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(drip)}}, monday10)
	f.signUp("u1", nurture.Contact{Email: "ada@example.com", FirstName: "Ada"})
	f.run()
	msgs := f.smtp.WaitForMessages(t, 2, 30*time.Second)
	var subjects []string
	for _, m := range msgs {
		parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
		require.NoError(t, err)
		subjects = append(subjects, parsed.Header.Get("Subject"))
	}
	require.Contains(t, subjects, "Ada, your workspace is ready")
	require.NotContains(t, subjects, "Your workspace is ready")
	require.Len(t, subjects, 2)
	for _, s := range subjects {
		require.NotEmpty(t, s, "the step without an override has its template's subject")
	}
}

// TestExitByHandStopsTheNextEmail: an operator's exit ends the enrollment
// at once, with its reason in the history; the next step never runs, and
// a second exit, or one of an unknown enrollment, says why it cannot.
func TestExitByHandStopsTheNextEmail(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"drip.yaml": {Data: []byte(versionA)}}, monday10)
	id := f.signUp("u1", nurture.Contact{Email: "ada@example.com"})
	f.run()
	en := f.only(id)
	require.Equal(t, nurture.EnrollmentActive, en.Status, "waiting a day after the welcome")

	ctx := context.Background()
	got, err := f.engine.Exit(ctx, en.ID, "removed by support")
	require.NoError(t, err)
	require.Equal(t, nurture.EnrollmentExited, got.Status)
	require.Equal(t, "removed by support", got.Reason)
	history, err := f.store.EnrollmentHistory(ctx, en.ID)
	require.NoError(t, err)
	last := history[len(history)-1]
	require.Equal(t, string(nurture.EnrollmentExited), last.Kind)
	require.Equal(t, "removed by support", last.Detail)

	f.at(monday10.Add(2 * day))
	require.Equal(t, []string{"welcome"}, f.templatesSent(id), "the step after the wait never ran")

	_, err = f.engine.Exit(ctx, en.ID, "again")
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))
	require.ErrorContains(t, err, "exited (removed by support)")
	_, err = f.engine.Exit(ctx, en.ID+1000, "unknown")
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

const byCompany = `id: by-company
topic: education
trigger: {event: signed_up}
steps:
  - id: fit
    branch:
      if: company.industry == "Manufacturing" and traits.seniority == "VP"
      else: general
  - id: reports
    send: {template: feature-reports, send_window: any}
    next: end
  - id: general
    send: {template: feature-education, send_window: any}
`

// TestBranchReadsTheCompanyRecordAndSeniority: a branch on company.* reads
// the company the contact belongs to (its record wins over the contact's
// own industry; without one, the contact's is read), and traits.seniority
// the contact's seniority, through the real store.
func TestBranchReadsTheCompanyRecordAndSeniority(t *testing.T) {
	t.Parallel()
	f := newFlow(t, fstest.MapFS{"by-company.yaml": {Data: []byte(byCompany)}}, monday10)
	group := func(userID string) nurture.Call {
		return nurture.Call{Type: nurture.EventGroup, UserID: userID, GroupID: "initech", Name: "initech",
			Company: &nurture.Company{Name: "Initech", Domain: "initech.example", Industry: "Manufacturing"}, Properties: map[string]any{}}
	}
	f.identify("u1", nurture.Contact{Email: "ada@initech.example", Industry: "Software", Seniority: "VP"})
	f.ingest(group("u1"))
	ada := f.signUp("u1", nurture.Contact{Email: "ada@initech.example"})
	f.identify("u2", nurture.Contact{Email: "bob@initech.example", Seniority: "Manager"})
	f.ingest(group("u2"))
	bob := f.signUp("u2", nurture.Contact{Email: "bob@initech.example"})
	cy := f.signUp("u3", nurture.Contact{Email: "cy@example.com", Industry: "manufacturing", Seniority: "vp"})
	dee := f.signUp("u4", nurture.Contact{Email: "dee@example.com", Industry: "Software", Seniority: "VP"})
	f.run()
	require.Equal(t, []string{"feature-reports"}, f.templatesSent(ada), "the record's industry, not the contact's")
	require.Equal(t, []string{"feature-education"}, f.templatesSent(bob), "not a VP")
	require.Equal(t, []string{"feature-reports"}, f.templatesSent(cy), "no company: the contact's own industry")
	require.Equal(t, []string{"feature-education"}, f.templatesSent(dee))
}
