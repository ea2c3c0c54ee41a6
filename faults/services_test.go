package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// This file starts and breaks what the engine runs on: the nurture binary
// (built once), a private PostgreSQL cluster, private redis-servers (through
// testkit), toxiproxy proxies in this process, and the engine's processes.

// buildNurture builds the binary under test into dir, or returns
// FAULTS_BIN when it names one (to judge another build with the same suite).
func buildNurture(dir string) (string, error) {
	if bin := os.Getenv("FAULTS_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	bin := filepath.Join(dir, "nurture")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nurture-email/nurture/cmd/nurture")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build nurture: %w\n%s", err, out)
	}
	return bin, nil
}

// postgresCluster is a PostgreSQL of the suite's own, on a free port, run
// as the postgres user (PostgreSQL refuses root). Its postmaster is a child
// of the test that dies with it; stopping it is what `pg_ctl stop -m fast`
// does (SIGINT: a fast shutdown), and a restart is that and a start.
// Restarting and stopping it touches no other PostgreSQL.
type postgresCluster struct {
	bin, data, log, socket string
	port                   int
	cred                   *syscall.Credential // nil: run as ourselves

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// postgresBin finds the newest installed PostgreSQL's programs, or
// FAULTS_PG_BIN.
func postgresBin() (string, error) {
	if dir := os.Getenv("FAULTS_PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL found in /usr/lib/postgresql/*/bin (install Debian's postgresql, or set FAULTS_PG_BIN)")
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func startPostgres(dir string) (*postgresCluster, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &postgresCluster{bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "postgres.log"), socket: dir, port: port}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	cmd := c.command("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return c, c.start()
}

func (c *postgresCluster) command(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, program), args...)
	cmd.Dir = c.socket
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// start starts the postmaster and waits until it takes connections.
func (c *postgresCluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("postgres: already running")
	}
	logFile, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := c.command("postgres", "-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.socket,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url(c.addr(), "postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			c.cmd = nil
			return fmt.Errorf("postgres exited at start:\n%s", tail(c.log))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not take connections within 2 minutes: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the postmaster down fast (SIGINT: sessions are ended,
// transactions rolled back) and waits for it.
func (c *postgresCluster) stop() error { return c.signal(syscall.SIGINT) }

// restartFast is pg_ctl restart -m fast.
func (c *postgresCluster) restartFast() error {
	if err := c.stop(); err != nil {
		return err
	}
	return c.start()
}

func (c *postgresCluster) signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return errors.New("postgres: not running")
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(2 * time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
	return nil
}

func (c *postgresCluster) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// url is the URL of database db, reached at addr (the cluster's own
// address, or a proxy's).
func (c *postgresCluster) url(addr, db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", addr, db)
}

// createDatabase creates an empty database.
func (c *postgresCluster) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.url(c.addr(), "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// close stops the cluster at once (SIGQUIT: an immediate shutdown): it
// keeps nothing.
func (c *postgresCluster) close() { _ = c.signal(syscall.SIGQUIT) }

// proxies is toxiproxy, in this process: it sits between the engine and
// PostgreSQL, Redis and the relay, so a scenario can cut the connections.
type proxies struct {
	server *toxiproxy.ApiServer
	mu     sync.Mutex
	n      int
}

func newProxies() *proxies {
	return &proxies{server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// add starts a proxy to upstream on a free loopback port; it is stopped
// when the test ends.
func (p *proxies) add(t *testing.T, name, upstream string) *toxiproxy.Proxy {
	t.Helper()
	p.mu.Lock()
	p.n++
	name = fmt.Sprintf("%s-%d", name, p.n)
	p.mu.Unlock()
	proxy := toxiproxy.NewProxy(p.server, name, "127.0.0.1:0", upstream)
	require.NoError(t, proxy.Start(), "start proxy %s", name)
	t.Cleanup(proxy.Stop)
	return proxy
}

// process is a running nurture command.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startProcess runs bin with args, its output in dir/name.log. No
// NURTURE_* variable of the caller's environment reaches it: every setting
// is a flag. It dies with the test binary.
func startProcess(dir, bin, name string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NURTURE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &process{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.exited) }()
	return p, nil
}

// kill sends SIGKILL and waits for the process to end.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// terminate sends SIGTERM and waits up to limit for the process to end,
// then kills it; it returns how long the stop took and whether it was
// graceful.
func (p *process) terminate(limit time.Duration) (time.Duration, bool) {
	began := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return time.Since(began), true
	case <-time.After(limit):
		p.kill()
		return time.Since(began), false
	}
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s: %w", url, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
