package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a throw-away redis-server that belongs to one test: it
// listens on a free loopback port, keeps nothing on disk and is killed when
// the test ends. Tests never touch a Redis the developer may be using.
type RedisServer struct {
	// Addr is host:port of the server.
	Addr string

	t    testing.TB
	port int
	dir  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// redisServerBinary is the redis-server to run: NURTURE_TEST_REDIS_SERVER,
// or redis-server on the PATH.
func redisServerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("NURTURE_TEST_REDIS_SERVER"); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testkit: tests start a redis-server of their own and none is on the PATH " +
			"(install Debian's redis-server, or set NURTURE_TEST_REDIS_SERVER to its path)")
	}
	return p
}

// NewRedisServer starts a private redis-server for the test.
func NewRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	return newRedisServer(t, nil, nil)
}

// newRedisServer starts a redis-server with the arguments of every test
// server, then extra (a replica's --replicaof); conf, when set, writes a
// configuration file into the server's directory, given the port, and
// passes it first (a sentinel's).
func newRedisServer(t testing.TB, conf func(dir string, port int) (string, error), extra []string) *RedisServer {
	t.Helper()
	bin := redisServerBinary(t)
	var lastErr error
	for range 5 { // a free port can be taken by someone else before we bind it
		port, err := FreePort()
		if err != nil {
			t.Fatalf("testkit: find a free port: %v", err)
		}
		s := &RedisServer{t: t, port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: t.TempDir()}
		s.args = []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", s.dir, "--maxmemory-policy", "noeviction", "--loglevel", "warning",
			"--logfile", filepath.Join(s.dir, "redis.log"),
		}
		if conf != nil {
			file, err := conf(s.dir, port)
			if err != nil {
				t.Fatalf("testkit: write redis configuration: %v", err)
			}
			s.args = append([]string{file}, s.args...)
		}
		s.args = append(s.args, extra...)
		if lastErr = s.start(bin); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("testkit: start redis-server: %v", lastErr)
	return nil
}

func (s *RedisServer) start(bin string) error {
	cmd := exec.Command(bin, s.args...)
	// The server dies with the test binary, even when the binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	client := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, log)
		default:
		}
		if client.Ping(context.Background()).Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d did not answer within 10s", s.port)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return nil
}

// URL returns the URL of database db of the server.
func (s *RedisServer) URL(db int) string {
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

// Stop kills the server (SIGKILL: it keeps nothing anyway). Calling it
// again, or after the test, does nothing.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-exited
	}
}

// running reports whether the server was started and not stopped.
func (s *RedisServer) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Restart kills the server and starts it again, empty, on the same port: a
// Redis that lost its data.
func (s *RedisServer) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(redisServerBinary(s.t)); err != nil {
		s.t.Fatalf("testkit: restart redis-server: %v", err)
	}
}

// RedisURL starts a private redis-server for the test and returns the URL
// of its database 0.
func RedisURL(t testing.TB) string {
	t.Helper()
	return NewRedisServer(t).URL(0)
}
