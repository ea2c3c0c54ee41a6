// Package metrics owns Nurture's Prometheus metrics: one Registry per
// process with the series the engine's parts report through the small
// observer interfaces they declare (api.Observer, delivery.Observer,
// mailer.Observer, worker.LeaseObserver: the Registry has their methods), the collectors that
// read figures from PostgreSQL and queue sizes from asynq when Prometheus
// scrapes, and the HTTP handler that serves them all.
//
// It is the only package that imports the Prometheus client: the others
// know nothing of it, and cmd/nurture wires the Registry in. It decides no
// behaviour of the engine and reads no setting by name.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds a process's metrics. Its methods are safe for concurrent
// use; a nil *Registry is not usable (pass no observer instead).
type Registry struct {
	reg *prometheus.Registry

	ingestRequests *prometheus.CounterVec
	ingestCalls    *prometheus.CounterVec
	ingestDups     prometheus.Counter
	bounceReports  *prometheus.CounterVec
	sendSeconds    *prometheus.HistogramVec
	smtpReplies    *prometheus.CounterVec
	throttle       *prometheus.CounterVec
	outcomes       *prometheus.CounterVec
	replicaLag     prometheus.Gauge
	reportsSource  prometheus.Gauge
	fallbacks      *prometheus.CounterVec
	jobPasses      *prometheus.CounterVec
	jobLeaseHeld   *prometheus.GaugeVec
}

// New returns a Registry with the engine's series and Go's runtime and
// process collectors.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		ingestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_ingest_requests_total",
			Help: "Requests to the ingestion endpoints, by endpoint and outcome (accepted: 2xx, rejected: 4xx, failed: 5xx).",
		}, []string{"endpoint", "outcome"}),
		ingestCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_ingest_calls_total",
			Help: "Calls (identify, track, page, alias, group) of well-formed requests, by type and outcome (accepted: stored or a duplicate; rejected: refused by the store's rules; failed: the store failed).",
		}, []string{"type", "outcome"}),
		ingestDups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nurture_ingest_duplicate_calls_total",
			Help: "Accepted calls whose messageId had been seen before, and so were not stored again.",
		}),
		bounceReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_bounce_reports_total",
			Help: "Bounce and complaint reports recorded from the providers' webhooks, by type (hard, soft, complaint) and provider.",
		}, []string{"type", "provider"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nurture_smtp_send_duration_seconds",
			Help:    "Time to hand one email to the relay, waiting for a connection included, by region (empty without regions) and relay.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12), // 5 ms to about 10 s
		}, []string{"region", "relay"}),
		smtpReplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_smtp_replies_total",
			Help: "Outcomes of handing emails to the relay, by region (empty without regions), relay and reply class (2xx: accepted, 4xx, 5xx, network: no reply).",
		}, []string{"region", "relay", "class"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_relay_throttle_takes_total",
			Help: "Sends that asked the relay's shared rate, by outcome (passed: at once, waited: up to a second, deferred: the task retries later, unavailable: kept to the local rate).",
		}, []string{"outcome"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_delivery_outcomes_total",
			Help: "Outcomes delivery decided for the messages it claimed, by region (empty without regions), status (sent, bounced, deferred, skipped, failed; queued: handed back unsent, or handed to its region's queue) and topic.",
		}, []string{"region", "status", "topic"}),
		replicaLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nurture_database_replica_lag_seconds",
			Help: "How far the reports' replica was behind the primary at its last check (0: it had replayed everything the primary had written).",
		}),
		reportsSource: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nurture_reports_on_replica",
			Help: "1 while read-only reports read the replica, 0 while they read the primary because it lags or cannot be reached.",
		}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_reports_replica_fallbacks_total",
			Help: "Checks and failed reports that sent reports to the primary, by reason (lagging, unreachable, query_failed).",
		}, []string{"reason"}),
		jobPasses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_job_passes_total",
			Help: "Passes of a periodic job (reconciler, sequences, enrichment, campaigns, retention, overview) run by this process; across processes they add up to one a period.",
		}, []string{"job"}),
		jobLeaseHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nurture_job_lease_held",
			Help: "1 when this process holds the periodic job's lease (it alone runs the job), else 0.",
		}, []string{"job"}),
	}
	r.reg.MustRegister(r.ingestRequests, r.ingestCalls, r.ingestDups, r.bounceReports, r.sendSeconds, r.smtpReplies, r.throttle, r.outcomes,
		r.replicaLag, r.reportsSource, r.fallbacks,
		r.jobPasses, r.jobLeaseHeld,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Register adds a collector of the caller's; it fails when one of its
// series is already there.
func (r *Registry) Register(c prometheus.Collector) error { return r.reg.Register(c) }

// Gatherer gives the metrics as Prometheus' client gathers them, for tests
// and for a caller that serves them another way.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the metrics in Prometheus' text format (or OpenMetrics,
// when asked for). It asks for no credentials: put it behind them, or on
// a private address (Serve).
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve serves GET /metrics, without authentication, on addr until ctx
// ends: for a private port that only Prometheus reaches.
func (r *Registry) Serve(ctx context.Context, addr string, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	logger.Info("metrics listening", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics shutdown: %w", err)
	}
	return nil
}

// IngestRequest counts a request to an ingestion endpoint by the class of
// its HTTP status (api.Observer).
func (r *Registry) IngestRequest(endpoint string, status int) {
	outcome := "accepted"
	switch {
	case status >= 500:
		outcome = "failed"
	case status >= 400:
		outcome = "rejected"
	}
	r.ingestRequests.WithLabelValues(endpoint, outcome).Inc()
}

// IngestCalls counts n calls of a type that the store accepted, rejected
// or failed to store (api.Observer).
func (r *Registry) IngestCalls(callType, outcome string, n int) {
	r.ingestCalls.WithLabelValues(callType, outcome).Add(float64(n))
}

// IngestDuplicates counts accepted calls that were seen before
// (api.Observer).
func (r *Registry) IngestDuplicates(n int) { r.ingestDups.Add(float64(n)) }

// BounceReports counts n bounce or complaint reports of a type recorded
// from a provider (api.Observer).
func (r *Registry) BounceReports(bounceType, provider string, n int) {
	r.bounceReports.WithLabelValues(bounceType, provider).Add(float64(n))
}

// SMTPSend records one email handed to a relay: the class of the relay's
// reply and how long it took (mailer.Observer), for an installation
// without regions.
func (r *Registry) SMTPSend(relay, replyClass string, took time.Duration) {
	r.InRegion("").SMTPSend(relay, replyClass, took)
}

// MessageOutcome counts an outcome delivery decided for a message
// (delivery.Observer), for an installation without regions.
func (r *Registry) MessageOutcome(status, topic string) { r.InRegion("").MessageOutcome(status, topic) }

// InRegion returns the observer of one region's delivery and relay: the
// same series, labelled with the region. The binary asks for the
// regions it serves only, so the label has no more values than
// NURTURE_REGIONS declares.
func (r *Registry) InRegion(region string) *RegionObserver {
	return &RegionObserver{r: r, region: region}
}

// RegionObserver is a Registry's delivery.Observer and mailer.Observer for
// one region.
type RegionObserver struct {
	r      *Registry
	region string
}

// SMTPSend records one email handed to the region's relay (mailer.Observer).
func (o *RegionObserver) SMTPSend(relay, replyClass string, took time.Duration) {
	o.r.smtpReplies.WithLabelValues(o.region, relay, replyClass).Inc()
	o.r.sendSeconds.WithLabelValues(o.region, relay).Observe(took.Seconds())
}

// MessageOutcome counts an outcome of one of the region's messages
// (delivery.Observer).
func (o *RegionObserver) MessageOutcome(status, topic string) {
	o.r.outcomes.WithLabelValues(o.region, status, topic).Inc()
}

// RelayThrottle counts one ask of the relay's shared rate (delivery.Observer).
func (o *RegionObserver) RelayThrottle(outcome string) { o.r.RelayThrottle(outcome) }

// RelayThrottle counts one ask of the relay's shared rate by its outcome
// (delivery.Observer).
func (r *Registry) RelayThrottle(outcome string) { r.throttle.WithLabelValues(outcome).Inc() }

// ReplicaLag records the lag a check of the reports' replica measured
// (postgres.ReplicaObserver).
func (r *Registry) ReplicaLag(lag time.Duration) {
	r.replicaLag.Set(min(lag.Seconds(), math.MaxFloat32))
}

// ReportsSource records whether reports read the replica, and counts the
// reason when they do not (postgres.ReplicaObserver).
func (r *Registry) ReportsSource(replica bool, reason string) {
	if replica {
		r.reportsSource.Set(1)
		return
	}
	r.reportsSource.Set(0)
	r.fallbacks.WithLabelValues(reason).Inc()
}

// JobPass counts a pass of a periodic job run by this process
// (worker.LeaseObserver).
func (r *Registry) JobPass(job string) { r.jobPasses.WithLabelValues(job).Inc() }

// JobLeaseHeld says whether this process holds a periodic job's lease
// (worker.LeaseObserver).
func (r *Registry) JobLeaseHeld(job string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	r.jobLeaseHeld.WithLabelValues(job).Set(v)
}

// HitCounts are the counters of the API's open and click recorder and of
// its rate limits (*api.API has them).
type HitCounts interface {
	HitsRecorded() int64
	DroppedHits() int64
	QueuedHits() int
	RateLimitSkipped() int64
}

// WatchHits exports the API's hit and rate-limit counters, read at each
// scrape.
func (r *Registry) WatchHits(h HitCounts) {
	r.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nurture_hits_recorded_total",
			Help: "Opens and clicks written to the database by this process."},
			func() float64 { return float64(h.HitsRecorded()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nurture_hits_dropped_total",
			Help: "Opens and clicks dropped because the queue was full while the database was away."},
			func() float64 { return float64(h.DroppedHits()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nurture_hits_queued",
			Help: "Opens and clicks waiting to be written."},
			func() float64 { return float64(h.QueuedHits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nurture_ratelimit_skipped_total",
			Help: "Rate-limit checks skipped, their requests let through, because Redis failed or was slow (and for a second after each such failure)."},
			func() float64 { return float64(h.RateLimitSkipped()) }),
	)
}

// label formats an id for a label value.
func label(id int64) string { return strconv.FormatInt(id, 10) }
