package redisconn_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/internal/testkit"
)

// Through a redis-sentinel:// URL the task queue and the rate limits keep
// working when the primary is killed: after the sentinels promote a
// replica, tasks are enqueued and handled again and a limit is checked,
// by the same clients, with nothing restarted.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts three redis-servers and three sentinels and waits for a failover")
	}
	rs := testkit.NewRedisSentinel(t, 2, 3)
	conn, err := redisconn.Parse(rs.URL(0))
	require.NoError(t, err)
	require.True(t, conn.Sentinel())

	queue := asynq.NewClient(conn.ConnOpt())
	t.Cleanup(func() { queue.Close() })
	handled := make(chan string, 100)
	srv := asynq.NewServer(conn.ConnOpt(), asynq.Config{Concurrency: 2, LogLevel: asynq.FatalLevel})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		handled <- string(task.Payload())
		return nil
	})))
	t.Cleanup(srv.Shutdown)
	limitRDB := ratelimit.NewClient(conn.Universal())
	t.Cleanup(func() { limitRDB.Close() })
	limiter := ratelimit.New(limitRDB, "nurture:test:")
	lim := ratelimit.Limit{Rate: 1e-6, Burst: 3} // three tokens, then none for days

	// roundTrip enqueues a task and waits for the server to handle it,
	// enqueuing again while Redis is not reachable yet.
	roundTrip := func(name string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			_, err := queue.Enqueue(asynq.NewTask("test:ping", []byte(name)), asynq.TaskID(name), asynq.MaxRetry(3))
			if err == nil || time.Now().After(deadline) {
				require.NoError(t, err, "enqueue %s", name)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case got := <-handled:
			require.Equal(t, name, got)
		case <-time.After(time.Until(deadline) + 10*time.Second):
			t.Fatalf("task %s not handled", name)
		}
	}
	// allow takes a token, asking again while Redis is not reachable.
	allow := func(limit time.Duration) bool {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			res, err := limiter.Allow(ctx, "key", lim)
			cancel()
			if err == nil {
				return res.Allowed
			}
			require.False(t, time.Now().After(deadline), "rate limit check: %v", err)
			time.Sleep(50 * time.Millisecond)
		}
	}

	roundTrip("before", 10*time.Second)
	require.True(t, allow(5*time.Second))
	require.True(t, allow(5*time.Second))

	// The two tokens taken reach both replicas before the primary dies
	// (Redis replicates after it answers; WAIT waits for the copies).
	ctx := context.Background()
	require.NoError(t, limitRDB.Do(ctx, "WAIT", 2, 5000).Err())
	old, err := rs.KillPrimary(ctx)
	require.NoError(t, err)
	killed := time.Now()
	promoted, err := rs.WaitFailover(old, 60*time.Second)
	require.NoError(t, err)
	t.Logf("primary %s killed; %s promoted after %s", old, promoted, time.Since(killed).Round(10*time.Millisecond))

	began := time.Now()
	roundTrip("after", 10*time.Second)
	t.Logf("a task enqueued and handled %s after the promotion", time.Since(began).Round(10*time.Millisecond))
	// The bucket lives on in the new primary: the third token is the last.
	require.True(t, allow(5*time.Second), "the third token")
	require.False(t, allow(5*time.Second), "a fourth token: the bucket forgot the failover's first two")
	for i := range 3 {
		roundTrip(fmt.Sprintf("after-%d", i), 5*time.Second)
	}
}

// Through rediss-sentinel:// every connection, to the sentinel and to the
// primary it names, is TLS, checked against the CA given; without that CA,
// or in the plain form, nothing gets through.
func TestSentinelOverTLS(t *testing.T) {
	t.Parallel()
	s := testkit.NewSentinelTLS(t)
	base := fmt.Sprintf("rediss-sentinel://%s/%s/0?dial_timeout=2s", s.Addr, s.Master)
	ctx := context.Background()
	for _, tc := range []struct {
		name, url string
		works     bool
	}{
		{"TLS with the servers' CA", base + "&tls_ca_file=" + url.QueryEscape(s.CAFile), true},
		{"TLS without it: the system's roots refuse the certificate", base, false},
		{"the plain form against TLS ports", strings.Replace(base, "rediss-sentinel://", "redis-sentinel://", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := redisconn.Parse(tc.url)
			require.NoError(t, err)
			c := conn.NewClient()
			defer c.Close()
			limit := 3 * time.Second // a plain client at a TLS port waits for a reply that never comes
			if tc.works {
				limit = 10 * time.Second
			}
			cctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			err = c.Set(cctx, "k", "v", 0).Err()
			if !tc.works {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			got, err := c.Get(cctx, "k").Result()
			require.NoError(t, err)
			require.Equal(t, "v", got)
		})
	}
}
