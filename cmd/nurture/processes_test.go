package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// jobPeriods are the periodic jobs' default periods (package worker).
var jobPeriods = map[string]time.Duration{
	worker.JobReconciler: 5 * time.Second,
	worker.JobSequences:  250 * time.Millisecond,
	worker.JobEnrichment: time.Second,
	worker.JobCampaigns:  time.Second,
	worker.JobRetention:  time.Hour,
	worker.JobOverview:   5 * time.Minute,
}

// TestTwoAPIsAndTwoWorkersSendOnceAndRunEachJobOncePerPeriod is issue 18's
// done-when: two API and two worker processes against one PostgreSQL and
// one Redis. Sign-ups arrive through both APIs (a welcome each) and a
// campaign goes to other contacts: every email reaches the relay once,
// and each periodic job ran once a period in all, not once per worker
// (the lease table's counters and the workers' own metrics agree).
func TestTwoAPIsAndTwoWorkersSendOnceAndRunEachJobOncePerPeriod(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts four processes and sends 2,000 emails")
	}
	const signUps, audience = 1000, 1000
	e := setup(t)
	ctx := context.Background()
	apis := []*engine{e, e.another()}
	for _, a := range apis {
		a.start("api")
		a.waitReady()
	}
	began := time.Now()
	workers := []*engine{e.another(), e.another()}
	for _, w := range workers {
		w.env["NURTURE_METRICS_LISTEN"] = freeAddr(t)
		w.start("worker")
	}

	// Sign-ups, half through each API, in batches as an SDK sends them;
	// the campaign's audience is identified only (no welcome).
	for from := 0; from < signUps+audience; from += 100 {
		var calls []map[string]any
		for i := from; i < from+100; i++ {
			user := fmt.Sprintf("u%04d", i)
			plan := "free"
			if i >= signUps {
				plan = "pro"
			}
			calls = append(calls, map[string]any{"type": "identify", "userId": user, "messageId": "id-" + user,
				"traits": map[string]any{"email": user + "@example.com", "plan": plan}})
			if i < signUps {
				calls = append(calls, map[string]any{"type": "track", "userId": user, "event": "signed_up", "messageId": "su-" + user})
			}
		}
		apis[from/100%2].mustPost("/v1/batch", map[string]any{"batch": calls})
	}
	admin, err := createAPIKey(ctx, postgres.New(e.pool), "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	id := apis[1].createCampaign(admin, map[string]any{"name": "Pro news", "template": "newsletter",
		"filter": map[string]any{"traits.plan": "pro"}, "sendAt": time.Now().UTC().Format(time.RFC3339)})

	msgs := e.smtp.WaitForMessages(t, signUps+audience, 5*time.Minute)
	time.Sleep(2 * time.Second) // anything sent twice would arrive now
	got := map[string]int{}
	for _, m := range e.smtp.Messages() {
		require.Len(t, m.To, 1)
		got[m.To[0]]++
	}
	require.Len(t, got, signUps+audience, "every contact got an email")
	for to, n := range got {
		require.Equal(t, 1, n, "%s got %d emails", to, n)
	}
	require.Len(t, e.smtp.Messages(), len(msgs))
	var campaignSent int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE campaign_id = $1 AND status = 'sent'`, id).Scan(&campaignSent))
	require.Equal(t, audience, campaignSent)

	// Each job ran once a period in all: the lease table's count, and the
	// sum of the passes each worker reports, at most the elapsed time over
	// the period (with the lease's slack of a tenth). A pass that takes
	// longer than its period (the sequence poller's, under the race
	// detector on a loaded machine) delays the next, so the least is only
	// a tenth of that: the job went on running.
	// The workers' metrics are read between two reads of the lease table:
	// the jobs go on meanwhile (the sequence poller every 250 ms).
	leaseRuns := func() (map[string]int64, []nurture.JobLease) {
		leases, err := postgres.New(e.pool).JobLeases(ctx)
		require.NoError(t, err)
		runs := map[string]int64{}
		for _, l := range leases {
			runs[l.Job] = l.Runs
		}
		return runs, leases
	}
	before, _ := leaseRuns()
	passes := map[string]float64{}
	for _, w := range workers {
		for job, n := range w.jobPasses() {
			passes[job] += n
		}
	}
	runs, leases := leaseRuns()
	elapsed := time.Since(began)
	for _, l := range leases {
		require.True(t, l.Held, "%s is held by a live worker", l.Job)
	}
	t.Logf("elapsed %s; runs %v; passes by the workers %v", elapsed.Round(time.Millisecond), runs, passes)
	require.ElementsMatch(t, slicesOf(maps.Keys(jobPeriods)), slicesOf(maps.Keys(runs)), "every periodic job has its lease")
	for job, period := range jobPeriods {
		most := int64(elapsed/(period-min(period/10, 100*time.Millisecond))) + 1
		least := int64(elapsed/period) / 10
		require.LessOrEqual(t, runs[job], most, "%s ran more than once a period (%s over %s)", job, period, elapsed)
		require.GreaterOrEqual(t, runs[job], max(least, 1), "%s: too few passes", job)
		require.GreaterOrEqual(t, passes[job], float64(before[job]-1), "%s: the workers' passes add up to the lease's count", job)
		require.LessOrEqual(t, passes[job], float64(runs[job]), "%s: the workers' passes add up to the lease's count", job)
	}
}

// another returns an engine on the same database, Redis and relay as e,
// listening on an address of its own: a second process of the same
// installation.
func (e *engine) another() *engine {
	o := *e
	o.env = maps.Clone(e.env)
	addr := freeAddr(e.t)
	o.env["NURTURE_LISTEN"] = addr
	o.apiURL = "http://" + addr
	return &o
}

// createCampaign creates and schedules a campaign through the API and
// returns its id.
func (e *engine) createCampaign(adminKey string, body map[string]any) int64 {
	e.t.Helper()
	call := func(path string, body any) map[string]any {
		status, raw := e.callAs(adminKey, http.MethodPost, path, body)
		require.Less(e.t, status, 300, raw)
		var out map[string]any
		require.NoError(e.t, json.Unmarshal([]byte(raw), &out), raw)
		return out
	}
	c := call("/v1/campaigns", body)
	id := int64(c["id"].(float64))
	call(fmt.Sprintf("/v1/campaigns/%d/schedule", id), nil)
	return id
}

var jobPassesLine = regexp.MustCompile(`^nurture_job_passes_total\{job="([a-z]+)"\} (\S+)$`)

// jobPasses reads the worker's nurture_job_passes_total from its metrics
// address.
func (e *engine) jobPasses() map[string]float64 {
	e.t.Helper()
	resp, err := http.Get("http://" + e.env["NURTURE_METRICS_LISTEN"] + "/metrics")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := jobPassesLine.FindStringSubmatch(sc.Text()); m != nil {
			n, err := strconv.ParseFloat(m[2], 64)
			require.NoError(e.t, err)
			out[m[1]] = n
		}
	}
	require.NoError(e.t, sc.Err())
	return out
}

func slicesOf(seq func(func(string) bool)) []string {
	var out []string
	for s := range seq {
		out = append(out, s)
	}
	return out
}
