package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A periodic job's lease: the first process takes it, renews it and runs
// a pass once a period; another process gets nothing while it is live,
// takes it over once it lapses (a holder that died) and at once when the
// holder releases it (a holder that stopped), and then runs its passes at
// the job's period, not at once.
func TestJobLeaseTakeRenewLapseTakeoverRelease(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	const job = "reconciler"
	hour := time.Hour

	a, err := db.TakeJobLease(ctx, job, "a", time.Minute, hour)
	require.NoError(t, err)
	require.True(t, a.Held, "a free lease is taken")
	require.True(t, a.TookOver)
	require.True(t, a.PassDue, "the first pass is due at once")
	require.EqualValues(t, 1, a.Runs)

	b, err := db.TakeJobLease(ctx, job, "b", time.Minute, hour)
	require.NoError(t, err)
	require.False(t, b.Held, "a live lease is not taken")
	require.False(t, b.PassDue)

	again, err := db.TakeJobLease(ctx, job, "a", time.Minute, hour)
	require.NoError(t, err)
	require.True(t, again.Held, "the holder renews")
	require.False(t, again.TookOver)
	require.False(t, again.PassDue, "a period has not passed")
	require.True(t, again.HeldUntil.After(a.HeldUntil) || again.HeldUntil.Equal(a.HeldUntil))
	renewed, err := db.RenewJobLease(ctx, job, "a", time.Minute)
	require.NoError(t, err)
	require.True(t, renewed)
	renewed, err = db.RenewJobLease(ctx, job, "b", time.Minute)
	require.NoError(t, err)
	require.False(t, renewed, "only the holder renews")

	// a dies: its lease lapses (a short one here) and b takes it over.
	_, err = db.TakeJobLease(ctx, job, "a", 20*time.Millisecond, hour)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		b, err = db.TakeJobLease(ctx, job, "b", time.Minute, hour)
		require.NoError(t, err)
		return b.Held
	}, 10*time.Second, 10*time.Millisecond)
	require.True(t, b.TookOver)
	require.False(t, b.PassDue, "a ran a pass less than a period ago: b waits for the period")
	renewed, err = db.RenewJobLease(ctx, job, "a", time.Minute)
	require.NoError(t, err)
	require.False(t, renewed, "a lapsed holder cannot renew once another took over")

	// b stops: it releases, and a takes it at its next try.
	require.NoError(t, db.ReleaseJobLease(ctx, job, "a"), "a release by a former holder changes nothing")
	c, err := db.TakeJobLease(ctx, job, "c", time.Minute, hour)
	require.NoError(t, err)
	require.False(t, c.Held, "b still holds it")
	require.NoError(t, db.ReleaseJobLease(ctx, job, "b"))
	a, err = db.TakeJobLease(ctx, job, "a", time.Minute, 0)
	require.NoError(t, err)
	require.True(t, a.Held)
	require.True(t, a.TookOver)
	require.True(t, a.PassDue, "a period of 0 has passed")
	require.EqualValues(t, 2, a.Runs, "one pass by a, then this one")

	leases, err := db.JobLeases(ctx)
	require.NoError(t, err)
	require.Len(t, leases, 1)
	require.Equal(t, "a", leases[0].Holder)
	require.True(t, leases[0].Held)
	require.EqualValues(t, 2, leases[0].Runs)
	var takeovers int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT takeovers FROM job_leases`).Scan(&takeovers))
	require.Equal(t, 3, takeovers, "a, b, a")
}

// Jobs have leases of their own: holding one says nothing of another.
func TestJobLeasesAreIndependent(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	for _, tc := range []struct {
		job, holder string
		held        bool
	}{
		{"reconciler", "a", true},
		{"campaigns", "b", true},
		{"reconciler", "b", false},
		{"campaigns", "a", false},
	} {
		l, err := db.TakeJobLease(ctx, tc.job, tc.holder, time.Minute, time.Second)
		require.NoError(t, err)
		require.Equal(t, tc.held, l.Held, "%s by %s", tc.job, tc.holder)
	}
}
