package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSentinel is a Redis primary with replicas, watched by sentinels,
// all of one test: the topology a high-availability install runs, on
// loopback ports. Its sentinels agree on a failure with a quorum of 2,
// call the primary down after DownAfter without an answer, and promote a
// replica within seconds.
type RedisSentinel struct {
	// Master is the name the sentinels know the primary by.
	Master string
	// Servers are the primary (first, at the start) and its replicas.
	Servers []*RedisServer
	// Sentinels watch them.
	Sentinels []*RedisServer

	t testing.TB
}

// SentinelDownAfter is how long the sentinels wait for a silent primary
// before they agree it is down.
const SentinelDownAfter = time.Second

// NewRedisSentinel starts a primary, replicas replicas and sentinels
// sentinels (use 2 and 3), and waits until the replicas are in sync and
// every sentinel knows every replica and the other sentinels.
func NewRedisSentinel(t testing.TB, replicas, sentinels int) *RedisSentinel {
	t.Helper()
	rs := &RedisSentinel{Master: "nurture", t: t}
	primary := NewRedisServer(t)
	rs.Servers = append(rs.Servers, primary)
	for range replicas {
		rs.Servers = append(rs.Servers, newRedisServer(t, nil, []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.port)}))
	}
	for range sentinels {
		rs.Sentinels = append(rs.Sentinels, newRedisServer(t, rs.sentinelConf(primary.port), []string{"--sentinel"}))
	}
	if err := rs.waitReady(replicas, sentinels, time.Minute); err != nil {
		t.Fatalf("testkit: redis sentinel: %v", err)
	}
	return rs
}

// sentinelConf writes a sentinel's configuration (sentinels rewrite
// theirs, so each has its own file).
func (rs *RedisSentinel) sentinelConf(primaryPort int) func(dir string, port int) (string, error) {
	return func(dir string, _ int) (string, error) {
		file := filepath.Join(dir, "sentinel.conf")
		conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s %[3]d\n"+
			"sentinel failover-timeout %[1]s 5000\n"+
			"sentinel parallel-syncs %[1]s 2\n",
			rs.Master, primaryPort, SentinelDownAfter.Milliseconds())
		return file, os.WriteFile(file, []byte(conf), 0o644)
	}
}

// URL is the engine's NURTURE_REDIS_URL for database db: the sentinels'
// addresses and the master's name.
func (rs *RedisSentinel) URL(db int) string {
	addrs := make([]string, len(rs.Sentinels))
	for i, s := range rs.Sentinels {
		addrs[i] = s.Addr
	}
	return fmt.Sprintf("redis-sentinel://%s/%s/%d", strings.Join(addrs, ","), rs.Master, db)
}

// Primary asks the sentinels which server is the primary now.
func (rs *RedisSentinel) Primary(ctx context.Context) (string, error) {
	var lastErr error
	for _, s := range rs.Sentinels {
		if !s.running() {
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second, MaxRetries: -1})
		addr, err := c.GetMasterAddrByName(ctx, rs.Master).Result()
		c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel names the primary: %w", lastErr)
}

// KillPrimary kills the primary (SIGKILL, as kill -9) and returns its
// address.
func (rs *RedisSentinel) KillPrimary(ctx context.Context) (string, error) {
	addr, err := rs.Primary(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range rs.Servers {
		if s.Addr == addr {
			s.Stop()
			return addr, nil
		}
	}
	return "", fmt.Errorf("the primary %s is none of the test's servers", addr)
}

// WaitFailover waits until the sentinels name a primary other than old and
// that server answers as a primary; it returns the new primary.
func (rs *RedisSentinel) WaitFailover(old string, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		addr, err := rs.Primary(ctx)
		if err == nil && addr != old {
			role, rerr := roleOf(ctx, addr)
			if rerr == nil && role == "master" {
				cancel()
				return addr, nil
			}
		}
		cancel()
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("the sentinels still name it, or the new one does not answer as a primary yet")
			}
			return "", fmt.Errorf("no failover from %s within %s (last answer %q): %w", old, limit, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits until the replicas are in sync with the primary and
// every sentinel sees them and the others.
func (rs *RedisSentinel) waitReady(replicas, sentinels int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var lastErr error
	for time.Now().Before(deadline) {
		if lastErr = rs.ready(replicas, sentinels); lastErr == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %s: %w", limit, lastErr)
}

func (rs *RedisSentinel) ready(replicas, sentinels int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	primary := redis.NewClient(&redis.Options{Addr: rs.Servers[0].Addr, MaxRetries: -1})
	info, err := primary.Info(ctx, "replication").Result()
	primary.Close()
	if err != nil {
		return err
	}
	if n := strings.Count(info, "state=online"); n < replicas {
		return fmt.Errorf("%d of %d replicas online", n, replicas)
	}
	for _, s := range rs.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		reps, err := c.Replicas(ctx, rs.Master).Result()
		var others []map[string]string
		if err == nil {
			others, err = c.Sentinels(ctx, rs.Master).Result()
		}
		c.Close()
		switch {
		case err != nil:
			return err
		case len(reps) < replicas:
			return fmt.Errorf("sentinel %s knows %d of %d replicas", s.Addr, len(reps), replicas)
		case len(others) < sentinels-1:
			return fmt.Errorf("sentinel %s knows %d of %d other sentinels", s.Addr, len(others), sentinels-1)
		}
	}
	return nil
}

// roleOf is the ROLE of the server at addr: master or slave.
func roleOf(ctx context.Context, addr string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	defer c.Close()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", errors.New("empty ROLE")
	}
	role, _ := v[0].(string)
	return role, nil
}
