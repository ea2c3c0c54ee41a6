package config_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

// The repository root holds docker-compose.yml and the Dockerfile.
var (
	composeFile = filepath.Join("..", "..", "docker-compose.yml")
	dockerfile  = filepath.Join("..", "..", "Dockerfile")
)

// TestComposeFile checks docker-compose.yml against the settings table: a
// compose file that passes starts every nurture service with settings the
// binary reads and accepts, pointed at services that exist.
func TestComposeFile(t *testing.T) {
	t.Parallel()

	if problems := composeProblems(loadCompose(t), dockerImage(t), secretFile(t)); len(problems) > 0 {
		t.Errorf("docker-compose.yml:\n  %s", strings.Join(problems, "\n  "))
	}
}

// TestComposeFileCheckCatches breaks a loaded copy of docker-compose.yml in
// the ways the check exists for, and expects each to be reported.
func TestComposeFileCheckCatches(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		breaks func(t *testing.T, p *types.Project)
		image  func(*image) // breaks the Dockerfile's facts instead
		want   string
	}{
		{
			name:   "a misspelt variable",
			breaks: setEnv("worker", "NURTURE_TYPO", "1"),
			want:   "service worker sets NURTURE_TYPO, which no setting of the binary reads",
		},
		{
			name:   "a variable the subcommand does not read",
			breaks: setEnv("api", "NURTURE_SMTP_URL", "smtp://mailpit:1025?tls=none"),
			want:   "service api sets NURTURE_SMTP_URL, but `nurture api` does not read it",
		},
		{
			name:   "a value the binary rejects",
			breaks: setEnv("worker", "NURTURE_SMTP_URL", "smtp://mailpit:1025?tls=bogus"),
			want:   "service worker: `nurture worker` rejects its settings: invalid NURTURE_SMTP_URL",
		},
		{
			name: "an unknown subcommand",
			breaks: func(t *testing.T, p *types.Project) {
				s := service(t, p, "migrate")
				s.Command = types.ShellCommand{"serve"}
				p.Services["migrate"] = s
			},
			want: "service migrate runs `nurture serve`, which is not a subcommand",
		},
		{
			name:   "a listen port that is not published",
			breaks: setEnv("api", "NURTURE_LISTEN", ":9090"),
			want:   "service api listens on port 9090 but publishes no port with target 9090",
		},
		{
			name:   "a URL to a service that does not exist",
			breaks: setEnv("worker", "NURTURE_REDIS_URL", "redis://cache:6379/0"),
			want:   `service worker: NURTURE_REDIS_URL names host "cache", which is no service of docker-compose.yml`,
		},
		{
			name: "a URL left at its loopback default",
			breaks: func(t *testing.T, p *types.Project) {
				delete(service(t, p, "demo").Environment, "NURTURE_API_URL")
			},
			want: "service demo: NURTURE_API_URL points at 127.0.0.1",
		},
		{
			name: "a healthcheck that needs a shell",
			breaks: func(t *testing.T, p *types.Project) {
				service(t, p, "api").HealthCheck.Test = types.HealthCheckTest{"CMD-SHELL", "/nurture healthcheck"}
			},
			want: "service api: the healthcheck must be [\"CMD\", \"/nurture\", \"healthcheck\", ...]",
		},
		{
			name: "a healthcheck that probes another port",
			breaks: func(t *testing.T, p *types.Project) {
				service(t, p, "api").HealthCheck.Test = types.HealthCheckTest{"CMD", "/nurture", "healthcheck", "--url", "http://127.0.0.1:9999/healthz"}
			},
			want: "service api: the healthcheck probes http://127.0.0.1:9999/healthz, not /healthz on the listen port 8080",
		},
		{
			name: "a published secret",
			breaks: func(t *testing.T, p *types.Project) {
				delete(service(t, p, "worker").Environment, "NURTURE_SECRET_FILE")
				setEnv("worker", "NURTURE_SECRET", "demo-only-secret-do-not-use-in-production")(t, p)
			},
			want: "service worker: `nurture worker` rejects its settings: invalid NURTURE_SECRET: is a demo secret",
		},
		{
			name:   "a secret file nobody writes",
			breaks: setEnv("secret", "NURTURE_SECRET_FILE", "/var/lib/nurture/other"),
			want:   "service api reads NURTURE_SECRET_FILE /var/lib/nurture/secret (volume nurture-secret), which no `nurture secret` service writes",
		},
		{
			name: "a secret written outside a volume",
			breaks: func(t *testing.T, p *types.Project) {
				s := service(t, p, "secret")
				s.Volumes = nil
				p.Services["secret"] = s
			},
			want: "service secret writes NURTURE_SECRET_FILE /var/lib/nurture/secret outside any volume",
		},
		{
			name: "a secret read before it is written",
			breaks: func(t *testing.T, p *types.Project) {
				s := service(t, p, "worker")
				delete(s.DependsOn, "secret")
				p.Services["worker"] = s
			},
			want: "service worker reads the secret that service secret writes, but does not wait for it to complete successfully",
		},
		{
			name:  "a secret directory the image does not give its user",
			image: func(i *image) { i.ownedDirs = nil },
			want:  "service secret writes to /var/lib/nurture, which the Dockerfile does not give to the image's user (COPY --chown=65532:65532 ...)",
		},
		{
			name: "a missing dependency",
			breaks: func(t *testing.T, p *types.Project) {
				s := service(t, p, "demo")
				s.DependsOn = nil
				p.Services["demo"] = s
			},
			want: "service demo uses api (NURTURE_API_URL) but does not depend on it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, img := loadCompose(t), dockerImage(t)
			if tt.breaks != nil {
				tt.breaks(t, p)
			}
			if tt.image != nil {
				tt.image(&img)
			}
			problems := composeProblems(p, img, secretFile(t))
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	// No OS environment: the file must not depend on the caller's variables.
	opts, err := cli.NewProjectOptions([]string{composeFile}, cli.WithName("nurture-config-test"))
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "load docker-compose.yml")
	return p
}

// image is what the compose check needs to know of the Dockerfile.
type image struct {
	entrypoint string   // the binary's path, from ENTRYPOINT ["/nurture"]
	ownedDirs  []string // directories it gives to the non-root user: COPY --chown=65532:65532 SRC DIR
}

func dockerImage(t *testing.T) image {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^ENTRYPOINT\s+\[\s*"([^"]+)"`).FindSubmatch(b)
	require.NotNil(t, m, "the Dockerfile has no ENTRYPOINT [\"...\"]")
	img := image{entrypoint: string(m[1])}
	for _, m := range regexp.MustCompile(`(?m)^COPY\s+(?:--from=\S+\s+)?--chown=65532:65532\s+\S+\s+(\S+)\s*$`).FindAllSubmatch(b, -1) {
		img.ownedDirs = append(img.ownedDirs, path.Clean(string(m[1])))
	}
	return img
}

// secretFile is a file holding a good secret: it stands in for the file a
// service reads from a volume, once the check has seen that another service
// writes it there.
func secretFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(f, []byte(config.NewSecret()+"\n"), 0o600))
	return f
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	require.True(t, ok, "docker-compose.yml has no service %s", name)
	return s
}

func setEnv(svc, name, value string) func(t *testing.T, p *types.Project) {
	return func(t *testing.T, p *types.Project) {
		service(t, p, svc).Environment[name] = &value
	}
}

// urlSettings maps each URL setting a nurture service uses to reach another
// container to the Config field that holds it.
var urlSettings = map[string]func(*config.Config) string{
	"database-url": func(c *config.Config) string { return c.DatabaseURL },
	// Optional: empty (none) leads nowhere.
	"database-replica-url": func(c *config.Config) string { return c.DatabaseReplicaURL },
	"redis-url":            func(c *config.Config) string { return c.RedisURL },
	"smtp-url":             func(c *config.Config) string { return c.SMTPURL },
	"api-url":              func(c *config.Config) string { return c.APIURL },
}

// outsideURLs are the URL settings that do not lead to another container:
// links a person's browser follows, the research bot's contact page and provider
// (outside services), and the healthcheck's probe of its own
// container (checked with the API below).
var outsideURLs = []string{"public-url", "product-url", "url", "enrich-contact-url", "enrich-provider-url"}

// nurtureService is a service that runs the image built from the Dockerfile.
type nurtureService struct {
	name   string
	svc    types.ServiceConfig
	cmd    config.Command
	cfg    *config.Config
	getenv func(string) string
}

// composeProblems returns what is wrong with p, one sentence each. The
// secret file that services read from a volume is read from secretFile.
func composeProblems(p *types.Project, img image, secretFile string) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	entrypoint := img.entrypoint
	secrets := secretWriters(p, img, fail)

	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Env] = true
	}
	var commands []string
	for _, c := range config.Commands {
		commands = append(commands, c.Name)
	}

	var nurture []nurtureService
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		if svc.Build == nil {
			continue
		}
		if len(svc.Entrypoint) > 0 {
			fail("service %s overrides the entrypoint: it must run the image's %s with a subcommand", name, entrypoint)
			continue
		}
		if len(svc.Command) == 0 {
			fail("service %s runs no subcommand (want command: [one of %s])", name, strings.Join(commands, ", "))
			continue
		}
		cmd, ok := config.LookupCommand(svc.Command[0])
		if !ok {
			fail("service %s runs `nurture %s`, which is not a subcommand (want one of %s)", name, svc.Command[0], strings.Join(commands, ", "))
			continue
		}
		reads := cmd.EnvNames()
		for _, v := range sortedKeys(svc.Environment) {
			switch {
			case !strings.HasPrefix(v, "NURTURE_"):
			case !known[v]:
				fail("service %s sets %s, which no setting of the binary reads (misspelt? see config.Settings)", name, v)
			case !slices.Contains(reads, v):
				fail("service %s sets %s, but `nurture %s` does not read it (it reads %s)", name, v, cmd.Name, strings.Join(reads, ", "))
			case svc.Environment[v] == nil:
				fail("service %s lists %s without a value", name, v)
			}
		}
		getenv := envOf(svc)
		if file := getenv("NURTURE_SECRET_FILE"); file != "" && slices.Contains(cmd.Settings, "secret") {
			if !secretReadable(p, name, file, secrets, fail) {
				continue
			}
			getenv = func(v string) string {
				switch {
				case v == "NURTURE_SECRET_FILE":
					return secretFile
				case v == "NURTURE_ERASURE_KEY_FILE" && envOf(svc)(v) != "":
					// Written by a `nurture secret` service of its own, as the secret is.
					return erasureKeyFile(secretFile)
				}
				return envOf(svc)(v)
			}
		}
		c, err := config.Load(cmd, svc.Command[1:], getenv, io.Discard)
		if err != nil {
			fail("service %s: `nurture %s` rejects its settings: %v", name, cmd.Name, err)
			continue
		}
		nurture = append(nurture, nurtureService{name: name, svc: svc, cmd: cmd, cfg: c, getenv: getenv})
	}

	// The port each service that serves the API listens on.
	listenPort := map[string]int{}
	for _, n := range nurture {
		if slices.Contains(n.cmd.Settings, "listen") {
			listenPort[n.name] = portOf(n.cfg.Listen)
		}
	}
	if len(listenPort) == 0 {
		fail("no service runs the API (`nurture api` or `nurture all`)")
	}

	for _, n := range nurture {
		// URLs that leave the container must name a service of this file
		// that the service waits for.
		for _, flagName := range n.cmd.Settings {
			if !strings.HasSuffix(flagName, "url") || slices.Contains(outsideURLs, flagName) {
				continue
			}
			env := settingEnv(flagName)
			get, ok := urlSettings[flagName]
			if !ok {
				fail("compose_test.go does not know the URL setting --%s: add it to urlSettings or outsideURLs", flagName)
				continue
			}
			if get(n.cfg) == "" && flagName == "database-replica-url" {
				continue // no replica: reports read the primary
			}
			u, err := url.Parse(get(n.cfg))
			if err != nil {
				fail("service %s: %s: %v", n.name, env, err)
				continue
			}
			host := u.Hostname()
			_, exists := p.Services[host]
			switch {
			case isLoopback(host):
				fail("service %s: %s points at %s, which inside a container is the container itself: name a service of docker-compose.yml", n.name, env, host)
			case !exists:
				fail("service %s: %s names host %q, which is no service of docker-compose.yml", n.name, env, host)
			case !dependsOn(p, n.name, host):
				fail("service %s uses %s (%s) but does not depend on it, directly or through another service", n.name, host, env)
			}
			if lp, isAPI := listenPort[host]; isAPI && exists && portOrDefault(u) != lp {
				fail("service %s: %s uses port %d, but %s listens on %d", n.name, env, portOrDefault(u), host, lp)
			}
		}
	}

	// The API: published on its listen port, reachable at NURTURE_PUBLIC_URL
	// from the host, and health-checked by the binary itself (no shell).
	for _, n := range nurture {
		lp, isAPI := listenPort[n.name]
		if !isAPI {
			continue
		}
		published := ""
		for _, port := range n.svc.Ports {
			if int(port.Target) == lp {
				published = port.Published
			}
		}
		if published == "" {
			fail("service %s listens on port %d but publishes no port with target %d", n.name, lp, lp)
		} else if pub, err := url.Parse(n.cfg.PublicURL); err == nil && isLoopback(pub.Hostname()) &&
			strconv.Itoa(portOrDefault(pub)) != published {
			fail("service %s: NURTURE_PUBLIC_URL %s is not where the API is published (port %s)", n.name, n.cfg.PublicURL, published)
		}

		hc := n.svc.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 {
			fail("service %s has no healthcheck: services that wait for it to be healthy would wait forever", n.name)
			continue
		}
		if len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != entrypoint || hc.Test[2] != "healthcheck" {
			fail("service %s: the healthcheck must be [\"CMD\", %q, \"healthcheck\", ...]: the image has no shell or curl (it is %q)", n.name, entrypoint, []string(hc.Test))
			continue
		}
		hcCfg, err := config.Load(command0("healthcheck"), hc.Test[3:], n.getenv, io.Discard)
		if err != nil {
			fail("service %s: the healthcheck's settings are rejected: %v", n.name, err)
			continue
		}
		u, err := url.Parse(hcCfg.HealthURL)
		if err != nil || !isLoopback(u.Hostname()) || portOrDefault(u) != lp || u.Path != "/healthz" {
			fail("service %s: the healthcheck probes %s, not /healthz on the listen port %d", n.name, hcCfg.HealthURL, lp)
		}
	}

	// Links the worker writes must lead to the API the browser reaches.
	publicURLs := map[string][]string{}
	for _, n := range nurture {
		if slices.Contains(n.cmd.Settings, "public-url") {
			publicURLs[n.cfg.PublicURL] = append(publicURLs[n.cfg.PublicURL], n.name)
		}
	}
	if len(publicURLs) > 1 {
		fail("the services disagree on NURTURE_PUBLIC_URL: %v", publicURLs)
	}
	return problems
}

// volumeFile is a file inside a named volume: where a service writes or
// reads it.
type volumeFile struct{ volume, rel string }

// inVolume finds which named volume of svc holds file, if any.
func inVolume(svc types.ServiceConfig, file string) (types.ServiceVolumeConfig, volumeFile, bool) {
	file = path.Clean(file)
	for _, v := range svc.Volumes {
		if v.Type != types.VolumeTypeVolume {
			continue
		}
		target := path.Clean(v.Target)
		if rel, ok := strings.CutPrefix(file, target+"/"); ok {
			return v, volumeFile{volume: v.Source, rel: rel}, true
		}
	}
	return types.ServiceVolumeConfig{}, volumeFile{}, false
}

// secretWriters finds the services that run `nurture secret` with
// NURTURE_SECRET_FILE: each must write into a named volume, mounted
// writable on a directory the image gives to its non-root user (a new
// volume takes that directory's owner).
func secretWriters(p *types.Project, img image, fail func(string, ...any)) map[volumeFile]string {
	writers := map[volumeFile]string{}
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		if svc.Build == nil || len(svc.Command) == 0 || svc.Command[0] != "secret" {
			continue
		}
		file := envOf(svc)("NURTURE_SECRET_FILE")
		if file == "" {
			fail("service %s runs `nurture secret` without NURTURE_SECRET_FILE: it prints a secret nobody reads", name)
			continue
		}
		mount, at, ok := inVolume(svc, file)
		switch {
		case !ok:
			fail("service %s writes NURTURE_SECRET_FILE %s outside any volume: the services that read it cannot see it", name, file)
			continue
		case mount.ReadOnly:
			fail("service %s mounts volume %s read-only, so it cannot write the secret", name, mount.Source)
		case !slices.Contains(img.ownedDirs, path.Clean(mount.Target)):
			fail("service %s writes to %s, which the Dockerfile does not give to the image's user (COPY --chown=65532:65532 ...): a new volume there belongs to root", name, path.Clean(mount.Target))
		}
		writers[at] = name
	}
	return writers
}

// secretReadable checks that service name reads its NURTURE_SECRET_FILE from
// a volume that a `nurture secret` service writes it to, and waits for that
// service to complete.
func secretReadable(p *types.Project, name, file string, writers map[volumeFile]string, fail func(string, ...any)) bool {
	_, at, ok := inVolume(p.Services[name], file)
	if !ok {
		fail("service %s reads NURTURE_SECRET_FILE %s outside any volume: no other service can put it there", name, file)
		return false
	}
	writer, ok := writers[at]
	if !ok {
		fail("service %s reads NURTURE_SECRET_FILE %s (volume %s), which no `nurture secret` service writes", name, file, at.volume)
		return false
	}
	if dep, ok := p.Services[name].DependsOn[writer]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
		fail("service %s reads the secret that service %s writes, but does not wait for it to complete successfully", name, writer)
		return false
	}
	return true
}

func command0(name string) config.Command {
	c, ok := config.LookupCommand(name)
	if !ok {
		panic("no command " + name)
	}
	return c
}

func settingEnv(flagName string) string {
	for _, s := range config.Settings {
		if s.Flag == flagName {
			return s.Env
		}
	}
	return "--" + flagName
}

func envOf(svc types.ServiceConfig) func(string) string {
	return func(name string) string {
		if v := svc.Environment[name]; v != nil {
			return *v
		}
		return ""
	}
}

// dependsOn reports whether from waits for to, directly or through others.
func dependsOn(p *types.Project, from, to string) bool {
	seen := map[string]bool{}
	queue := []string{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for dep := range p.Services[s].DependsOn {
			if dep == to {
				return true
			}
			if !seen[dep] {
				seen[dep] = true
				queue = append(queue, dep)
			}
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// portOf returns the port of a host:port address, or -1.
func portOf(hostport string) int {
	_, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return -1
	}
	return n
}

// portOrDefault returns u's port, or its scheme's default.
func portOrDefault(u *url.URL) int {
	if u.Port() != "" {
		n, err := strconv.Atoi(u.Port())
		if err != nil {
			return -1
		}
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// erasureKeyFile writes, beside the secret file, a file holding another
// good key, for services that read NURTURE_ERASURE_KEY_FILE.
func erasureKeyFile(secretFile string) string {
	f := secretFile + "-erasure-key"
	if _, err := os.Stat(f); err != nil {
		_ = os.WriteFile(f, []byte(config.NewSecret()+"\n"), 0o600)
	}
	return f
}
