package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nurture-email/nurture"
)

// FiguresFunc reads the engine's figures from the store
// ((*postgres.DB).Figures).
type FiguresFunc func(ctx context.Context) (*nurture.Figures, error)

// FiguresConfig says how the figures are read.
type FiguresConfig struct {
	Read FiguresFunc // required
	// Timeout bounds one read; default 3 s. A scrape that finds the
	// database slow reports nurture_figures_up 0 rather than hang.
	Timeout time.Duration
	// TTL is how long figures read are reused, so that several
	// Prometheus servers (or processes scraped together) load the
	// database once; default 10 s.
	TTL    time.Duration
	Clock  nurture.Clock // default: the system clock
	Logger *slog.Logger  // default: slog.Default()
}

// The series of the figures collector.
var (
	pendingDesc = prometheus.NewDesc("nurture_messages_pending",
		"Messages not yet final (queued, deferred, sending) by status and topic: the backlog in PostgreSQL.", []string{"status", "topic"}, nil)
	enrollmentsDesc = prometheus.NewDesc("nurture_enrollments",
		"Sequence enrollments by status.", []string{"status"}, nil)
	campaignsDesc = prometheus.NewDesc("nurture_campaigns",
		"Campaigns by status.", []string{"status"}, nil)
	campaignAudienceDesc = prometheus.NewDesc("nurture_campaign_audience_contacts",
		"Contacts frozen so far into the audience of each campaign that is sending.", []string{"campaign"}, nil)
	campaignSentDesc = prometheus.NewDesc("nurture_campaign_sent_messages",
		"Emails sent so far by each campaign that is sending.", []string{"campaign"}, nil)
	reconcilerLagDesc = prometheus.NewDesc("nurture_reconciler_lag_seconds",
		"How long the oldest message that is due but was never handed to the task queue has been due; 0 when none.", nil, nil)
	figuresUpDesc = prometheus.NewDesc("nurture_figures_up",
		"1 when the figures above could be read from PostgreSQL at this scrape (or within the cache's time), 0 when not.", nil, nil)
)

// figuresCollector reads the figures from the store when scraped, at most
// once per TTL.
type figuresCollector struct {
	cfg FiguresConfig

	mu     sync.Mutex
	last   *nurture.Figures
	readAt time.Time
}

// WatchFigures exports the store's figures (nurture_messages_pending,
// nurture_enrollments, nurture_campaigns, campaign progress, reconciler
// lag), read at scrape time under cfg's timeout and cache. Only one
// process of an installation needs to: every process reads the same
// database.
func (r *Registry) WatchFigures(cfg FiguresConfig) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.TTL == 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r.reg.MustRegister(&figuresCollector{cfg: cfg})
}

// Describe implements prometheus.Collector.
func (c *figuresCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pendingDesc, enrollmentsDesc, campaignsDesc, campaignAudienceDesc,
		campaignSentDesc, reconcilerLagDesc, figuresUpDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *figuresCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	if f == nil {
		ch <- prometheus.MustNewConstMetric(figuresUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(figuresUpDesc, prometheus.GaugeValue, 1)
	for _, m := range f.Pending {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(m.Count), string(m.Status), string(m.Topic))
	}
	for status, n := range f.Enrollments {
		ch <- prometheus.MustNewConstMetric(enrollmentsDesc, prometheus.GaugeValue, float64(n), string(status))
	}
	for status, n := range f.Campaigns {
		ch <- prometheus.MustNewConstMetric(campaignsDesc, prometheus.GaugeValue, float64(n), status)
	}
	for _, p := range f.Sending {
		ch <- prometheus.MustNewConstMetric(campaignAudienceDesc, prometheus.GaugeValue, float64(p.Audience), label(p.CampaignID))
		ch <- prometheus.MustNewConstMetric(campaignSentDesc, prometheus.GaugeValue, float64(p.Sent), label(p.CampaignID))
	}
	ch <- prometheus.MustNewConstMetric(reconcilerLagDesc, prometheus.GaugeValue, f.OldestDue.Seconds())
}

// figures returns the figures read within the TTL, or reads them; nil
// when they cannot be read. Concurrent scrapes wait for one read.
func (c *figuresCollector) figures() *nurture.Figures {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	if c.last != nil && now.Sub(c.readAt) < c.cfg.TTL {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	f, err := c.cfg.Read(ctx)
	if err != nil {
		c.cfg.Logger.Warn("metrics: read the figures", "err", err)
		c.last = nil
		return nil
	}
	c.last, c.readAt = f, now
	return f
}
