package faults

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

// scenario is one fault of issue 11 and its pass criterion.
type scenario struct {
	name      string   // the subtest's name, for -run
	title     string   // the table's
	paths     []string // the paths it runs on; none when it sends nothing
	criterion string
	run       func(e *env, path string) *Row
}

var bothPaths = []string{pathBatch, pathSingle}

// outcomeWindow is how many emails a crash of one worker process may send
// again: those the relay accepted whose outcomes were not yet in
// PostgreSQL. That is the outcomes not yet written (at most 100, waiting
// for their group or in the group being committed:
// delivery.OutcomeConfig.MaxPending) and the sends in flight, admitted
// before that limit was reached (each of the worker's tasks sends 2 × the
// SMTP pool at once). FAULTS_WINDOW overrides.
func outcomeWindow(e *env) int {
	if n, err := strconv.Atoi(os.Getenv("FAULTS_WINDOW")); err == nil && n > 0 {
		return n
	}
	return 100 + e.concurrency*2*e.smtpPool
}

var scenarios = []scenario{
	{name: "kill9", title: "1. worker kill -9 twice, restarted each time", paths: bothPaths,
		criterion: "lost 0; other duplicates at most 2 kills × the outcome window (100 unwritten outcomes + the sends in flight, concurrency × 2 × SMTP pool; FAULTS_WINDOW); finished within 2 min of the last restart",
		run:       kill9},
	{name: "sigterm", title: `2. SIGTERM twice, relay answering 200 ms after each "."`, paths: bothPaths,
		criterion: "0 duplicates", run: sigterm},
	{name: "redis-flushall", title: "3. Redis FLUSHALL", paths: bothPaths,
		criterion: "0 lost, 0 duplicates, sending again within 20 s", run: redisLoss(false)},
	{name: "redis-restart", title: "3. Redis killed and restarted empty", paths: bothPaths,
		criterion: "0 lost, 0 duplicates, sending again within 20 s", run: redisLoss(true)},
	{name: "pg-restart", title: "4. PostgreSQL restarted (pg_ctl restart -m fast)", paths: bothPaths,
		criterion: "0 lost, 0 duplicates", run: postgresFault("restart")},
	{name: "pg-stop", title: "4. PostgreSQL stopped for 30 s", paths: bothPaths,
		criterion: "0 lost, 0 duplicates", run: postgresFault("stop")},
	{name: "pg-cut", title: "4. PostgreSQL cut off for 30 s (toxiproxy: connections cut, new ones refused)", paths: bothPaths,
		criterion: "0 lost, 0 duplicates", run: postgresFault("cut")},
	{name: "relay", title: "5. relay: 451 once for 10 %, 550 for 1 %, drop after DATA for 1 %, down for 30 s", paths: bothPaths,
		criterion: "550s bounced and suppressed, everything else delivered once, duplicates only where the relay lost its reply (the drops, and 250s it still held when it went down)", run: relayFaults},
	{name: "relay-hang", title: "6. relay hangs, concurrency 40", paths: bothPaths,
		criterion: "0 duplicates outside RFC 1047's window", run: relayHang},
	{name: "hits-pg-restart", title: "7. opens and clicks across a PostgreSQL restart",
		criterion: "answered = stored", run: hitsAcrossRestart},
	{name: "hits-queue-full", title: "7. opens with the in-memory hit queue full (PostgreSQL stopped)",
		criterion: "dropped in /metrics = answered - stored", run: hitsQueueFull},
	{name: "unsubscribe-replay", title: "8. one-click unsubscribe replayed 10 times across a PostgreSQL restart",
		criterion: "one effect", run: unsubscribeReplay},
	{name: "unsubscribe-race", title: "8. one-click unsubscribe racing a batch send", paths: []string{pathBatch},
		criterion: "one effect; nothing sent after the unsubscribe's answer", run: unsubscribeRace},
	{name: "seq-redis-flushall", title: "9. sequences: Redis FLUSHALL twice while 2,000 enrollments advance (send, wait 5 s, send)",
		criterion: "every contact enrolled and every enrollment completed; no step entered or sent twice; one message per send step; 0 emails lost, 0 duplicates",
		run:       sequenceRedisFlush},
	{name: "seq-kill9", title: "9. sequences: worker kill -9 three times while 2,000 enrollments advance, between steps advanced and their emails",
		criterion: "every contact enrolled and every enrollment completed; no step entered or sent twice; one message per send step; 0 emails lost; duplicate emails only within delivery's outcome window (3 kills × FAULTS_WINDOW)",
		run:       sequenceKill9},
	{name: "campaign-faults", title: "10. campaign: worker kill -9 twice and Redis FLUSHALL once during a throttled fan-out of 5,000 contacts",
		criterion: "the campaign sent; every contact in the audience once, one message each; 0 emails lost; duplicate emails only within delivery's outcome window (2 kills × FAULTS_WINDOW)",
		run:       campaignFaults},
	{name: "redis-failover", title: "11. Redis Sentinel: the primary killed (kill -9) while two workers send a throttled campaign of 5,000 contacts; two replicas, three sentinels (quorum 2)",
		criterion: "the campaign sent; every contact in the audience once, one message each; 0 emails lost, 0 duplicates; sending again within 10 s of the promotion",
		run:       redisFailover},
}

// begin creates the scenario's emails, starts a worker and queues them.
func (e *env) begin(path string, tagOf func(int) smtpsink.Tag) ([]message, time.Time) {
	msgs := e.fill(e.s.emails, tagOf)
	e.startWorker()
	return msgs, e.enqueue(path, msgs)
}

// end waits until every row is final (or the deadline), lets stragglers
// land, stops the worker and counts.
func (e *env) end(msgs []message, start time.Time, exempt exemption) (tally, time.Time) {
	finished, _ := e.waitFinal(start.Add(e.s.deadline))
	time.Sleep(3 * time.Second) // a copy still on its way is counted too
	if e.worker != nil && e.worker.running() {
		e.worker.terminate(60 * time.Second)
	}
	tl := e.count(msgs, exempt)
	tl.finish = finished.Sub(start)
	return tl, finished
}

// strike waits for a random point between lo and hi of the emails accepted
// (or 3 minutes) and notes it on the row.
func (e *env) strike(row *Row, what string, lo, hi float64) time.Time {
	point := e.randomPoint(e.s.emails, lo, hi)
	if !e.waitAccepted(point, 3*time.Minute) {
		row.note("%s after 3 min at %d accepted (wanted %d)", what, e.sink.Stats().Accepted, point)
	} else {
		row.note("%s at %d accepted", what, e.sink.Stats().Accepted)
	}
	return time.Now()
}

// checkDuplicates fails the row on any duplicate.
func checkDuplicates(row *Row, tl tally) {
	if n := tl.dupInside + tl.dupOther; n > 0 {
		row.fail("duplicates: %d", n)
	}
}

// checkLost fails the row on any lost email.
func checkLost(row *Row, tl tally) {
	if tl.lost > 0 {
		row.fail("lost: %d", tl.lost)
	}
}

func kill9(e *env, path string) *Row {
	row := &Row{}
	msgs, start := e.begin(path, nil)
	var lastRestart time.Time
	for _, at := range [][2]float64{{0.1, 0.4}, {0.5, 0.8}} {
		e.strike(row, "kill -9", at[0], at[1])
		e.worker.kill()
		e.startWorker()
		lastRestart = time.Now()
	}
	tl, finished := e.end(msgs, start, nil)
	out := sendRow("", path, "", tl)
	out.Notes = row.Notes
	checkLost(out, tl)
	allowed := 2 * outcomeWindow(e)
	out.note("other duplicates allowed: %s", num(allowed))
	if tl.dupOther > allowed {
		out.fail("%d other duplicates, more than %d", tl.dupOther, allowed)
	}
	after := finished.Sub(lastRestart)
	out.note("finished %s after the last restart", after.Round(time.Second))
	if after > 2*time.Minute {
		out.fail("finished %s after the last restart", after.Round(time.Second))
	}
	return out
}

func sigterm(e *env, path string) *Row {
	row := &Row{}
	// Every "." is answered 200 ms late: with the default pool of 4
	// connections 10,000 emails would take 500 s, so this scenario opens 40.
	e.smtpPool = 40
	e.sink.SetMode(smtpsink.ModeDelay, 0, 200*time.Millisecond)
	msgs, start := e.begin(path, nil)
	for _, at := range [][2]float64{{0.1, 0.4}, {0.5, 0.8}} {
		e.strike(row, "SIGTERM", at[0], at[1])
		took, graceful := e.worker.terminate(60 * time.Second)
		if graceful {
			row.note("stopped in %s", took.Round(100*time.Millisecond))
		} else {
			row.note("not stopped after %s: killed", took.Round(time.Second))
		}
		e.startWorker()
	}
	tl, _ := e.end(msgs, start, nil)
	out := sendRow("", path, "", tl)
	out.Notes = append(row.Notes, "SMTP pool 40")
	checkDuplicates(out, tl)
	checkLost(out, tl)
	return out
}

func redisLoss(restart bool) func(e *env, path string) *Row {
	return func(e *env, path string) *Row {
		row := &Row{}
		msgs, start := e.begin(path, nil)
		at := e.strike(row, "fault", 0.2, 0.5)
		if restart {
			e.redis.Restart()
		} else {
			require.NoError(e.t, e.rdb.FlushAll(context.Background()).Err(), "FLUSHALL")
		}
		tl, _ := e.end(msgs, start, nil)
		out := sendRow("", path, "", tl)
		out.Notes = row.Notes
		checkDuplicates(out, tl)
		checkLost(out, tl)
		pause := longestPause(tl, at)
		out.note("longest pause in sending after the fault %s", pause.Round(100*time.Millisecond))
		if pause > 20*time.Second {
			out.fail("nothing sent for %s after the fault", pause.Round(time.Second))
		}
		return out
	}
}

func postgresFault(kind string) func(e *env, path string) *Row {
	return func(e *env, path string) *Row {
		row := &Row{}
		msgs, start := e.begin(path, nil)
		at := e.strike(row, kind, 0.2, 0.5)
		switch kind {
		case "restart":
			require.NoError(e.t, e.s.pg.restartFast())
		case "stop":
			require.NoError(e.t, e.s.pg.stop())
			time.Sleep(30 * time.Second)
			require.NoError(e.t, e.s.pg.start())
		case "cut":
			e.pgProxy.Stop()
			time.Sleep(30 * time.Second)
			require.NoError(e.t, e.pgProxy.Start())
		}
		tl, _ := e.end(msgs, start, nil)
		out := sendRow("", path, "", tl)
		out.Notes = row.Notes
		checkDuplicates(out, tl)
		checkLost(out, tl)
		out.note("longest pause in sending after the fault %s", longestPause(tl, at).Round(100*time.Millisecond))
		return out
	}
}

// relayTag spreads scenario 5's faults: per 100 recipients, 10 answered
// 451 once, 1 refused with 550, 1 whose reply is dropped after the data.
func relayTag(i int) smtpsink.Tag {
	switch i % 100 {
	case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
		return smtpsink.Tag451Once
	case 10:
		return smtpsink.Tag550
	case 11:
		return smtpsink.TagDrop
	}
	return smtpsink.TagNone
}

func relayFaults(e *env, path string) *Row {
	row := &Row{}
	msgs, start := e.begin(path, relayTag)
	e.strike(row, "relay down 30 s", 0.2, 0.5)
	e.sink.SetMode(smtpsink.ModeDown, 30*time.Second, 0)
	tl, _ := e.end(msgs, start, nil)
	out := sendRow("", path, "", tl)
	out.Notes = row.Notes
	drops, refused := 0, 0
	for _, m := range msgs {
		switch m.tag {
		case smtpsink.TagDrop:
			drops++
		case smtpsink.Tag550:
			refused++
		}
	}
	checkLost(out, tl)
	if tl.bounced != refused {
		out.fail("%d of %d refused addresses bounced and suppressed", tl.bounced, refused)
	}
	if tl.dupOther > 0 {
		out.fail("%d duplicates not explained by a dropped reply", tl.dupOther)
	}
	// Besides the drops, the relay loses the replies it still held when it
	// went down: with pipelining across messages (RFC 2920), the 250 of a
	// message it accepted waits in its buffer behind the next message's
	// commands, and going down then loses it. The sink notes each one;
	// a copy of such a message is inside RFC 1047's window too, but
	// nothing else may be.
	held := e.sink.Stats().LostReplies - int64(drops)
	if int64(tl.dupInside) > int64(drops)+max(held, 0) {
		out.fail("%d duplicates for %d drops and %d replies lost as the relay went down", tl.dupInside, drops, held)
	}
	out.note("%d bounced and suppressed, %d drops, %d replies lost as the relay went down", tl.bounced, drops, held)
	return out
}

func relayHang(e *env, path string) *Row {
	row := &Row{}
	e.concurrency = 40
	msgs, start := e.begin(path, nil)
	e.strike(row, "hang "+e.s.hang.String(), 0.1, 0.3)
	e.sink.SetMode(smtpsink.ModeHang, e.s.hang, 0)
	tl, _ := e.end(msgs, start, nil)
	out := sendRow("", path, "", tl)
	out.Notes = row.Notes
	checkLost(out, tl)
	if tl.dupOther > 0 {
		out.fail("duplicates outside RFC 1047's window: %d", tl.dupOther)
	}
	return out
}
