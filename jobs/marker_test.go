package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
)

// The queue marker says lost once after the data went away (FLUSHALL) and
// once after a failover, when the promoted replica kept the marker but not
// what the old primary had not yet passed on; otherwise it says nothing.
func TestQueueMarkerNoticesLossAndFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a primary, a replica and three sentinels and waits for a failover")
	}
	rs := testkit.NewRedisSentinel(t, 1, 3)
	conn, err := redisconn.Parse(rs.URL(0))
	require.NoError(t, err)
	rdb := conn.NewClient()
	t.Cleanup(func() { rdb.Close() })
	marker := jobs.NewQueueMarker(rdb)
	ctx := context.Background()

	lost := func() bool {
		t.Helper()
		var (
			l   bool
			err error
		)
		for range 200 { // Redis may still be failing over
			if l, err = marker.Lost(ctx); err == nil {
				return l
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, err)
		return false
	}
	require.True(t, lost(), "a new Redis")
	require.False(t, lost(), "nothing happened")
	require.NoError(t, rdb.FlushAll(ctx).Err())
	require.True(t, lost(), "after FLUSHALL")
	require.False(t, lost(), "asked again")

	require.NoError(t, rdb.Do(ctx, "WAIT", 1, 5000).Err()) // the replica has the marker
	old, err := rs.KillPrimary(ctx)
	require.NoError(t, err)
	_, err = rs.WaitFailover(old, time.Minute)
	require.NoError(t, err)
	require.True(t, lost(), "after the failover")
	require.False(t, lost(), "asked again after the failover")
}
