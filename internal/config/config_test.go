package config_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

// testSecret passes the secret check of every command that reads
// NURTURE_SECRET (made with openssl rand -hex 32).
const testSecret = "6c686e1b6ad8da7dba8c8b8d7841a585abffcc7def3e4162988f272585d2bd6d"

func command(t *testing.T, name string) config.Command {
	t.Helper()
	cmd, ok := config.LookupCommand(name)
	require.True(t, ok, "no command %q", name)
	return cmd
}

// env returns a getenv that knows only vars.
// The tests of other settings give the secret and, with it, this erasure
// key, unless they give one of their own (TestErasureKey).
func env(vars map[string]string) func(string) string {
	return func(name string) string {
		if _, ok := vars[name]; !ok && name == "NURTURE_ERASURE_KEY" && vars["NURTURE_SECRET"] != "" {
			return testErasureKey
		}
		return vars[name]
	}
}

const testErasureKey = "0b7f3c5e9a1d4f2b8c6e0a3d5f7b9c1e2a4c6e8f0b2d4f6a8c0e2a4c6e8f0b2d"

func TestErasureKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" accepted
	}{
		{name: "missing", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": ""}, want: "NURTURE_ERASURE_KEY is required"},
		{name: "made up with --dev", args: []string{"--dev"}, env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": ""}},
		{name: "weak", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": strings.Repeat("a", 40)}, want: "invalid NURTURE_ERASURE_KEY: has a run of repeated"},
		{name: "short", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": "short"}, want: "invalid NURTURE_ERASURE_KEY: is 5 characters"},
		{name: "the secret itself", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": testSecret}, want: "give erasure a key of its own"},
		{name: "strong", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_ERASURE_KEY": config.NewSecret()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(command(t, "api"), tc.args, env(tc.env), io.Discard)
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(c.ErasureKey), config.MinSecretLength)
		})
	}
}

func TestSettingsTable(t *testing.T) {
	t.Parallel()

	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range config.Settings {
		require.False(t, flags[s.Flag], "flag --%s declared twice", s.Flag)
		require.False(t, envs[s.Env], "variable %s declared twice", s.Env)
		flags[s.Flag], envs[s.Env] = true, true
		require.True(t, strings.HasPrefix(s.Env, "NURTURE_"), "%s lacks the NURTURE_ prefix", s.Env)
		require.NotEmpty(t, s.Usage, "--%s has no usage text", s.Flag)
	}
	read := map[string]bool{}
	for _, cmd := range config.Commands {
		for _, f := range cmd.Settings {
			require.True(t, flags[f], "command %s reads --%s, which is not in Settings", cmd.Name, f)
			read[f] = true
		}
	}
	for _, s := range config.Settings {
		require.True(t, read[s.Flag], "no command reads --%s", s.Flag)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()

	c, err := config.Load(command(t, "all"), nil, env(map[string]string{"NURTURE_SECRET": testSecret}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, &config.Config{
		DatabaseURL:           "postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable",
		DatabasePooler:        "none",
		DatabaseReplicaMaxLag: 30 * time.Second,
		RedisURL:              "redis://127.0.0.1:6379/0",
		SMTPURL:               "smtp://127.0.0.1:1025",
		SMTPPool:              4,
		PublicURL:             "http://localhost:8080",
		Listen:                ":8080",
		Secret:                testSecret,
		ErasureKey:            testErasureKey,
		From:                  `"Nurture" <hello@nurture.localhost>`,
		ProductName:           "Acme Cloud",
		ProductURL:            "https://app.example.com",
		PostalAddress:         "Acme Inc., 1 Example Street, Springfield",
		IngestRate:            500,
		IngestBurst:           1000,
		SMTPRate:              100,
		FrequencyCap:          3,
		DefaultTimezone:       "UTC",
		DKIMSelector:          "nurture",
		SoftBounceLimit:       3,
		LogFormat:             "",
		LogLevel:              "info",
		Concurrency:           10,
		ShutdownTimeout:       20 * time.Second,

		EnrichTTL:            30 * 24 * time.Hour,
		EnrichConcurrency:    4,
		CampaignLanes:        2,
		EnrichProviderHeader: "Authorization",
		EventRetention:       395 * 24 * time.Hour,
		HitRetention:         395 * 24 * time.Hour,
	}, c)

	c, err = config.Load(command(t, "healthcheck"), nil, env(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080/healthz", c.HealthURL)

	c, err = config.Load(command(t, "demo"), nil, env(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080", c.APIURL)
}

// Every command starts on its defaults alone (plus a secret where one is
// required): a default that fails its own validation would be a trap.
func TestLoadDefaultsAreValid(t *testing.T) {
	t.Parallel()

	for _, cmd := range config.Commands {
		t.Run(cmd.Name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(cmd, nil, env(map[string]string{"NURTURE_SECRET": testSecret}), io.Discard)
			require.NoError(t, err)
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		cmd   string
		env   map[string]string
		args  []string
		check func(t *testing.T, c *config.Config)
	}{
		{
			name: "env overrides default",
			cmd:  "api",
			env:  map[string]string{"NURTURE_LISTEN": "127.0.0.1:9090", "NURTURE_LOG_LEVEL": "debug", "NURTURE_SECRET": testSecret},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "127.0.0.1:9090", c.Listen)
				require.Equal(t, "debug", c.LogLevel)
			},
		},
		{
			name: "flag overrides env",
			cmd:  "worker",
			env:  map[string]string{"NURTURE_CONCURRENCY": "3", "NURTURE_SMTP_URL": "smtp://relay:25", "NURTURE_SECRET": testSecret},
			args: []string{"--concurrency", "7", "--smtp-url=smtps://relay.example.com:465"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, 7, c.Concurrency)
				require.Equal(t, "smtps://relay.example.com:465", c.SMTPURL)
			},
		},
		{
			name: "redis through sentinels",
			cmd:  "worker",
			env:  map[string]string{"NURTURE_REDIS_URL": "redis-sentinel://:pw@s1:26379,s2:26379,s3:26379/nurture/1", "NURTURE_SECRET": testSecret},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "redis-sentinel://:pw@s1:26379,s2:26379,s3:26379/nurture/1", c.RedisURL)
			},
		},
		{
			name: "flag overrides default",
			cmd:  "demo",
			args: []string{"-api-url", "http://api:8080/"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "http://api:8080", c.APIURL)
			},
		},
		{
			name: "dev switch alone",
			cmd:  "api",
			args: []string{"--dev"},
			check: func(t *testing.T, c *config.Config) {
				require.True(t, c.Dev)
			},
		},
		{
			name: "dev switch followed by other flags",
			cmd:  "all",
			args: []string{"--dev", "--listen", ":9091"},
			check: func(t *testing.T, c *config.Config) {
				require.True(t, c.Dev)
				require.Equal(t, ":9091", c.Listen)
			},
		},
		{
			name: "dev flag false overrides env true",
			cmd:  "api",
			env:  map[string]string{"NURTURE_DEV": "true", "NURTURE_SECRET": testSecret},
			args: []string{"--dev=false"},
			check: func(t *testing.T, c *config.Config) {
				require.False(t, c.Dev)
			},
		},
		{
			name: "dev from env",
			cmd:  "worker",
			env:  map[string]string{"NURTURE_DEV": "1"},
			check: func(t *testing.T, c *config.Config) {
				require.True(t, c.Dev)
			},
		},
		{
			name: "values are trimmed and normalised",
			cmd:  "all",
			env: map[string]string{
				"NURTURE_SECRET":          testSecret,
				"NURTURE_PUBLIC_URL":      " https://links.example.com/ ",
				"NURTURE_FROM":            "hello@acme.com",
				"NURTURE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,",
				"NURTURE_LISTEN":          ":0",
				"NURTURE_SES_TOPICS":      " arn:aws:sns:us-east-1:123456789012:ses-bounces,arn:aws-cn:sns:cn-north-1:123456789012:b.fifo, arn:aws:sns:us-east-1:123456789012:ses-bounces,",
			},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, []string{"arn:aws:sns:us-east-1:123456789012:ses-bounces", "arn:aws-cn:sns:cn-north-1:123456789012:b.fifo"}, c.SESTopics)
				require.Equal(t, "https://links.example.com", c.PublicURL)
				require.Equal(t, "<hello@acme.com>", c.From)
				require.Equal(t, []string{"10.0.0.0/8", "192.168.1.1"}, c.TrustedProxies)
				require.Equal(t, ":0", c.Listen)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(command(t, tt.cmd), tt.args, env(tt.env), io.Discard)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		cmd   string
		env   map[string]string
		args  []string
		names string // the variable or flag the error must name
	}{
		{"database url nonsense", "migrate", map[string]string{"NURTURE_DATABASE_URL": "nonsense"}, nil, "NURTURE_DATABASE_URL"},
		{"database url wrong scheme", "migrate", map[string]string{"NURTURE_DATABASE_URL": "mysql://u:p@db/nurture"}, nil, "NURTURE_DATABASE_URL"},
		{"database url bad port", "api", map[string]string{"NURTURE_DATABASE_URL": "postgres://db:99999/nurture"}, nil, "NURTURE_DATABASE_URL"},
		{"database url by flag", "migrate", nil, []string{"--database-url", "nonsense"}, "--database-url"},
		{"replica url nonsense", "api", map[string]string{"NURTURE_DATABASE_REPLICA_URL": "nonsense"}, nil, "NURTURE_DATABASE_REPLICA_URL"},
		{"replica url wrong scheme", "all", map[string]string{"NURTURE_DATABASE_REPLICA_URL": "mysql://u:p@replica/nurture"}, nil, "NURTURE_DATABASE_REPLICA_URL"},
		{"replica url without host", "api", map[string]string{"NURTURE_DATABASE_REPLICA_URL": "postgres:///nurture"}, nil, "NURTURE_DATABASE_REPLICA_URL"},
		{"replica url bad port", "api", map[string]string{"NURTURE_DATABASE_REPLICA_URL": "postgres://replica:65536/nurture"}, nil, "NURTURE_DATABASE_REPLICA_URL"},
		{"replica url by flag", "api", nil, []string{"--database-replica-url=replica:5432"}, "--database-replica-url"},
		{"replica max lag without unit", "api", map[string]string{"NURTURE_DATABASE_REPLICA_MAX_LAG": "30"}, nil, "NURTURE_DATABASE_REPLICA_MAX_LAG"},
		{"replica max lag below a second", "api", map[string]string{"NURTURE_DATABASE_REPLICA_MAX_LAG": "500ms"}, nil, "NURTURE_DATABASE_REPLICA_MAX_LAG"},
		{"replica max lag over a day", "all", map[string]string{"NURTURE_DATABASE_REPLICA_MAX_LAG": "25h"}, nil, "NURTURE_DATABASE_REPLICA_MAX_LAG"},
		{"replica max lag by flag", "api", nil, []string{"--database-replica-max-lag=-1s"}, "--database-replica-max-lag"},
		{"redis url without scheme", "worker", map[string]string{"NURTURE_REDIS_URL": "localhost:6379"}, nil, "NURTURE_REDIS_URL"},
		{"redis url bad database", "worker", map[string]string{"NURTURE_REDIS_URL": "redis://redis:6379/zero"}, nil, "NURTURE_REDIS_URL"},
		{"redis url bad port", "api", map[string]string{"NURTURE_REDIS_URL": "redis://redis:0"}, nil, "NURTURE_REDIS_URL"},
		{"redis url cluster", "worker", map[string]string{"NURTURE_REDIS_URL": "redis-cluster://n1:7000,n2:7000"}, nil, "NURTURE_REDIS_URL"},
		{"redis sentinel url without master", "api", map[string]string{"NURTURE_REDIS_URL": "redis-sentinel://s1:26379,s2:26379"}, nil, "NURTURE_REDIS_URL"},
		{"redis sentinel url bad sentinel port", "worker", nil, []string{"--redis-url", "redis-sentinel://s1:26379,s2:x/m/0"}, "--redis-url"},
		{"smtp url tls bogus", "worker", map[string]string{"NURTURE_SMTP_URL": "smtp://mailpit:1025?tls=bogus"}, nil, "NURTURE_SMTP_URL"},
		{"smtp url bad port", "worker", map[string]string{"NURTURE_SMTP_URL": "smtp://relay:70000"}, nil, "NURTURE_SMTP_URL"},
		{"smtp url wrong scheme", "worker", map[string]string{"NURTURE_SMTP_URL": "http://relay:25"}, nil, "NURTURE_SMTP_URL"},
		{"smtp url by flag", "all", nil, []string{"--smtp-url=smtp://relay:25?tls=bogus"}, "--smtp-url"},
		{"smtp pool zero", "worker", map[string]string{"NURTURE_SMTP_POOL": "0"}, nil, "NURTURE_SMTP_POOL"},
		{"smtp helo with a space", "worker", map[string]string{"NURTURE_SMTP_HELO": "mail acme.com"}, nil, "NURTURE_SMTP_HELO"},
		{"smtp helo with CRLF", "worker", map[string]string{"NURTURE_SMTP_HELO": "mail.acme.com\r\nRSET"}, nil, "NURTURE_SMTP_HELO"},
		{"smtp helo empty label", "all", map[string]string{"NURTURE_SMTP_HELO": "mail..acme.com"}, nil, "NURTURE_SMTP_HELO"},
		{"smtp helo by flag", "worker", nil, []string{"--smtp-helo=-mail.acme.com"}, "--smtp-helo"},
		{"public url without scheme", "api", map[string]string{"NURTURE_PUBLIC_URL": "links.example.com"}, nil, "NURTURE_PUBLIC_URL"},
		{"public url with query", "api", map[string]string{"NURTURE_PUBLIC_URL": "https://links.example.com/?a=b"}, nil, "NURTURE_PUBLIC_URL"},
		{"listen without port", "api", map[string]string{"NURTURE_LISTEN": "8080"}, nil, "NURTURE_LISTEN"},
		{"listen bad port", "api", map[string]string{"NURTURE_LISTEN": ":80800"}, nil, "NURTURE_LISTEN"},
		{"listen port not a number", "api", map[string]string{"NURTURE_LISTEN": ":web"}, nil, "NURTURE_LISTEN"},
		{"listen by flag", "all", nil, []string{"--listen", "localhost"}, "--listen"},
		{"from not an address", "worker", map[string]string{"NURTURE_FROM": "Acme hello at acme.com"}, nil, "NURTURE_FROM"},
		{"from with a newline", "worker", map[string]string{"NURTURE_FROM": "a@b.c\nBcc: x@y.z"}, nil, "NURTURE_FROM"},
		{"duration without unit", "api", map[string]string{"NURTURE_SHUTDOWN_TIMEOUT": "20"}, nil, "NURTURE_SHUTDOWN_TIMEOUT"},
		{"duration negative", "worker", map[string]string{"NURTURE_SHUTDOWN_TIMEOUT": "-5s"}, nil, "NURTURE_SHUTDOWN_TIMEOUT"},
		{"duration by flag", "api", nil, []string{"--shutdown-timeout=soon"}, "--shutdown-timeout"},
		{"concurrency zero", "worker", map[string]string{"NURTURE_CONCURRENCY": "0"}, nil, "NURTURE_CONCURRENCY"},
		{"concurrency with a newline", "worker", map[string]string{"NURTURE_CONCURRENCY": "1\n2"}, nil, "NURTURE_CONCURRENCY"},
		{"concurrency by flag", "worker", nil, []string{"--concurrency", "0"}, "--concurrency"},
		{"trusted proxy bad CIDR", "api", map[string]string{"NURTURE_TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "NURTURE_TRUSTED_PROXIES"},
		{"trusted proxy host name", "api", map[string]string{"NURTURE_TRUSTED_PROXIES": "10.0.0.1,proxy.example.com"}, nil, "NURTURE_TRUSTED_PROXIES"},
		{"ses topic not an ARN", "api", map[string]string{"NURTURE_SES_TOPICS": "ses-bounces"}, nil, "NURTURE_SES_TOPICS"},
		{"ses topic of another service", "all", map[string]string{"NURTURE_SES_TOPICS": "arn:aws:sqs:us-east-1:123456789012:q"}, nil, "NURTURE_SES_TOPICS"},
		{"ses topic with a short account", "api", nil, []string{"--ses-topics", "arn:aws:sns:us-east-1:1234:t"}, "--ses-topics"},
		{"log format", "migrate", map[string]string{"NURTURE_LOG_FORMAT": "xml"}, nil, "NURTURE_LOG_FORMAT"},
		{"log level", "migrate", map[string]string{"NURTURE_LOG_LEVEL": "loud"}, nil, "NURTURE_LOG_LEVEL"},
		{"dev not a boolean", "api", map[string]string{"NURTURE_DEV": "maybe"}, nil, "NURTURE_DEV"},
		{"dev flag not a boolean", "api", nil, []string{"--dev=maybe"}, "--dev"},
		{"health url", "healthcheck", map[string]string{"NURTURE_HEALTH_URL": "127.0.0.1:8080/healthz"}, nil, "NURTURE_HEALTH_URL"},
		{"api url", "demo", map[string]string{"NURTURE_API_URL": "ftp://api"}, nil, "NURTURE_API_URL"},
		{"enrich ttl without unit", "worker", map[string]string{"NURTURE_ENRICH_TTL": "30"}, nil, "NURTURE_ENRICH_TTL"},
		{"enrich ttl of seconds", "worker", map[string]string{"NURTURE_ENRICH_TTL": "5s"}, nil, "NURTURE_ENRICH_TTL"},
		{"enrich ttl of zero days", "all", map[string]string{"NURTURE_ENRICH_TTL": "0d"}, nil, "NURTURE_ENRICH_TTL"},
		{"event retention without unit", "worker", map[string]string{"NURTURE_EVENT_RETENTION": "395"}, nil, "NURTURE_EVENT_RETENTION"},
		{"hit retention of minutes", "worker", map[string]string{"NURTURE_HIT_RETENTION": "30m"}, nil, "NURTURE_HIT_RETENTION"},
		{"marketing consent not a bool", "api", map[string]string{"NURTURE_REQUIRE_MARKETING_CONSENT": "maybe"}, nil, "NURTURE_REQUIRE_MARKETING_CONSENT"},
		{"enrich dns a name", "worker", map[string]string{"NURTURE_ENRICH_DNS": "dns.google:53"}, nil, "NURTURE_ENRICH_DNS"},
		{"enrich dns bad port", "enrich", map[string]string{"NURTURE_ENRICH_DNS": "127.0.0.1:99999"}, nil, "NURTURE_ENRICH_DNS"},
		{"enrich with dev needs local dns", "worker", map[string]string{"NURTURE_ENRICH": "true", "NURTURE_DEV": "true"}, nil, "NURTURE_ENRICH_DNS"},
		{"enrich with dev refuses outside dns", "all", map[string]string{"NURTURE_ENRICH": "true", "NURTURE_DEV": "true", "NURTURE_ENRICH_DNS": "8.8.8.8:53"}, nil, "NURTURE_ENRICH_DNS"},
		{"enrich provider url", "worker", map[string]string{"NURTURE_ENRICH_PROVIDER_URL": "api.example.com/{domain}"}, nil, "NURTURE_ENRICH_PROVIDER_URL"},
		{"enrich provider fields without field", "worker", map[string]string{"NURTURE_ENRICH_PROVIDER_FIELDS": "company.name"}, nil, "NURTURE_ENRICH_PROVIDER_FIELDS"},
		{"enrich provider fields twice", "enrich", nil, []string{"--enrich-provider-fields", "a=name,a=industry"}, "--enrich-provider-fields"},
		{"unknown flag", "api", nil, []string{"--typo=1"}, "typo"},
		{"flag of another command", "migrate", nil, []string{"--smtp-url", "smtp://relay:25"}, "smtp-url"},
		{"stray argument", "worker", nil, []string{"now"}, `"now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"NURTURE_SECRET": testSecret}
			for k, v := range tt.env {
				vars[k] = v
			}
			_, err := config.Load(command(t, tt.cmd), tt.args, env(vars), io.Discard)
			require.Error(t, err)
			msg := err.Error()
			require.NotContains(t, msg, "\n", "the error must be one line")
			require.Contains(t, msg, tt.names, "the error must name where the value came from")
			if strings.HasPrefix(tt.names, "NURTURE_") {
				require.NotContains(t, msg, "--", "a value from the environment must not be blamed on a flag")
			}
		})
	}
}

// Research settings as an operator writes them.
func TestEnrichSettings(t *testing.T) {
	t.Parallel()
	c, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_SECRET": testSecret,
		"NURTURE_ENRICH": "true", "NURTURE_ENRICH_TTL": "7d", "NURTURE_ENRICH_DNS": "10.0.0.2",
		"NURTURE_ENRICH_PROVIDER_FIELDS": " company.name = name , metrics.employees=employees"}), io.Discard)
	require.NoError(t, err)
	require.True(t, c.Enrich)
	require.Equal(t, 7*24*time.Hour, c.EnrichTTL)
	require.Equal(t, "10.0.0.2:53", c.EnrichDNS, "port 53 by default")
	require.Equal(t, map[string]string{"company.name": "name", "metrics.employees": "employees"}, c.EnrichProviderFields)

	c, err = config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_DEV": "true",
		"NURTURE_ENRICH": "true", "NURTURE_ENRICH_TTL": "12h", "NURTURE_ENRICH_DNS": "127.0.0.53:5353"}), io.Discard)
	require.NoError(t, err, "--dev with a DNS server on loopback")
	require.Equal(t, 12*time.Hour, c.EnrichTTL)
}

// Consent and retention settings as an operator writes them.
func TestConsentAndRetentionSettings(t *testing.T) {
	t.Parallel()
	c, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_SECRET": testSecret,
		"NURTURE_REQUIRE_MARKETING_CONSENT": "true", "NURTURE_EVENT_RETENTION": "30d", "NURTURE_HIT_RETENTION": "12h"}), io.Discard)
	require.NoError(t, err)
	require.True(t, c.RequireMarketingConsent)
	require.Equal(t, 30*24*time.Hour, c.EventRetention)
	require.Equal(t, 12*time.Hour, c.HitRetention)
}

func TestSMTPHELO(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"mail.acme.com", "MTA-1.eu.acme.example", "localhost", "host_1.internal"} {
		c, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_SMTP_HELO": v}), io.Discard)
		require.NoError(t, err, v)
		require.Equal(t, v, c.SMTPHELO)
	}
}

// A DKIM domain without a key file, or a key file without a domain, is
// one clear error at start for the commands that send (the api reads
// neither, so a shared environment does not stop it).
func TestDKIMNeedsDomainAndKeyFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
	}{
		{"domain alone", map[string]string{"NURTURE_DKIM_DOMAIN": "acme.com"}, nil, false},
		{"key file alone", map[string]string{"NURTURE_DKIM_KEY_FILE": "/etc/nurture/dkim.pem"}, nil, false},
		{"key file by flag, no domain", nil, []string{"--dkim-key-file", "/etc/nurture/dkim.pem"}, false},
		{"both", map[string]string{"NURTURE_DKIM_DOMAIN": "acme.com", "NURTURE_DKIM_KEY_FILE": "/etc/nurture/dkim.pem"}, nil, true},
		{"neither", nil, nil, true},
	} {
		for _, name := range []string{"api", "worker", "all"} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				vars := map[string]string{"NURTURE_SECRET": testSecret}
				for k, v := range tt.env {
					vars[k] = v
				}
				args := tt.args
				if name == "api" && len(args) > 0 {
					return // the api has no such flag
				}
				_, err := config.Load(command(t, name), args, env(vars), io.Discard)
				if tt.ok || name == "api" {
					require.NoError(t, err)
					return
				}
				require.Error(t, err)
				require.Contains(t, err.Error(), "NURTURE_DKIM_DOMAIN")
				require.Contains(t, err.Error(), "NURTURE_DKIM_KEY_FILE")
				require.NotContains(t, err.Error(), "\n")
			})
		}
	}
}

// Errors say what is wrong without repeating values that may hold passwords.
func TestLoadErrorsHidePasswords(t *testing.T) {
	t.Parallel()

	for _, v := range []string{"mysql://nurture:hunter2@db/nurture", "postgres://nurture:hunter2@db:5432x/nurture"} {
		_, err := config.Load(command(t, "migrate"), nil, env(map[string]string{"NURTURE_DATABASE_URL": v}), io.Discard)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
	}
	for _, v := range []string{"redis://:hunter2@cache:6379x/0", "redis://:hunter2@cache:6379/zero", "redis-sentinel://:hunter2@s1:x/m",
		"redis-sentinel://:hunter2@s1/m/0?sentinel_password=hunter2&x=1"} {
		_, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_REDIS_URL": v}), io.Discard)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
	}
	_, err := config.Load(command(t, "worker"), nil, env(map[string]string{
		"NURTURE_SECRET": testSecret, "NURTURE_SMTP_URL": "smtp://user:hunter2@relay?tls=bogus",
	}), io.Discard)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestSecret(t *testing.T) {
	t.Parallel()
	weak := strings.Repeat("a", 32)
	demo := "demo-only-secret-do-not-use-in-production"
	tests := []struct {
		name string
		cmd  string
		args []string
		env  map[string]string
		want string // in the error, "" for none
	}{
		{name: "required by api", cmd: "api", want: "NURTURE_SECRET is required"},
		{name: "required by worker", cmd: "worker", want: "NURTURE_SECRET is required"},
		{name: "required by all", cmd: "all", want: "NURTURE_SECRET is required"},
		{name: "too short", cmd: "api", env: map[string]string{"NURTURE_SECRET": "tooshort-abcdefghijklmnopqrstuv"}, want: "invalid NURTURE_SECRET: is 31 characters, needs at least 32"},
		{name: "too short from the flag", cmd: "worker", args: []string{"--secret", "tooshort"}, env: map[string]string{"NURTURE_SECRET": testSecret}, want: "invalid --secret: is 8 characters"},
		{name: "too short even in dev", cmd: "api", args: []string{"--dev"}, env: map[string]string{"NURTURE_SECRET": "short"}, want: "invalid NURTURE_SECRET: is 5 characters"},
		{name: "32 times a", cmd: "api", env: map[string]string{"NURTURE_SECRET": weak}, want: "invalid NURTURE_SECRET: has a run of repeated"},
		{name: "the demo secret", cmd: "worker", env: map[string]string{"NURTURE_SECRET": demo}, want: "invalid NURTURE_SECRET: is a demo secret"},
		{name: "a weak previous secret", cmd: "api", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_SECRET_PREVIOUS": demo}, want: "invalid NURTURE_SECRET_PREVIOUS: is a demo secret"},
		{name: "a short previous secret", cmd: "api", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_SECRET_PREVIOUS": "old"}, want: "invalid NURTURE_SECRET_PREVIOUS: is 3 characters"},
		{name: "a short previous secret in dev", cmd: "api", args: []string{"--dev"}, env: map[string]string{"NURTURE_SECRET_PREVIOUS": "old"}, want: "invalid NURTURE_SECRET_PREVIOUS: is 3 characters"},
		{name: "a strong secret", cmd: "api", env: map[string]string{"NURTURE_SECRET": testSecret}},
		{name: "a strong secret and a strong previous one", cmd: "all", env: map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_SECRET_PREVIOUS": config.NewSecret()}},
		{name: "weak secrets in dev", cmd: "all", args: []string{"--dev"}, env: map[string]string{"NURTURE_SECRET": weak, "NURTURE_SECRET_PREVIOUS": demo}},
		{name: "weak from the file", cmd: "api", env: map[string]string{"NURTURE_SECRET_FILE": "weak"}, want: "invalid secret in NURTURE_SECRET_FILE ("},
		{name: "strong from the file", cmd: "worker", env: map[string]string{"NURTURE_SECRET_FILE": "strong"}},
		{name: "an empty file", cmd: "worker", env: map[string]string{"NURTURE_SECRET_FILE": "empty"}, want: "invalid NURTURE_SECRET_FILE: "},
		{name: "no such file", cmd: "worker", env: map[string]string{"NURTURE_SECRET_FILE": "missing"}, want: "invalid NURTURE_SECRET_FILE: "},
		{name: "a file and a value", cmd: "api", args: []string{"--secret", testSecret}, env: map[string]string{"NURTURE_SECRET_FILE": "strong"}, want: "both --secret and NURTURE_SECRET_FILE are set"},
	}
	dir := t.TempDir()
	files := map[string]string{"weak": weak + "\n", "strong": testSecret + "\n", "empty": " \n"}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			for k, v := range tt.env {
				if k == "NURTURE_SECRET_FILE" {
					v = filepath.Join(dir, v)
				}
				vars[k] = v
			}
			c, err := config.Load(command(t, tt.cmd), tt.args, env(vars), io.Discard)
			if tt.want == "" {
				require.NoError(t, err)
				require.GreaterOrEqual(t, len(c.Secret), config.MinSecretLength)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "\n", "one line")
			for _, secret := range []string{weak, demo, testSecret, "tooshort", "short"} {
				require.NotContains(t, err.Error(), secret, "the error must not print the secret")
			}
		})
	}

	t.Run("generated in dev", func(t *testing.T) {
		t.Parallel()
		a, err := config.Load(command(t, "all"), []string{"--dev"}, env(nil), io.Discard)
		require.NoError(t, err)
		require.True(t, a.SecretGenerated)
		require.NoError(t, config.CheckSecret(a.Secret))
		b, err := config.Load(command(t, "all"), []string{"--dev"}, env(nil), io.Discard)
		require.NoError(t, err)
		require.NotEqual(t, a.Secret, b.Secret, "each start makes up a new secret")
	})
	t.Run("kept in dev when set", func(t *testing.T) {
		t.Parallel()
		c, err := config.Load(command(t, "api"), []string{"--dev"}, env(map[string]string{"NURTURE_SECRET": testSecret}), io.Discard)
		require.NoError(t, err)
		require.Equal(t, testSecret, c.Secret)
		require.False(t, c.SecretGenerated)
	})
	t.Run("not asked of commands that do not sign", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"migrate", "healthcheck", "demo", "version", "secret"} {
			_, err := config.Load(command(t, name), nil, env(nil), io.Discard)
			require.NoError(t, err, name)
		}
	})
}

// CheckSecret refuses what is plainly not random and accepts every common
// generator's output.
func TestCheckSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secret string
		want   string // in the error, "" for none
	}{
		{strings.Repeat("a", 32), "a run of repeated"},
		{strings.Repeat("a", 64), "a run of repeated"},
		{strings.Repeat("ab", 32), "repeats its characters"},
		{"0123456789abcdef0123456789abcdef", "a run of repeated or consecutive"},
		{"fedcba9876543210fedcba9876543210", "a run of repeated or consecutive"},
		{strings.Repeat("7", 16) + "3f9a1c2e8b4d6f0a", "a run of repeated"},
		{"12345678901234567890123456789012", "holds at most 106 bits"},
		{"demo-only-secret-do-not-use-in-production", "a demo secret"},
		{"my-super-secret-signing-key-2026!", "a common word"},
		{"Change-Me-Before-Going-Live-2026", "a common word"},
		{"qwertyuiopasdfghjklzxcvbnm123456", "a common word"},
		{"hello world hello world hello world", "repeats its characters"},
		{"tooshort", "is 8 characters"},
		{"6c686e1b6ad8da7dba8c8b8d7841a585abffcc7def3e4162988f272585d2bd6d", ""}, // openssl rand -hex 32
		{"e3b0c44298fc1c149afbf4c8996fb924", ""},                                 // openssl rand -hex 16: 128 bits
		{"O2bN6Qm1tq4kYy8d0J4nHkq5Wc1Hr9ZqTt3Vx0uQeKY=", ""},                     // openssl rand -base64 32
		{"e2c4f1d8-9b3a-4c6e-8f0d-7a5b3c9e1f24", ""},                             // a UUID: 122 bits, said 147
		{"Zx8#qLm2!vR9$wT4^pN7&kJ3*hG6@fD1", ""},                                 // a password manager's
	} {
		err := config.CheckSecret(tc.secret)
		if tc.want == "" {
			require.NoError(t, err, "%q", tc.secret)
			continue
		}
		require.Error(t, err, "%q", tc.secret)
		require.Contains(t, err.Error(), tc.want, "%q", tc.secret)
		require.NotContains(t, err.Error(), tc.secret)
	}
}

// Random secrets from common generators pass: the checks' margins hold over
// many draws (a million of each were measured once; the test draws fewer).
// The draws are seeded, so the test is the same every time: truly random
// hex has a run of eight equal digits about once in five million draws of
// 32 digits, which the check refuses on purpose (NewSecret draws again).
func TestCheckSecretAcceptsRandomSecrets(t *testing.T) {
	t.Parallel()
	var src *mrand.ChaCha8
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = src.Read(b)
		return b
	}
	uuid := func() string {
		h := hex.EncodeToString(random(16))
		return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:]
	}
	for name, gen := range map[string]func() string{
		"hex 16 bytes":    func() string { return hex.EncodeToString(random(16)) },
		"hex 32 bytes":    func() string { return hex.EncodeToString(random(32)) },
		"HEX 16 bytes":    func() string { return strings.ToUpper(hex.EncodeToString(random(16))) },
		"base64 24 bytes": func() string { return base64.StdEncoding.EncodeToString(random(24)) },
		"base64 32 bytes": func() string { return base64.StdEncoding.EncodeToString(random(32)) },
		"base64url 24":    func() string { return base64.RawURLEncoding.EncodeToString(random(24)) },
		"uuid":            uuid,
		"nurture secret":  config.NewSecret,
	} {
		var seed [32]byte
		copy(seed[:], name)
		src = mrand.NewChaCha8(seed)
		for range 20_000 {
			s := gen()
			require.NoError(t, config.CheckSecret(s), "%s: %q", name, s)
		}
	}
}

// FuzzCheckSecret: any value is answered without a panic, and a refusal
// never quotes the value.
func FuzzCheckSecret(f *testing.F) {
	for _, seed := range []string{"", strings.Repeat("a", 32), testSecret, "demo-only-secret-do-not-use-in-production", "\x00\xff\xfe" + testSecret} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := config.CheckSecret(s)
		require.False(t, err != nil && len(s) >= 4 && strings.Contains(err.Error(), s), "the error quotes the secret: %v", err)
	})
}

// Every secret written out in the repository's documentation, compose
// file and scripts is refused: copies of an example live on. Values made
// on the spot ($(openssl rand -hex 32)) are not examples.
func TestPublishedSecretsAreRefused(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	var files []string
	for _, pattern := range []string{"*.md", "docs/*.md", "docker-compose.yml", "Makefile", "bench/*.sh", "scripts/*.sh", "bench/*/*.go", ".ci/*"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	value := regexp.MustCompile(`(?:NURTURE_SECRET(?:_PREVIOUS)?["']?\s*[=:]|--secret(?:-previous)?[= ])\s*["']?([^"'\s$)(]+)`)
	published := []string{"demo-only-secret-do-not-use-in-production"} // docker-compose.yml until December 2026
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range value.FindAllStringSubmatch(string(data), -1) {
			if strings.HasPrefix(m[1], "*") || strings.HasPrefix(m[1], "/") {
				continue // a YAML alias or a file path, not a value
			}
			published = append(published, m[1])
		}
	}
	for _, s := range published {
		require.Error(t, config.CheckSecret(s), "a published secret is accepted: %q", s)
	}
}

func TestPrintUsage(t *testing.T) {
	t.Parallel()

	for _, cmd := range config.Commands {
		t.Run(cmd.Name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			config.PrintUsage(&buf, cmd)
			out := buf.String()
			require.Contains(t, out, "Usage: nurture "+cmd.Name)
			for _, s := range config.Settings {
				line := "--" + s.Flag + ", $" + s.Env
				if slices.Contains(cmd.Settings, s.Flag) {
					require.Contains(t, out, line)
					if s.Default != "" {
						require.Contains(t, out, s.Default)
					}
				} else {
					require.NotContains(t, out, line, "%s does not read --%s", cmd.Name, s.Flag)
				}
			}
			if len(cmd.Settings) == 0 {
				require.NotContains(t, out, "Flags")
			}
		})
	}
}

func TestHelpFlag(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	_, err := config.Load(command(t, "worker"), []string{"-h"}, env(nil), &buf)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, buf.String(), "Usage: nurture worker")
	require.Contains(t, buf.String(), "--smtp-url, $NURTURE_SMTP_URL")
}

// The README's table of environment variables lists exactly config.Settings,
// with the same flags and defaults, so what a newcomer reads stays true.
func TestREADMEListsEverySetting(t *testing.T) {
	t.Parallel()

	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	defer f.Close()

	type row struct{ flag, def string }
	rows := map[string]row{}
	var order []string
	inTable := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		// A pipe inside a cell is written \|.
		cells := strings.Split(strings.Trim(strings.ReplaceAll(line, `\|`, "\x00"), "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(strings.ReplaceAll(cells[i], "\x00", "|")), "`")
		}
		if len(cells) >= 3 && cells[0] == "Variable" && cells[1] == "Flag" && cells[2] == "Default" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(cells[0], "---") || strings.HasPrefix(cells[0], ":--") {
			continue
		}
		require.Len(t, cells, 4, "README row %q: want | Variable | Flag | Default | Meaning |", line)
		require.NotContains(t, rows, cells[0], "README lists %s twice", cells[0])
		def := cells[2]
		if def == "—" || def == "-" {
			def = ""
		}
		rows[cells[0]] = row{flag: cells[1], def: def}
		order = append(order, cells[0])
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows, "README.md has no table headed | Variable | Flag | Default | Meaning |")

	var want []string
	for _, s := range config.Settings {
		want = append(want, s.Env)
		r, ok := rows[s.Env]
		if !ok {
			t.Errorf("README.md does not list %s", s.Env)
			continue
		}
		require.Equal(t, "--"+s.Flag, r.flag, "README: flag of %s", s.Env)
		require.Equal(t, s.Default, r.def, "README: default of %s (write — for none)", s.Env)
	}
	for _, name := range order {
		if !slices.Contains(want, name) {
			t.Errorf("README.md lists %s, which the binary does not read", name)
		}
	}
}

// TestSendWindowSetting: the default send window of sequences is read as
// days and minutes, and a window that makes no sense stops the start.
func TestSendWindowSetting(t *testing.T) {
	t.Parallel()
	weekdays := [7]bool{false, true, true, true, true, true, false}
	for _, tc := range []struct {
		in       string
		days     [7]bool
		from, to int
		bad      bool
	}{
		{in: "any"},
		{in: "weekdays 09:00-17:00", days: weekdays, from: 540, to: 1020},
		{in: "mon-fri 09:00-17:00", days: weekdays, from: 540, to: 1020},
		{in: "sat,sun 10:30-24:00", days: [7]bool{true, false, false, false, false, false, true}, from: 630, to: 1440},
		{in: "fri-mon 08:00-09:00", days: [7]bool{true, true, false, false, false, true, true}, from: 480, to: 540},
		{in: "daily 08:00-20:00", from: 480, to: 1200},
		{in: "weekdays 17:00-09:00", bad: true},
		{in: "someday 09:00-17:00", bad: true},
		{in: "weekdays", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_SEND_WINDOW": tc.in, "NURTURE_SECRET": testSecret}), io.Discard)
			if tc.bad {
				require.ErrorContains(t, err, "NURTURE_SEND_WINDOW")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.days, c.SendWindowDays)
			require.Equal(t, tc.from, c.SendWindowFrom)
			require.Equal(t, tc.to, c.SendWindowTo)
		})
	}
	_, err := config.Load(command(t, "worker"), nil, env(map[string]string{"NURTURE_DEFAULT_TIMEZONE": "Mars/Olympus", "NURTURE_SECRET": testSecret}), io.Discard)
	require.ErrorContains(t, err, "NURTURE_DEFAULT_TIMEZONE")
}

// A replica for reports is read from its variable or flag; empty is none.
func TestLoadReplica(t *testing.T) {
	t.Parallel()
	c, err := config.Load(command(t, "api"), nil, env(map[string]string{"NURTURE_SECRET": testSecret,
		"NURTURE_DATABASE_REPLICA_URL": "postgres://reports@replica:5433/nurture?sslmode=require", "NURTURE_DATABASE_REPLICA_MAX_LAG": "2m"}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, "postgres://reports@replica:5433/nurture?sslmode=require", c.DatabaseReplicaURL)
	require.Equal(t, 2*time.Minute, c.DatabaseReplicaMaxLag)

	c, err = config.Load(command(t, "api"), []string{"--database-replica-url="}, env(map[string]string{"NURTURE_SECRET": testSecret,
		"NURTURE_DATABASE_REPLICA_URL": ""}), io.Discard)
	require.NoError(t, err)
	require.Empty(t, c.DatabaseReplicaURL)
}

// Whatever the replica's URL, it is refused with an error naming the
// variable, on one line, without its password, or kept as given: a
// postgres URL with a host.
func FuzzReplicaURL(f *testing.F) {
	for _, seed := range []string{"", "postgres://replica:5432/nurture", "postgresql://u:hunter2@replica/db?sslmode=require",
		"postgres://u:hunter2@replica:5432x/db", "mysql://replica/db", "postgres://[::1]:5433/db", "postgres:///db", "\x00postgres://r/db", "postgres://r:0/db"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := config.Load(command(t, "api"), nil, env(map[string]string{"NURTURE_SECRET": testSecret, "NURTURE_DATABASE_REPLICA_URL": v}), io.Discard)
		if err != nil {
			require.Contains(t, err.Error(), "NURTURE_DATABASE_REPLICA_URL")
			require.NotContains(t, err.Error(), "\n")
			if u, perr := url.Parse(strings.TrimSpace(v)); perr == nil {
				if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
					require.NotContains(t, err.Error(), pw)
				}
			}
			return
		}
		got := c.DatabaseReplicaURL
		require.Equal(t, strings.TrimSpace(v), got)
		if got == "" {
			return
		}
		u, perr := url.Parse(got)
		require.NoError(t, perr)
		require.Contains(t, []string{"postgres", "postgresql"}, u.Scheme)
		require.NotEmpty(t, u.Hostname())
	})
}
