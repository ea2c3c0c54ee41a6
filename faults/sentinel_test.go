package faults

import (
	"context"
	"sort"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// The Redis failover scenario (issue 18): the engine reaches Redis through
// three sentinels watching a primary and two replicas; an api and two
// worker processes send a throttled campaign; the primary is killed
// (SIGKILL) mid-way. Every contact must get its email once, and sending
// must resume within 10 s of the sentinels' promotion of a replica.
// Writes the old primary acknowledged but had not yet replicated are lost
// with it; PostgreSQL holds every message, and the reconciler queues again
// what the new primary does not know.

// failoverResume is the longest sending may pause after the promotion.
const failoverResume = 10 * time.Second

func redisFailover(e *env, _ string) *Row {
	row := &Row{}
	rs := testkit.NewRedisSentinel(e.t, 2, 3)
	e.redisURL = rs.URL(0)
	e.startAPI()
	n := campaignContacts(e)
	id, start := e.beginCampaign(n)
	first := e.worker
	e.startWorker()
	e.t.Cleanup(func() {
		if first.running() {
			first.kill()
		}
	})

	e.waitAccepted(e.randomPoint(n, 0.3, 0.5), 3*time.Minute)
	ctx := context.Background()
	old, err := rs.KillPrimary(ctx)
	require.NoError(e.t, err, "kill the primary")
	killed := time.Now()
	row.note("primary killed (SIGKILL) at %d accepted", e.sink.Stats().Accepted)
	promoted, err := rs.WaitFailover(old, time.Minute)
	require.NoError(e.t, err, "failover")
	promotedAt := time.Now()
	took := promotedAt.Sub(killed)
	ready := waitHTTP(e.apiURL+"/readyz", time.Minute)
	readyAfter := time.Since(promotedAt)

	finished := e.waitCampaignSent(id, start.Add(e.s.deadline))
	first.terminate(60 * time.Second)
	tl := e.stopAndCountAll(start, finished)
	t, err := e.campaignTotals(ctx, id)
	require.NoError(e.t, err, "campaign totals")

	out := sendRow("", "", "", tl)
	lost := tl.lost + max(0, n-t.messages)
	out.Emails, out.Lost = num(n), num(lost)
	out.Notes = append(out.Notes, row.Notes...)
	pause := longestPause(tl, killed)
	resumed := firstAfter(tl, promotedAt)
	out.note("sentinels promoted %s in %s (down-after %s); first email accepted %s after the promotion; longest pause in sending after the kill %s; api /readyz 200 %s after the promotion",
		promoted, took.Round(10*time.Millisecond), testkit.SentinelDownAfter, resumed.Round(10*time.Millisecond),
		pause.Round(10*time.Millisecond), readyAfter.Round(10*time.Millisecond))
	out.note("campaign %s, audience %s, %s messages, %d contacts with two; throttle %d a minute; two workers",
		t.status, num(t.audience), num(t.messages), t.repeated, campaignThrottle(n))
	switch {
	case !checkCampaign(out, t, n, lost, tl.dupInside+tl.dupOther, 0):
	case ready != nil:
		out.fail("api not ready after the failover: %v", ready)
	case resumed < 0 || resumed > failoverResume:
		out.fail("sending resumed %s after the promotion, more than %s", resumed.Round(10*time.Millisecond), failoverResume)
	case pause > took+failoverResume:
		out.fail("nothing sent for %s after the kill: more than the promotion's %s and %s", pause.Round(10*time.Millisecond), took.Round(10*time.Millisecond), failoverResume)
	}
	return out
}

// firstAfter is how long after since the sink accepted its first message;
// -1 when it accepted none.
func firstAfter(tl tally, since time.Time) time.Duration {
	var times []time.Time
	for _, cs := range tl.copies {
		for _, c := range cs {
			if !c.At.Before(since) {
				times = append(times, c.At)
			}
		}
	}
	if len(times) == 0 {
		return -1
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	return times[0].Sub(since)
}
