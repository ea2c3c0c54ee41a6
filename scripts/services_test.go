// Package scripts holds the tests of the shell scripts beside it, and of the
// Makefile targets that call them: what `make run` and `make test` hand to
// scripts/services.sh, and what services.sh checks, starts and creates.
package scripts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// needTools skips the test when a tool the script calls is missing; under
// CI=true it fails instead, since CI must run it.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// result is what a run of the script said and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// services runs scripts/services.sh with args; path, when not empty,
// replaces PATH.
func services(t *testing.T, path string, args ...string) result {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"services.sh"}, args...)...)
	if path != "" {
		cmd.Env = append(os.Environ(), "PATH="+path)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run services.sh: %v", err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// closedPort returns a loopback port nothing listens on (one no other
// test of the process is handed, and outside the range the kernel picks
// from for others).
func closedPort(t *testing.T) string {
	t.Helper()
	port, err := testkit.FreePort()
	require.NoError(t, err)
	return strconv.Itoa(port)
}

// localServer returns the test database's URL when it is the local default
// PostgreSQL, the only one services.sh may start; otherwise the test skips.
func localServer(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(testkit.DatabaseURL())
	require.NoError(t, err)
	if h := u.Hostname(); (h != "127.0.0.1" && h != "localhost") || (u.Port() != "" && u.Port() != "5432") {
		t.Skipf("the test database %s is not the local default PostgreSQL", u.Redacted())
	}
	return u
}

// where is how the script names the server of u: host:port.
func where(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// withDatabase returns u naming database name instead.
func withDatabase(u *url.URL, name string) string {
	c := *u
	c.Path, c.RawPath = "/"+name, ""
	return c.String()
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testkit.DatabaseURL())
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var exists bool
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	return exists
}

func dropDatabase(t *testing.T, name string) {
	conn, err := pgx.Connect(context.Background(), testkit.DatabaseURL())
	if err != nil {
		t.Errorf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Errorf("drop database %s: %v", name, err)
	}
}

// In a dry run the script looks at every service it is given and says what
// it would do: start only this machine's default services, create a missing
// database only on this machine, and for anything else check and report.
// It changes nothing.
func TestServicesDryRun(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "pg_isready", "psql", "redis-cli", "redis-server")
	local := localServer(t)
	testkit.DB(t) // the test database exists
	missing := uniqueName("nurture_svc_dry_")
	redisURL := testkit.RedisURL(t)
	answering, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { answering.Close() })

	// A directory with a mailpit that must never run (a dry run starts
	// nothing), and PATH without any real one, so that both cases are sure.
	fake := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fake, "mailpit"), []byte("#!/bin/sh\necho ran >&2\nexit 1\n"), 0o755))
	var noMailpit []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "mailpit")); err != nil {
			noMailpit = append(noMailpit, dir)
		}
	}
	withFake := strings.Join(append([]string{fake}, noMailpit...), string(os.PathListSeparator))
	without := strings.Join(noMailpit, string(os.PathListSeparator))
	// A machine where nothing runs yet (a fresh CI box): PostgreSQL and
	// Redis do not answer.
	down := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(down, "pg_isready"), []byte("#!/bin/sh\nexit 2\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(down, "redis-cli"), []byte("#!/bin/sh\necho 'Could not connect to Redis' >&2\nexit 1\n"), 0o755))
	allDown := strings.Join(append([]string{down}, noMailpit...), string(os.PathListSeparator))

	pgPort, redisPort, smtpPort := closedPort(t), closedPort(t), closedPort(t)
	tests := []struct {
		name   string
		path   string // PATH, when not the test's own
		args   []string
		code   int
		stdout []string // lines, in order
		stderr []string // parts
	}{
		{name: "a missing database on the local default server is created",
			args:   []string{withDatabase(local, missing)},
			stdout: []string{"services: would create database " + missing + " on " + where(local)}},
		{name: "an existing database needs nothing",
			args: []string{testkit.DatabaseURL()}},
		{name: "a local server on another port is not started",
			args: []string{"postgres://postgres@127.0.0.1:" + pgPort + "/nurture_x?sslmode=disable"}, code: 1,
			stderr: []string{"PostgreSQL at 127.0.0.1:" + pgPort + " does not answer", "only 127.0.0.1:5432 is started"}},
		{name: "another host is not started",
			args: []string{"postgres://postgres@127.0.0.2:" + pgPort + "/nurture_x?sslmode=disable"}, code: 1,
			stderr: []string{"PostgreSQL at 127.0.0.2:" + pgPort + " does not answer"}},
		{name: "a Redis that answers needs nothing",
			args: []string{redisURL}},
		{name: "a Redis on another port is not started",
			args: []string{"redis://127.0.0.1:" + redisPort + "/0"}, code: 1,
			stderr: []string{"Redis at 127.0.0.1:" + redisPort + " does not answer", "only 127.0.0.1:6379 is started"}},
		{name: "Mailpit starts on the SMTP port and UI address given",
			path: withFake, args: []string{"--mailpit-ui", "127.0.0.1:9925", "smtp://127.0.0.1:" + smtpPort},
			stdout: []string{"services: would start Mailpit: SMTP on 127.0.0.1:" + smtpPort + ", web UI on http://127.0.0.1:9925"}},
		{name: "without Mailpit, a hint",
			path: without, args: []string{"smtp://127.0.0.1:" + smtpPort},
			stderr: []string{"nothing answers SMTP at 127.0.0.1:" + smtpPort, "go install github.com/axllent/mailpit"}},
		{name: "a relay elsewhere is only checked",
			path: withFake, args: []string{"smtp://127.0.0.2:" + smtpPort},
			stderr: []string{"nothing answers SMTP at 127.0.0.2:" + smtpPort}},
		{name: "an SMTP server that answers needs nothing",
			path: withFake, args: []string{"smtp://" + answering.Addr().String() + "?tls=none"}},
		{name: "every service of make run at once",
			path: withFake, args: []string{"--mailpit-ui=127.0.0.1:9925", withDatabase(local, missing), redisURL, "smtp://127.0.0.1:" + smtpPort},
			stdout: []string{
				"services: would create database " + missing + " on " + where(local),
				"services: would start Mailpit: SMTP on 127.0.0.1:" + smtpPort + ", web UI on http://127.0.0.1:9925",
			}},
		{name: "on a fresh machine, no argument starts the default services (.ci/run)",
			path:   allDown,
			stdout: []string{"services: would start PostgreSQL on 127.0.0.1:5432", "services: would start Redis on 127.0.0.1:6379"}},
		{name: "on a fresh machine, the default test database's server is started",
			path: allDown, args: []string{"postgres://postgres@localhost:5432/nurture_test?sslmode=disable"},
			stdout: []string{"services: would start PostgreSQL on 127.0.0.1:5432", "services: would create database nurture_test on localhost:5432 if it is missing"}},
		{name: "on a fresh machine, a Redis URL of the default server starts it",
			path: allDown, args: []string{"redis://localhost:6379/3"},
			stdout: []string{"services: would start Redis on 127.0.0.1:6379"}},
		{name: "on a fresh machine, a server on another port is still not started",
			path: allDown, args: []string{"postgres://postgres@127.0.0.1:5433/x", "redis://127.0.0.1:6380"}, code: 1,
			stderr: []string{"PostgreSQL at 127.0.0.1:5433 does not answer", "Redis at 127.0.0.1:6380 does not answer"}},
		{name: "not a URL of a service",
			args: []string{"mysql://127.0.0.1/x"}, code: 1, stderr: []string{"cannot tell which service mysql://127.0.0.1/x is"}},
		{name: "a broken URL",
			args: []string{"postgres://[oops/x"}, code: 1, stderr: []string{"not a PostgreSQL URL"}},
		{name: "an unknown option",
			args: []string{"--bogus"}, code: 2, stderr: []string{"unknown option --bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := services(t, tt.path, append([]string{"--dry-run"}, tt.args...)...)
			require.Equal(t, tt.code, r.code, "%s", r)
			var lines []string
			if out := strings.TrimRight(r.stdout, "\n"); out != "" {
				lines = strings.Split(out, "\n")
			}
			require.Equal(t, tt.stdout, lines, "%s", r)
			for _, part := range tt.stderr {
				require.Contains(t, r.stderr, part, "%s", r)
			}
			if len(tt.stderr) == 0 {
				require.Empty(t, r.stderr)
			}
		})
	}
	require.False(t, databaseExists(t, missing), "a dry run created the database")
}

// The benchmarks' short form, a bare database name, still means that
// database on the local default PostgreSQL, and the local default Redis.
func TestServicesBareNameMeansLocalDefaults(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "pg_isready", "psql", "redis-cli")
	local := localServer(t)
	missing := uniqueName("nurture_svc_bare_")
	r := services(t, "", "--dry-run", missing)
	require.Equal(t, 0, r.code, "%s", r)
	require.Contains(t, r.stdout, "services: would create database "+missing+" on "+where(local))
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		require.True(t, strings.Contains(line, "database "+missing) || line == "services: would start Redis on 127.0.0.1:6379",
			"unexpected: %s", line)
	}
}

// For real, the script creates the database it is given on the local
// server, whatever characters its name has, and only once.
func TestServicesCreatesTheDatabaseItIsGiven(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "pg_isready", "psql")
	local := localServer(t)
	name := uniqueName(`nurture svc "o'q" `)
	t.Cleanup(func() { dropDatabase(t, name) })

	r := services(t, "", withDatabase(local, name))
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "services: creating database "+name+" on "+where(local)+"\n", r.stdout)
	require.True(t, databaseExists(t, name))

	r = services(t, "", withDatabase(local, name))
	require.Equal(t, result{}, r, "the second run has nothing to do")
}

// make run and make test hand services.sh the URLs they are given, and run
// the engine or the tests with the same ones; Mailpit's ports follow
// MAILPIT_SMTP and MAILPIT_UI.
func TestMakeHonoursOverrides(t *testing.T) {
	t.Parallel()
	needTools(t, "make")
	stubs := t.TempDir()
	// Each stub records its arguments, one a line, and the settings it got.
	for _, name := range []string{"services", "go"} {
		script := "#!/bin/sh\nout=\"$STUB_OUT/" + name + "\"\n" +
			"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$out.args\"\n" +
			"env | grep -E '^(NURTURE|MAILPIT)_' | sort > \"$out.env\"\n"
		require.NoError(t, os.WriteFile(filepath.Join(stubs, name), []byte(script), 0o755))
	}
	const (
		defaultDB   = "postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable"
		defaultTest = "postgres://postgres@127.0.0.1:5432/nurture_test?sslmode=disable"
	)
	tests := []struct {
		name             string
		target           string
		env, vars        []string // the environment's and the command line's
		services, goArgs []string // arguments each got
		goEnv            []string // settings the engine or the tests got
	}{
		{name: "run, defaults", target: "run",
			services: []string{"--mailpit-ui", "127.0.0.1:8025", defaultDB, "redis://127.0.0.1:6379/0", "smtp://127.0.0.1:1025"},
			goArgs:   []string{"run", "./cmd/nurture", "all", "--dev"},
			goEnv:    []string{"NURTURE_DATABASE_URL=" + defaultDB, "NURTURE_REDIS_URL=redis://127.0.0.1:6379/0", "NURTURE_SMTP_URL=smtp://127.0.0.1:1025"}},
		{name: "run, from the environment", target: "run",
			env: []string{"NURTURE_DATABASE_URL=postgres://me@db.example:6543/mine", "NURTURE_REDIS_URL=redis://127.0.0.1:6380/2",
				"MAILPIT_SMTP=127.0.0.1:2025", "MAILPIT_UI=127.0.0.1:9025"},
			services: []string{"--mailpit-ui", "127.0.0.1:9025", "postgres://me@db.example:6543/mine", "redis://127.0.0.1:6380/2", "smtp://127.0.0.1:2025"},
			goArgs:   []string{"run", "./cmd/nurture", "all", "--dev"},
			goEnv: []string{"MAILPIT_SMTP=127.0.0.1:2025", "MAILPIT_UI=127.0.0.1:9025", "NURTURE_DATABASE_URL=postgres://me@db.example:6543/mine",
				"NURTURE_REDIS_URL=redis://127.0.0.1:6380/2", "NURTURE_SMTP_URL=smtp://127.0.0.1:2025"}},
		{name: "run, on the command line; a relay of one's own wins over Mailpit", target: "run",
			vars:     []string{"NURTURE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/other", "NURTURE_SMTP_URL=smtp://relay.example:587", "MAILPIT_SMTP=127.0.0.1:2025"},
			services: []string{"--mailpit-ui", "127.0.0.1:8025", "postgres://postgres@127.0.0.1:5432/other", "redis://127.0.0.1:6379/0", "smtp://relay.example:587"},
			goArgs:   []string{"run", "./cmd/nurture", "all", "--dev"},
			goEnv:    []string{"NURTURE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/other", "NURTURE_REDIS_URL=redis://127.0.0.1:6379/0", "NURTURE_SMTP_URL=smtp://relay.example:587"}},
		{name: "test, defaults", target: "test",
			services: []string{defaultTest},
			goArgs:   []string{"test", "-race", "-count=1", "./..."},
			goEnv:    []string{"NURTURE_TEST_DATABASE_URL=" + defaultTest}},
		{name: "test, from the environment", target: "test",
			env:      []string{"NURTURE_TEST_DATABASE_URL=postgres://ci@127.0.0.1:5433/mine_test"},
			services: []string{"postgres://ci@127.0.0.1:5433/mine_test"},
			goArgs:   []string{"test", "-race", "-count=1", "./..."},
			goEnv:    []string{"NURTURE_TEST_DATABASE_URL=postgres://ci@127.0.0.1:5433/mine_test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"-s", "-C", "..", tt.target, "SERVICES=" + filepath.Join(stubs, "services"), "GO=" + filepath.Join(stubs, "go")}, tt.vars...)
			cmd := exec.Command("make", args...)
			cmd.Env = append(cleanEnv(), "STUB_OUT="+out)
			cmd.Env = append(cmd.Env, tt.env...)
			output, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", output)
			require.Equal(t, tt.services, lines(t, filepath.Join(out, "services.args")))
			require.Equal(t, tt.goArgs, lines(t, filepath.Join(out, "go.args")))
			got := lines(t, filepath.Join(out, "go.env"))
			for _, kv := range tt.goEnv {
				require.Contains(t, got, kv)
			}
		})
	}
}

// cleanEnv is the test's environment without any setting of ours.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "NURTURE_") || strings.HasPrefix(kv, "MAILPIT_") || strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=")
	})
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.TrimRight(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
