package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReplicaPair is a PostgreSQL primary and its streaming replica of the
// test's own, on loopback ports: a primary initialised with
// wal_level=replica and a hot standby made from it with
// `pg_basebackup -R`. Both stop when the test ends; stopping or pausing
// them touches no other PostgreSQL.
type ReplicaPair struct {
	t                testing.TB
	bin, dir         string
	cred             *syscall.Credential
	primary, replica *cluster
}

// cluster is one postmaster of a ReplicaPair, a child of the test.
type cluster struct {
	data, log string
	port      int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewReplicaPair starts a primary and a streaming replica of it. It skips
// the test when PostgreSQL's server programs are not installed, and fails
// it when they are but do not start. As root it runs them as the postgres
// user (PostgreSQL refuses root).
func NewReplicaPair(t testing.TB) *ReplicaPair {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		t.Skip("testkit: no PostgreSQL server programs in /usr/lib/postgresql/*/bin (initdb, pg_basebackup): install Debian's postgresql to run replica tests")
	}
	dir, err := os.MkdirTemp("", "nurture-replica-")
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	p := &ReplicaPair{t: t, bin: bin, dir: dir}
	t.Cleanup(func() {
		p.stop(p.replica)
		p.stop(p.primary)
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("testkit: running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("testkit: %v", err)
		}
	}
	p.primary = p.newCluster("primary")
	p.run("initdb", "-D", p.primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.start(p.primary, "-c", "wal_level=replica", "-c", "max_wal_senders=4", "-c", "fsync=off")
	p.replica = p.newCluster("replica")
	p.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.primary.port), "-U", "postgres",
		"-D", p.replica.data, "-R", "-X", "stream", "--no-sync")
	p.start(p.replica, "-c", "hot_standby=on", "-c", "fsync=off")
	return p
}

// postgresBin is the newest installed PostgreSQL's program directory, or
// "" when none has initdb and pg_basebackup.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		_, errInit := os.Stat(filepath.Join(d, "initdb"))
		_, errBackup := os.Stat(filepath.Join(d, "pg_basebackup"))
		if errInit == nil && errBackup == nil {
			return d
		}
	}
	return ""
}

func (p *ReplicaPair) newCluster(name string) *cluster {
	port, err := FreePort()
	if err != nil {
		p.t.Fatalf("testkit: %v", err)
	}
	return &cluster{data: filepath.Join(p.dir, name), log: filepath.Join(p.dir, name+".log"), port: port}
}

func (p *ReplicaPair) command(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, program), args...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// run runs a program to its end, failing the test if it fails.
func (p *ReplicaPair) run(program string, args ...string) {
	p.t.Helper()
	if out, err := p.command(program, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("testkit: %s: %v\n%s", program, err, out)
	}
}

// start starts c's postmaster and waits until it takes connections.
func (p *ReplicaPair) start(c *cluster, settings ...string) {
	p.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	logFile, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("testkit: %v", err)
	}
	args := append([]string{"-D", c.data, "-p", strconv.Itoa(c.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"}, settings...)
	cmd := p.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		p.t.Fatalf("testkit: start postgres: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return
		}
		select {
		case <-exited:
			c.cmd = nil
			log, _ := os.ReadFile(c.log)
			p.t.Fatalf("testkit: postgres exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("testkit: postgres did not take connections within 2 minutes: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts c down fast (SIGINT) and waits for it.
func (p *ReplicaPair) stop(c *cluster) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)))
}

// PrimaryURL is the primary's postgres database.
func (p *ReplicaPair) PrimaryURL() string { return p.primary.url() }

// ReplicaURL is the replica's postgres database (read only).
func (p *ReplicaPair) ReplicaURL() string { return p.replica.url() }

// StopReplica shuts the replica down fast; StartReplica starts it again.
func (p *ReplicaPair) StopReplica() { p.stop(p.replica) }

// StartReplica starts the replica again after StopReplica.
func (p *ReplicaPair) StartReplica() {
	p.t.Helper()
	p.start(p.replica, "-c", "hot_standby=on", "-c", "fsync=off")
}

// PauseReplay stops the replica applying what it receives
// (pg_wal_replay_pause): its readers see the database as it is now while
// the primary moves on. ResumeReplay lets it catch up.
func (p *ReplicaPair) PauseReplay() {
	p.t.Helper()
	p.exec(p.replica, "SELECT pg_wal_replay_pause()")
}

// ResumeReplay undoes PauseReplay.
func (p *ReplicaPair) ResumeReplay() {
	p.t.Helper()
	p.exec(p.replica, "SELECT pg_wal_replay_resume()")
}

// WaitReplayed waits until the replica has replayed everything the
// primary has written so far.
func (p *ReplicaPair) WaitReplayed() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lsn string
	p.query(ctx, p.primary, "SELECT pg_current_wal_flush_lsn()::text", &lsn)
	for {
		var done bool
		p.query(ctx, p.replica, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", &done, lsn)
		if done {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("testkit: the replica did not replay %s within a minute", lsn)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (p *ReplicaPair) exec(c *cluster, sql string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ignored any
	p.query(ctx, c, sql, &ignored)
}

func (p *ReplicaPair) query(ctx context.Context, c *cluster, sql string, dst any, args ...any) {
	p.t.Helper()
	conn, err := pgx.Connect(ctx, c.url())
	if err != nil {
		p.t.Fatalf("testkit: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
		p.t.Fatalf("testkit: %s: %v", sql, err)
	}
}
