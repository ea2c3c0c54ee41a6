package config_test

import (
	"context"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

// `docker compose --profile monitoring` adds Prometheus and Grafana wired to
// the files of deploy/ and to the nurture services: every file mounted
// exists, Prometheus loads the alert rules it is given and scrapes each api
// and worker service on the port of its NURTURE_METRICS_LISTEN, and Grafana
// finds Prometheus and the dashboard where its provisioning looks.
func TestComposeMonitoringProfile(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{composeFile}, cli.WithName("nurture-config-test"),
		cli.WithProfiles([]string{"monitoring"}))
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "load docker-compose.yml with the monitoring profile")

	// Without the profile, neither runs.
	plain := loadCompose(t)
	for _, name := range []string{"prometheus", "grafana"} {
		require.NotContains(t, plain.Services, name, "%s runs only with --profile monitoring", name)
	}

	prom := service(t, p, "prometheus")
	grafana := service(t, p, "grafana")
	mounts := map[string]map[string]string{} // service -> target -> source
	for _, svc := range []types.ServiceConfig{prom, grafana} {
		mounts[svc.Name] = map[string]string{}
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			_, err := os.Stat(v.Source)
			require.NoError(t, err, "service %s mounts %s, which is not in the repository", svc.Name, v.Source)
			mounts[svc.Name][v.Target] = v.Source
		}
	}

	// Prometheus: its configuration, the rules it names, the targets.
	var promCfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, mounts["prometheus"]["/etc/prometheus/prometheus.yml"], &promCfg)
	require.NotEmpty(t, promCfg.RuleFiles)
	for _, f := range promCfg.RuleFiles {
		src, ok := mounts["prometheus"][f]
		require.True(t, ok, "prometheus.yml loads %s, which is not mounted", f)
		require.Equal(t, "alerts.yml", filepath.Base(src))
	}
	scraped := map[string]string{} // service -> port
	for _, sc := range promCfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				require.NoError(t, err, target)
				scraped[host] = port
			}
		}
	}
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		if svc.Build == nil || len(svc.Command) == 0 || !slices.Contains([]string{"api", "worker", "all"}, svc.Command[0]) {
			continue
		}
		listen := envOf(svc)("NURTURE_METRICS_LISTEN")
		require.NotEmpty(t, listen, "service %s runs `nurture %s` without NURTURE_METRICS_LISTEN: Prometheus would need a key", name, svc.Command[0])
		cmd, _ := config.LookupCommand(svc.Command[0])
		require.Contains(t, cmd.EnvNames(), "NURTURE_METRICS_LISTEN")
		_, port, err := net.SplitHostPort(listen)
		require.NoError(t, err)
		require.Equal(t, port, scraped[name], "prometheus.yml scrapes service %s on the port of its NURTURE_METRICS_LISTEN", name)
		delete(scraped, name)
	}
	require.Empty(t, scraped, "prometheus.yml scrapes hosts that are no nurture api or worker service")

	// Grafana: the data source is the prometheus service; the dashboard
	// is where the provisioning looks.
	var ds struct {
		Datasources []struct {
			UID string `yaml:"uid"`
			URL string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, mounts["grafana"]["/etc/grafana/provisioning/datasources/nurture.yml"], &ds)
	require.Len(t, ds.Datasources, 1)
	require.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
	require.Equal(t, "prometheus", ds.Datasources[0].UID, "the dashboard's panels name this uid")
	var dashboards struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, mounts["grafana"]["/etc/grafana/provisioning/dashboards/nurture.yml"], &dashboards)
	require.Len(t, dashboards.Providers, 1)
	src, ok := mounts["grafana"][path.Join(dashboards.Providers[0].Options.Path, "nurture.json")]
	require.True(t, ok, "no nurture.json mounted in %s", dashboards.Providers[0].Options.Path)
	require.Equal(t, "nurture.json", filepath.Base(src))
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	require.NotEmpty(t, file, "file not mounted")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, v), file)
}
