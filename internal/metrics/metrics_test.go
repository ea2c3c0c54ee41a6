package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/metrics"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// gauge gathers reg and returns the value of name's only series.
func gauge(t *testing.T, reg *metrics.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1, name)
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s gathered", name)
	return 0
}

// The observers' methods become the series named in the README, with the
// classes the observers' callers pass.
func TestObserverSeries(t *testing.T) {
	t.Parallel()
	reg := metrics.New()
	reg.IngestRequest("track", 200)
	reg.IngestRequest("track", 400)
	reg.IngestRequest("batch", 503)
	reg.IngestCalls("track", "accepted", 3)
	reg.IngestDuplicates(1)
	reg.BounceReports("complaint", "ses", 2)
	reg.SMTPSend("relay.example:587", "2xx", 20*time.Millisecond)
	reg.SMTPSend("relay.example:587", "4xx", 3*time.Second)
	reg.RelayThrottle("waited")
	reg.MessageOutcome("sent", "onboarding")
	reg.MessageOutcome("skipped", "")
	reg.InRegion("eu").MessageOutcome("sent", "onboarding")
	reg.InRegion("us").SMTPSend("us.relay:587", "2xx", 10*time.Millisecond)

	err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(`
# HELP nurture_ingest_requests_total Requests to the ingestion endpoints, by endpoint and outcome (accepted: 2xx, rejected: 4xx, failed: 5xx).
# TYPE nurture_ingest_requests_total counter
nurture_ingest_requests_total{endpoint="batch",outcome="failed"} 1
nurture_ingest_requests_total{endpoint="track",outcome="accepted"} 1
nurture_ingest_requests_total{endpoint="track",outcome="rejected"} 1
# HELP nurture_ingest_duplicate_calls_total Accepted calls whose messageId had been seen before, and so were not stored again.
# TYPE nurture_ingest_duplicate_calls_total counter
nurture_ingest_duplicate_calls_total 1
# HELP nurture_bounce_reports_total Bounce and complaint reports recorded from the providers' webhooks, by type (hard, soft, complaint) and provider.
# TYPE nurture_bounce_reports_total counter
nurture_bounce_reports_total{provider="ses",type="complaint"} 2
# HELP nurture_smtp_replies_total Outcomes of handing emails to the relay, by region (empty without regions), relay and reply class (2xx: accepted, 4xx, 5xx, network: no reply).
# TYPE nurture_smtp_replies_total counter
nurture_smtp_replies_total{class="2xx",region="",relay="relay.example:587"} 1
nurture_smtp_replies_total{class="4xx",region="",relay="relay.example:587"} 1
nurture_smtp_replies_total{class="2xx",region="us",relay="us.relay:587"} 1
# HELP nurture_relay_throttle_takes_total Sends that asked the relay's shared rate, by outcome (passed: at once, waited: up to a second, deferred: the task retries later, unavailable: kept to the local rate).
# TYPE nurture_relay_throttle_takes_total counter
nurture_relay_throttle_takes_total{outcome="waited"} 1
# HELP nurture_delivery_outcomes_total Outcomes delivery decided for the messages it claimed, by region (empty without regions), status (sent, bounced, deferred, skipped, failed; queued: handed back unsent, or handed to its region's queue) and topic.
# TYPE nurture_delivery_outcomes_total counter
nurture_delivery_outcomes_total{region="",status="sent",topic="onboarding"} 1
nurture_delivery_outcomes_total{region="",status="skipped",topic=""} 1
nurture_delivery_outcomes_total{region="eu",status="sent",topic="onboarding"} 1
`), "nurture_ingest_requests_total", "nurture_ingest_duplicate_calls_total", "nurture_bounce_reports_total",
		"nurture_smtp_replies_total", "nurture_relay_throttle_takes_total", "nurture_delivery_outcomes_total")
	require.NoError(t, err)
	n, err := testutil.GatherAndCount(reg.Gatherer(), "nurture_smtp_send_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 2, n, "one histogram per region and relay")
}

// The handler serves the text format with Go's runtime and the process.
func TestHandlerServesRuntime(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	metrics.New().Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	body, _ := io.ReadAll(w.Body)
	require.Contains(t, string(body), "go_goroutines ")
	require.Contains(t, string(body), "process_cpu_seconds_total ")
}

// Where reports read (postgres.ReplicaObserver): the replica's lag, the
// source, and each fallback by its reason.
func TestReplicaSeries(t *testing.T) {
	t.Parallel()
	reg := metrics.New()
	reg.ReplicaLag(1500 * time.Millisecond)
	reg.ReportsSource(true, "")
	require.InDelta(t, 1.5, gauge(t, reg, "nurture_database_replica_lag_seconds"), 1e-9)
	require.InDelta(t, 1.0, gauge(t, reg, "nurture_reports_on_replica"), 0)

	reg.ReportsSource(false, "lagging")
	reg.ReportsSource(false, "lagging")
	reg.ReportsSource(false, "unreachable")
	require.InDelta(t, 0.0, gauge(t, reg, "nurture_reports_on_replica"), 0)
	err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(`
# HELP nurture_reports_replica_fallbacks_total Checks and failed reports that sent reports to the primary, by reason (lagging, unreachable, query_failed).
# TYPE nurture_reports_replica_fallbacks_total counter
nurture_reports_replica_fallbacks_total{reason="lagging"} 2
nurture_reports_replica_fallbacks_total{reason="unreachable"} 1
`), "nurture_reports_replica_fallbacks_total")
	require.NoError(t, err)
}

// A periodic job's passes and its lease, as worker.Leases reports them:
// the gauge follows the lease as this process takes and loses it.
func TestJobLeaseSeries(t *testing.T) {
	t.Parallel()
	reg := metrics.New()
	reg.JobLeaseHeld("reconciler", true)
	reg.JobPass("reconciler")
	reg.JobPass("reconciler")
	reg.JobLeaseHeld("campaigns", true)
	reg.JobLeaseHeld("campaigns", false)
	err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(`
# HELP nurture_job_passes_total Passes of a periodic job (reconciler, sequences, enrichment, campaigns, retention, overview) run by this process; across processes they add up to one a period.
# TYPE nurture_job_passes_total counter
nurture_job_passes_total{job="reconciler"} 2
# HELP nurture_job_lease_held 1 when this process holds the periodic job's lease (it alone runs the job), else 0.
# TYPE nurture_job_lease_held gauge
nurture_job_lease_held{job="campaigns"} 0
nurture_job_lease_held{job="reconciler"} 1
`), "nurture_job_passes_total", "nurture_job_lease_held")
	require.NoError(t, err)
}
