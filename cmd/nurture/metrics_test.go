package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// scrape reads url's metrics in Prometheus' text format; adminKey, when
// not empty, goes as a bearer token. It returns nil and the status when
// the answer is not 200.
func scrape(t *testing.T, url, adminKey string) (map[string]*dto.MetricFamily, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if adminKey != "" {
		req.Header.Set("Authorization", "Bearer "+adminKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams, resp.StatusCode
}

// sample sums the values of name's series whose labels include labels,
// and says whether there was one.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// After a sign-up's welcome email is sent and opened, /metrics (on the
// private address without a key, and on the API with an admin key only)
// shows each series of the engine with the values that happened.
func TestMetricsAfterASend(t *testing.T) {
	t.Parallel()
	e := setup(t)
	metricsAddr := freeAddr(t)
	e.env["NURTURE_METRICS_LISTEN"] = metricsAddr
	e.env["NURTURE_PUBLIC_URL"] = e.apiURL
	admin, err := createAPIKey(context.Background(), postgres.New(e.pool), "prometheus", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	e.start("all")
	e.waitReady()

	status, _ := e.post("/v1/track", map[string]any{"event": "signed_up"}) // neither userId nor anonymousId
	require.Equal(t, http.StatusBadRequest, status)
	_, html, _ := e.signUp("u-metrics", "metrics@example.com")
	pixel := regexp.MustCompile(regexp.QuoteMeta(e.apiURL) + `/o/[A-Za-z0-9_-]+`).FindString(html)
	resp, err := http.Get(pixel)
	require.NoError(t, err)
	resp.Body.Close()

	// The API's /metrics asks for an admin key; the private address does not.
	_, status = scrape(t, e.apiURL+"/metrics", "")
	require.Equal(t, http.StatusUnauthorized, status)
	_, status = scrape(t, e.apiURL+"/metrics", e.key)
	require.Equal(t, http.StatusForbidden, status, "an ingest key is not enough")
	fams, status := scrape(t, e.apiURL+"/metrics", admin)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, fams, "nurture_delivery_outcomes_total")

	relay := strings.TrimPrefix(strings.TrimSuffix(e.smtp.URL(), "?tls=none"), "smtp://")
	var enrollments map[string]float64
	require.Eventually(t, func() bool {
		enrollments = e.enrollmentsByStatus()
		fams, _ = scrape(t, "http://"+metricsAddr+"/metrics", "")
		if v, _ := sample(fams, "nurture_hits_recorded_total", nil); v != 1 {
			return false // the pixel's hit is written right after its answer
		}
		// The figures are cached for 10 s: the welcome email left the backlog.
		v, found := sample(fams, "nurture_messages_pending", map[string]string{"status": "queued"})
		return !found && v == 0
	}, 30*time.Second, 200*time.Millisecond)

	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"nurture_ingest_requests_total", map[string]string{"endpoint": "identify", "outcome": "accepted"}, 1},
		{"nurture_ingest_requests_total", map[string]string{"endpoint": "track", "outcome": "accepted"}, 1},
		{"nurture_ingest_requests_total", map[string]string{"endpoint": "track", "outcome": "rejected"}, 1},
		{"nurture_ingest_calls_total", map[string]string{"type": "identify", "outcome": "accepted"}, 1},
		{"nurture_ingest_calls_total", map[string]string{"type": "track", "outcome": "accepted"}, 1},
		{"nurture_ingest_duplicate_calls_total", nil, 0},
		{"nurture_smtp_replies_total", map[string]string{"relay": relay, "class": "2xx"}, 1},
		{"nurture_smtp_replies_total", map[string]string{"class": "5xx"}, 0},
		{"nurture_smtp_send_duration_seconds", map[string]string{"relay": relay}, 1}, // the histogram's count
		{"nurture_relay_throttle_takes_total", map[string]string{"outcome": "passed"}, 1},
		{"nurture_delivery_outcomes_total", map[string]string{"status": "sent", "topic": "onboarding"}, 1},
		{"nurture_delivery_outcomes_total", map[string]string{"status": "skipped"}, 0},
		{"nurture_messages_pending", map[string]string{"status": "queued"}, 0},
		{"nurture_enrollments", nil, enrollments[""]},
		{"nurture_reconciler_lag_seconds", nil, 0},
		{"nurture_figures_up", nil, 1},
		{"nurture_hits_recorded_total", nil, 1},
		{"nurture_hits_dropped_total", nil, 0},
		{"nurture_hits_queued", nil, 0},
	} {
		got, found := sample(fams, tc.name, tc.labels)
		if tc.want != 0 || len(tc.labels) == 0 {
			require.True(t, found, "no %s%v in /metrics", tc.name, tc.labels)
		}
		require.InDelta(t, tc.want, got, 0, "%s%v", tc.name, tc.labels)
	}
	// A rate-limit check skipped counts a Redis answer slower than the
	// check's budget of a few milliseconds, which a loaded machine gives:
	// the series must be there, its value is the machine's.
	_, found := sample(fams, "nurture_ratelimit_skipped_total", nil)
	require.True(t, found, "no nurture_ratelimit_skipped_total in /metrics")
	for status, n := range enrollments {
		if status == "" {
			continue
		}
		got, _ := sample(fams, "nurture_enrollments", map[string]string{"status": status})
		require.InDelta(t, n, got, 0, "nurture_enrollments{status=%q}", status)
	}
	// The queues, as asynq's collector reports them, and Go's runtime and the process.
	for _, name := range []string{"asynq_queue_size", "asynq_queue_latency_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		require.Contains(t, fams, name)
	}
	_, found = sample(fams, "asynq_queue_size", map[string]string{"queue": "default"})
	require.True(t, found, "the default queue's size")
}

// enrollmentsByStatus counts the enrollments by status; "" is the total.
func (e *engine) enrollmentsByStatus() map[string]float64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT status, count(*) FROM enrollments GROUP BY status`)
	require.NoError(e.t, err)
	defer rows.Close()
	out := map[string]float64{"": 0}
	for rows.Next() {
		var s string
		var n float64
		require.NoError(e.t, rows.Scan(&s, &n))
		out[s] = n
		out[""] += n
	}
	return out
}

// At info level, the logs of a sign-up's welcome email, from ingestion to
// the relay and the open, carry ids but neither the address nor the name
// of the person.
func TestSendLogsNoPersonalData(t *testing.T) {
	t.Parallel()
	e := setup(t)
	logs := &testkit.SyncBuffer{}
	e.logTo = logs
	e.env["NURTURE_LOG_LEVEL"] = "info"
	e.env["NURTURE_LOG_FORMAT"] = "json"
	e.env["NURTURE_PUBLIC_URL"] = e.apiURL
	stop := e.start("all")
	e.waitReady()
	e.mustPost("/v1/identify", map[string]any{"userId": "u-private", "traits": map[string]any{
		"email": "grace.hopper@navy.example", "firstName": "Grace", "lastName": "Hopperton", "company": "Navy"}})
	e.mustPost("/v1/track", map[string]any{"userId": "u-private", "event": "signed_up", "messageId": "signup-private"})
	html := e.smtp.WaitForMessages(t, 1, 20*time.Second)[0].Part("text/html")
	e.waitStatus("u-private", "sent")
	resp, err := http.Get(regexp.MustCompile(regexp.QuoteMeta(e.apiURL) + `/o/[A-Za-z0-9_-]+`).FindString(html))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 0, stop())

	out := logs.String()
	require.Contains(t, out, `"msg":"api listening"`, "the logs were captured, as JSON")
	for _, personal := range []string{"grace.hopper", "navy.example", "Grace", "Hopperton"} {
		require.NotContains(t, out, personal)
	}
}

// The worker has no HTTP server of its own: with NURTURE_METRICS_LISTEN it
// serves /metrics there, with the figures and the runtime, and nothing of
// the API's.
func TestWorkerServesMetricsOnItsOwnAddress(t *testing.T) {
	t.Parallel()
	e := setup(t)
	metricsAddr := freeAddr(t)
	e.env["NURTURE_METRICS_LISTEN"] = metricsAddr
	e.start("worker") // on a schema testkit has migrated

	var fams map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		fams, _ = scrape(t, "http://"+metricsAddr+"/metrics", "")
		return fams != nil
	}, 20*time.Second, 50*time.Millisecond, "the worker's metrics address never answered")
	up, _ := sample(fams, "nurture_figures_up", nil)
	require.InDelta(t, 1.0, up, 0)
	for _, name := range []string{"nurture_reconciler_lag_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		require.Contains(t, fams, name)
	}
	require.NotContains(t, fams, "nurture_hits_recorded_total", "the worker records no hits")
}
