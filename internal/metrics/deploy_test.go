package metrics_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/metrics"
	"github.com/nurture-email/nurture/internal/testkit"
)

// The files of deploy/ that Prometheus and Grafana load.
var (
	alertsFile    = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	alertTests    = filepath.Join("..", "..", "deploy", "prometheus", "alerts_test.yml")
	promConfig    = filepath.Join("..", "..", "deploy", "prometheus", "prometheus.yml")
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "nurture.json")
)

// hitCounts is a metrics.HitCounts with nothing counted.
type hitCounts struct{}

func (hitCounts) HitsRecorded() int64     { return 0 }
func (hitCounts) DroppedHits() int64      { return 0 }
func (hitCounts) QueuedHits() int         { return 0 }
func (hitCounts) RateLimitSkipped() int64 { return 0 }

// exported lists every series name a Nurture process exports: the
// registry's with each observer called once and figures of every kind,
// asynq's queue collector's, and Go's and the process's.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := metrics.New()
	reg.IngestRequest("track", 200)
	reg.IngestCalls("track", "accepted", 1)
	reg.IngestDuplicates(1)
	reg.BounceReports("complaint", "ses", 1)
	reg.SMTPSend("relay:25", "2xx", time.Millisecond)
	reg.RelayThrottle("passed")
	reg.MessageOutcome("sent", "marketing")
	reg.ReportsSource(false, "lagging")
	reg.WatchHits(hitCounts{})
	reg.WatchFigures(metrics.FiguresConfig{Read: func(context.Context) (*nurture.Figures, error) {
		return &nurture.Figures{
			Pending:     []nurture.MessageFigure{{Status: nurture.StatusQueued, Topic: nurture.TopicMarketing, Count: 1}},
			Enrollments: map[nurture.EnrollmentStatus]int64{nurture.EnrollmentActive: 1},
			Campaigns:   map[string]int64{"sending": 1},
			Sending:     []nurture.CampaignProgress{{CampaignID: 1, Audience: 2, Sent: 1}},
		}, nil
	}})
	fams, err := reg.Gatherer().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	// asynq's collector asks Redis, and reports the queues it holds.
	opt, err := asynq.ParseRedisURI(testkit.RedisURL(t))
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	defer client.Close()
	_, err = client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue("default"), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)
	inspector := asynq.NewInspector(opt)
	defer inspector.Close()
	queues := metrics.New()
	queues.WatchQueues(inspector)
	fams, err = queues.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		names[f.GetName()] = true
	}
	require.True(t, names["asynq_queue_latency_seconds"], "asynq's collector exports the queues' latency")
	return names
}

// seriesIn finds the names of the series an expression reads.
var seriesIn = regexp.MustCompile(`\b(?:nurture|asynq|go|process)_[a-z0-9_]+\b`)

// alertRules is the shape of a Prometheus rule file.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The alert rules of deploy/prometheus/alerts.yml: the alerts the README
// promises are there, each well formed, reading only series the engine
// exports (a renamed metric would leave an alert that can never fire).
func TestAlertRules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var rules alertRules
	require.NoError(t, yaml.Unmarshal(data, &rules))
	names := exported(t)

	var alerts []string
	for _, g := range rules.Groups {
		require.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without an alert name", g.Name)
			require.NotContains(t, alerts, r.Alert, "alert %s twice", r.Alert)
			alerts = append(alerts, r.Alert)
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], "%s: severity", r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
			require.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
			if r.For != "" {
				_, err := model.ParseDuration(r.For)
				require.NoError(t, err, "%s: for", r.Alert)
			}
			require.True(t, balanced(r.Expr), "%s: unbalanced brackets in %s", r.Alert, r.Expr)
			series := seriesIn.FindAllString(r.Expr, -1)
			require.NotEmpty(t, series, "%s reads no series of Nurture's", r.Alert)
			for _, s := range series {
				require.True(t, names[s], "%s reads %s, which no Nurture process exports", r.Alert, s)
			}
		}
	}
	for _, want := range []string{"NurtureReconcilerLag", "NurtureHitsDropped", "NurtureComplaintRateHigh",
		"NurtureComplaintRateCritical", "NurtureBounceRateHigh", "NurtureQueueLatencyHigh"} {
		require.Contains(t, alerts, want)
	}
}

// Where promtool is installed, it checks the rules and the scrape
// configuration as Prometheus would load them, and runs the rules' unit
// tests (deploy/prometheus/alerts_test.yml: each alert fires on the series
// that should fire it, and not below).
func TestAlertRulesWithPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH (go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0 builds it; TestAlertRules checks the rules without it)")
	}
	// prometheus.yml names the rules where compose mounts them.
	promYML, err := os.ReadFile(promConfig)
	require.NoError(t, err)
	abs, err := filepath.Abs(alertsFile)
	require.NoError(t, err)
	local := filepath.Join(t.TempDir(), "prometheus.yml")
	require.NoError(t, os.WriteFile(local, []byte(strings.ReplaceAll(string(promYML), "/etc/prometheus/alerts.yml", abs)), 0o600))
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTests}, {"check", "config", local}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// The Grafana dashboard: valid JSON, every panel on the provisioned data
// source, every query reading series the engine exports.
func TestDashboard(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dash))
	require.Equal(t, "nurture", dash.UID)
	names := exported(t)
	read := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		require.Equal(t, "prometheus", p.Datasource.UID, "panel %q", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.True(t, balanced(tg.Expr), "panel %q: %s", p.Title, tg.Expr)
			for _, s := range seriesIn.FindAllString(tg.Expr, -1) {
				require.True(t, names[s], "panel %q reads %s, which no Nurture process exports", p.Title, s)
				read[strings.TrimSuffix(s, "_bucket")] = true
			}
		}
	}
	// Every series of the engine's own has a panel.
	for name := range names {
		if strings.HasPrefix(name, "nurture_") && !strings.HasSuffix(name, "_count") && !strings.HasSuffix(name, "_sum") &&
			!strings.HasSuffix(name, "_bucket") {
			require.True(t, read[name], "no panel shows %s", name)
		}
	}
	for _, s := range []string{"asynq_queue_size", "asynq_queue_latency_seconds"} {
		require.True(t, read[s], "no panel shows %s", s)
	}
}

// balanced reports whether the brackets of a PromQL expression pair up.
func balanced(expr string) bool {
	var open []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case slices.Contains([]rune("([{"), r):
			open = append(open, r)
		case pairs[r] != 0:
			if len(open) == 0 || open[len(open)-1] != pairs[r] {
				return false
			}
			open = open[:len(open)-1]
		}
	}
	return len(open) == 0 && !inString
}
