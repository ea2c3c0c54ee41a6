package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

// The sequence scenarios (issue 12): contacts enter a sequence of their
// own through the signals ingestion leaves, and walk a send, a short wait
// and a second send while the fault strikes. The suite then checks that
// every step ran once (no step entered or sent twice in the enrollments'
// history, one message row per send step), every email went once (the
// sink's journal), and nothing was lost (every contact enrolled, every
// enrollment completed, every email delivered).

// sequenceSteps is the sequence the scenarios run: two emails five
// seconds apart, so that advances, waits and sends overlap all along.
const sequenceSteps = `id: faults
name: Fault suite
topic: onboarding
trigger:
  event: fault_started
entry: once
steps:
  - id: first
    send:
      template: ` + template + `
      send_window: any
  - id: pause
    wait: 5s
  - id: second
    send:
      template: ` + template + `
      send_window: any
`

// sequenceSends is how many emails each enrollment sends.
const sequenceSends = 2

// sequenceContacts is how many contacts each sequence scenario enrolls:
// FAULTS_SEQUENCE_CONTACTS, else 2,000, so that a scenario takes a few
// minutes.
func sequenceContacts(e *env) int {
	return envInt(e.t, "FAULTS_SEQUENCE_CONTACTS", 2000)
}

// beginSequence writes the sequence file, creates n contacts and one
// fault_started signal each (what ingestion leaves for a trigger event),
// and starts a worker that runs the sequence. It returns when it began.
func (e *env) beginSequence(n int) time.Time {
	e.t.Helper()
	ctx := context.Background()
	dir := filepath.Join(e.dir, "sequences")
	require.NoError(e.t, os.MkdirAll(dir, 0o755))
	require.NoError(e.t, os.WriteFile(filepath.Join(dir, "faults.yaml"), []byte(sequenceSteps), 0o644))
	e.sequencesDir = dir
	i := 0
	_, err := e.pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "company", "time_zone"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{smtpsink.Address(smtpsink.TagNone, fmt.Sprintf("s%d", i), mailDomain), "Ada", "Acme", "Europe/Paris"}, nil
		}))
	require.NoError(e.t, err, "copy contacts")
	_, err = e.pool.Exec(ctx, `INSERT INTO sequence_signals (contact_id, kind, name, at)
		SELECT id, 'event', 'fault_started', now() FROM contacts ORDER BY id`)
	require.NoError(e.t, err, "insert signals")
	start := time.Now()
	e.startWorker()
	return start
}

// sequenceTotals is what the database says of a sequence scenario.
type sequenceTotals struct {
	enrolled, completed, otherStatus int
	messages                         int
	repeatedSteps                    int // (enrollment, step) entered or sent more than once
	repeatedEmails                   int // (enrollment, step) with more than one message row
}

func (e *env) sequenceTotals(ctx context.Context) (sequenceTotals, error) {
	var t sequenceTotals
	err := e.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM enrollments),
			(SELECT count(*) FROM enrollments WHERE status = 'completed'),
			(SELECT count(*) FROM enrollments WHERE status NOT IN ('completed', 'active')),
			(SELECT count(*) FROM messages),
			(SELECT count(*) FROM (SELECT 1 FROM enrollment_history WHERE kind IN ('entered', 'sent')
				GROUP BY enrollment_id, step, kind HAVING count(*) > 1) AS r),
			(SELECT count(*) FROM (SELECT 1 FROM message_reasons GROUP BY enrollment_id, step HAVING count(*) > 1) AS m)`).
		Scan(&t.enrolled, &t.completed, &t.otherStatus, &t.messages, &t.repeatedSteps, &t.repeatedEmails)
	return t, err
}

// endSequence waits until every contact is enrolled and every enrollment
// has ended and every message is final (or the deadline), stops the
// worker and counts: the journal against the message rows, and the
// enrollments.
func (e *env) endSequence(n int, start time.Time) (tally, sequenceTotals) {
	e.t.Helper()
	deadline := start.Add(e.s.deadline)
	var finished time.Time
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t, err := e.sequenceTotals(ctx)
		var open int
		if err == nil {
			err = e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status NOT IN ('sent', 'bounced', 'skipped', 'failed')`).Scan(&open)
		}
		cancel()
		finished = time.Now()
		if err == nil && t.enrolled == n && t.completed+t.otherStatus == n && open == 0 {
			break
		}
		if finished.After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	tl := e.stopAndCountAll(start, finished)
	ctx := context.Background()
	totals, err := e.sequenceTotals(ctx)
	require.NoError(e.t, err, "count enrollments")
	return tl, totals
}

// stopAndCountAll lets stragglers land, stops the worker, and counts every
// message row the scenario's engine created against the sink's journal.
func (e *env) stopAndCountAll(start, finished time.Time) tally {
	e.t.Helper()
	time.Sleep(3 * time.Second) // a copy still on its way is counted too
	if e.worker != nil && e.worker.running() {
		e.worker.terminate(60 * time.Second)
	}
	var msgs []message
	rows, _ := e.pool.Query(context.Background(), `SELECT m.id, m.contact_id, c.email FROM messages m JOIN contacts c ON c.id = m.contact_id ORDER BY m.id`)
	var m message
	_, err := pgx.ForEachRow(rows, []any{&m.id, &m.contactID, &m.email}, func() error { msgs = append(msgs, m); return nil })
	require.NoError(e.t, err, "read messages")
	tl := e.count(msgs, nil)
	tl.finish = finished.Sub(start)
	return tl
}

// sequenceRow fills a row from the counts and checks issue 12's criterion:
// every step once, every email once, nothing lost. allowedDup is how many
// extra copies of an email the delivery path may send (its outcome window
// after a kill -9, which is delivery's and not the sequence engine's).
func sequenceRow(n int, tl tally, t sequenceTotals, allowedDup int) *Row {
	out := sendRow("", "", "", tl)
	want := n * sequenceSends
	// Lost counts the emails never created as well as those never sent.
	lost := tl.lost + max(0, want-t.messages)
	out.Emails, out.Lost = num(want), num(lost)
	out.note("%s contacts, %s enrolled, %s completed, %s ended otherwise", num(n), num(t.enrolled), num(t.completed), num(t.otherStatus))
	out.note("steps entered or sent twice: %d; steps with two messages: %d", t.repeatedSteps, t.repeatedEmails)
	if t.enrolled != n {
		out.fail("%d of %d contacts enrolled", t.enrolled, n)
	}
	if t.completed != n {
		out.fail("%d of %d enrollments completed", t.completed, n)
	}
	if t.repeatedSteps > 0 {
		out.fail("%d steps ran more than once", t.repeatedSteps)
	}
	if t.repeatedEmails > 0 || t.messages > want {
		out.fail("%d messages for %d send steps", t.messages, want)
	}
	if lost > 0 {
		out.fail("lost: %d emails", lost)
	}
	if tl.dupInside+tl.dupOther > allowedDup {
		out.fail("%d duplicate emails, more than %d", tl.dupInside+tl.dupOther, allowedDup)
	}
	return out
}

// sequenceStrike waits until the sink has accepted a random share between
// lo and hi of the scenario's emails (or 3 minutes), and notes how many
// sequence emails were created but not yet sent at that moment: those whose
// step had advanced and whose email had not gone.
func (e *env) sequenceStrike(row *Row, what string, n int, lo, hi float64) time.Time {
	point := e.randomPoint(n*sequenceSends, lo, hi)
	reached := e.waitAccepted(point, 3*time.Minute)
	var between int
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status IN ('queued', 'sending', 'deferred')`).Scan(&between)
	cancel()
	if !reached {
		row.note("%s after 3 min at %d accepted (wanted %d)", what, e.sink.Stats().Accepted, point)
	} else {
		row.note("%s at %d accepted, %d steps advanced with their email not yet sent", what, e.sink.Stats().Accepted, between)
	}
	return time.Now()
}

// sequenceRedisFlush flushes Redis (FLUSHALL) twice while enrollments
// advance: queued sequence:advance and email tasks are lost; the poller
// queues the enrollments again after its grace and the reconciler the
// emails.
func sequenceRedisFlush(e *env, _ string) *Row {
	row := &Row{}
	n := sequenceContacts(e)
	start := e.beginSequence(n)
	for _, at := range [][2]float64{{0.1, 0.3}, {0.5, 0.7}} {
		e.sequenceStrike(row, "FLUSHALL", n, at[0], at[1])
		require.NoError(e.t, e.rdb.FlushAll(context.Background()).Err(), "FLUSHALL")
	}
	tl, totals := e.endSequence(n, start)
	out := sequenceRow(n, tl, totals, 0)
	out.Notes = append(row.Notes, out.Notes...)
	return out
}

// sequenceKill9 kills the worker with SIGKILL three times at random points
// while enrollments advance, restarting it each time: with ten advances
// and sends at once, each kill lands between steps that advanced (their
// message rows committed) and their emails.
func sequenceKill9(e *env, _ string) *Row {
	row := &Row{}
	n := sequenceContacts(e)
	start := e.beginSequence(n)
	for _, at := range [][2]float64{{0.05, 0.3}, {0.35, 0.6}, {0.65, 0.9}} {
		e.sequenceStrike(row, "kill -9", n, at[0], at[1])
		e.worker.kill()
		e.startWorker()
	}
	tl, totals := e.endSequence(n, start)
	allowed := 3 * outcomeWindow(e)
	out := sequenceRow(n, tl, totals, allowed)
	out.Notes = append(row.Notes, out.Notes...)
	out.note("duplicate emails allowed: %s (3 kills × delivery's outcome window)", num(allowed))
	return out
}
