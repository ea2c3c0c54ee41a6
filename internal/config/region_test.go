package config_test

import (
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

func TestRegionSettings(t *testing.T) {
	t.Parallel()
	base := map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": testSecret + "x"}
	tests := []struct {
		name        string
		cmd         string
		args        []string
		env         map[string]string
		wantRegions []string
		wantDefault string
		wantServed  []string
		wantRelays  map[string]config.RegionRelay
		wantErr     string
	}{
		{name: "no regions: unchanged", cmd: "worker"},
		{name: "default is the first declared", cmd: "worker",
			env:         map[string]string{"NURTURE_REGIONS": "eu,us", "NURTURE_SMTP_URL": "smtp://eu.relay:25", "NURTURE_SMTP_URL_US": "smtp://us.relay:25"},
			wantRegions: []string{"eu", "us"}, wantDefault: "eu", wantServed: []string{"eu", "us"},
			wantRelays: map[string]config.RegionRelay{
				"eu": {SMTPURL: "smtp://eu.relay:25", DKIMSelector: "nurture"},
				"us": {SMTPURL: "smtp://us.relay:25", DKIMSelector: "nurture"}}},
		{name: "a named default and a worker of one region", cmd: "worker", args: []string{"--regions", "us-east"},
			env: map[string]string{"NURTURE_REGIONS": "eu,us-east", "NURTURE_DEFAULT_REGION": "us-east", "NURTURE_SMTP_URL_US_EAST": "smtps://us.relay:465",
				"NURTURE_DKIM_DOMAIN_US_EAST": "us.acme.com", "NURTURE_DKIM_KEY_FILE_US_EAST": "/keys/us.pem", "NURTURE_DKIM_SELECTOR_US_EAST": "us1"},
			wantRegions: []string{"eu", "us-east"}, wantDefault: "us-east", wantServed: []string{"us-east"},
			wantRelays: map[string]config.RegionRelay{"us-east": {SMTPURL: "smtps://us.relay:465", DKIMDomain: "us.acme.com", DKIMKeyFile: "/keys/us.pem", DKIMSelector: "us1"}}},
		{name: "global DKIM as the fallback", cmd: "worker",
			env:         map[string]string{"NURTURE_REGIONS": "eu", "NURTURE_DKIM_DOMAIN": "acme.com", "NURTURE_DKIM_KEY_FILE": "/k.pem"},
			wantRegions: []string{"eu"}, wantDefault: "eu", wantServed: []string{"eu"},
			wantRelays: map[string]config.RegionRelay{"eu": {SMTPURL: "smtp://127.0.0.1:1025", DKIMDomain: "acme.com", DKIMKeyFile: "/k.pem", DKIMSelector: "nurture"}}},
		{name: "the api reads no relay", cmd: "api", env: map[string]string{"NURTURE_REGIONS": "eu,us"},
			wantRegions: []string{"eu", "us"}, wantDefault: "eu", wantServed: []string{"eu", "us"}},
		{name: "a worker of eu needs no relay of us", cmd: "worker", args: []string{"--regions=eu"},
			env:         map[string]string{"NURTURE_REGIONS": "eu,us", "NURTURE_DEFAULT_REGION": "us", "NURTURE_SMTP_URL_EU": "smtp://eu.relay:25"},
			wantRegions: []string{"eu", "us"}, wantDefault: "us", wantServed: []string{"eu"},
			wantRelays: map[string]config.RegionRelay{"eu": {SMTPURL: "smtp://eu.relay:25", DKIMSelector: "nurture"}}},

		{name: "bad list", cmd: "api", env: map[string]string{"NURTURE_REGIONS": "EU,us"}, wantErr: "NURTURE_REGIONS"},
		{name: "region twice", cmd: "api", env: map[string]string{"NURTURE_REGIONS": "eu,eu"}, wantErr: "NURTURE_REGIONS"},
		{name: "default not declared", cmd: "api", env: map[string]string{"NURTURE_REGIONS": "eu,us", "NURTURE_DEFAULT_REGION": "in"},
			wantErr: "invalid NURTURE_DEFAULT_REGION"},
		{name: "default without regions", cmd: "api", env: map[string]string{"NURTURE_DEFAULT_REGION": "eu"}, wantErr: "invalid NURTURE_DEFAULT_REGION"},
		{name: "worker region not declared", cmd: "worker", args: []string{"--regions", "in"},
			env: map[string]string{"NURTURE_REGIONS": "eu"}, wantErr: "invalid --regions"},
		{name: "worker regions without regions", cmd: "worker", env: map[string]string{"NURTURE_WORKER_REGIONS": "eu"},
			wantErr: "invalid NURTURE_WORKER_REGIONS"},
		{name: "missing relay", cmd: "worker", env: map[string]string{"NURTURE_REGIONS": "eu,us"}, wantErr: "missing NURTURE_SMTP_URL_US"},
		{name: "missing relay in all", cmd: "all", env: map[string]string{"NURTURE_REGIONS": "eu,us-west"}, wantErr: "missing NURTURE_SMTP_URL_US_WEST"},
		{name: "bad relay", cmd: "worker", env: map[string]string{"NURTURE_REGIONS": "eu,us", "NURTURE_SMTP_URL_US": "http://x"},
			wantErr: "invalid NURTURE_SMTP_URL_US"},
		{name: "half a region's DKIM", cmd: "worker", env: map[string]string{"NURTURE_REGIONS": "eu", "NURTURE_DKIM_DOMAIN_EU": "eu.acme.com"},
			wantErr: "NURTURE_DKIM_KEY_FILE_EU"},
		{name: "bad selector", cmd: "worker", env: map[string]string{"NURTURE_REGIONS": "eu", "NURTURE_DKIM_SELECTOR_EU": "a b"},
			wantErr: "invalid NURTURE_DKIM_SELECTOR_EU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := maps.Clone(base)
			maps.Copy(vars, tt.env)
			c, err := config.Load(command(t, tt.cmd), tt.args, env(vars), io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantRegions, c.Regions)
			require.Equal(t, tt.wantDefault, c.DefaultRegion)
			require.Equal(t, tt.wantServed, c.WorkerRegions)
			require.Equal(t, tt.wantRelays, c.RegionRelays)
		})
	}
}

// FuzzRegionSettings feeds NURTURE_REGIONS outside values: the load
// either fails naming the variable or declares valid, distinct regions
// with the first as the default.
func FuzzRegionSettings(f *testing.F) {
	for _, s := range []string{"", "eu", "eu,us", "EU", " eu , in ", "eu,,", "a-", "x,y,x"} {
		f.Add(s)
	}
	cmd, _ := config.LookupCommand("api")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := config.Load(cmd, nil, env(map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": testSecret + "x", "NURTURE_REGIONS": v}), io.Discard)
		if err != nil {
			if !strings.Contains(err.Error(), "NURTURE_REGIONS") {
				t.Fatalf("error for %q does not name the variable: %v", v, err)
			}
			return
		}
		if len(c.Regions) == 0 {
			if c.DefaultRegion != "" {
				t.Fatalf("no regions from %q but default %q", v, c.DefaultRegion)
			}
			return
		}
		if c.DefaultRegion != c.Regions[0] {
			t.Fatalf("default %q, want the first of %q", c.DefaultRegion, c.Regions)
		}
		seen := map[string]bool{}
		for _, r := range c.Regions {
			if seen[r] || r != strings.ToLower(r) || strings.ContainsAny(r, " ,._") || r == "" {
				t.Fatalf("bad region %q from %q", r, v)
			}
			seen[r] = true
		}
	})
}
