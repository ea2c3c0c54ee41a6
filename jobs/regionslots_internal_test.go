package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/delivery"
)

// A region's send tasks leave a quarter of the slots to the others; one
// whose tasks run long is kept to its share, so the other regions' tasks
// still find slots; one that recovers is let go.
func TestRegionSlotsKeepAStuckRegionToItsShare(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var logged []string
	r := newRegionSlots(10, 2, func(msg string, _ ...any) { logged = append(logged, msg) })
	r.now = func() time.Time { return now }
	bounded := map[string]int{}
	r.bounded = func(region, bound string) { bounded[region+" "+bound]++ }
	require.Equal(t, 8, r.ceiling, "10 slots: 2 stay for the others")
	require.Equal(t, 4, r.share, "10 slots among eu, us and the plain queues: 4 each, rounded up")

	var eu []func()
	for range 8 {
		release, err := r.take("eu")
		require.NoError(t, err, "while its sends go well, eu takes up to its ceiling")
		eu = append(eu, release)
	}
	_, err := r.take("eu")
	var te *delivery.ThrottledError
	require.ErrorAs(t, err, &te, "past its ceiling, eu is handed back")
	require.GreaterOrEqual(t, te.Delay, regionFullRetry)
	require.Less(t, te.Delay, 2*regionFullRetry)
	require.Contains(t, err.Error(), "region eu: 8 send tasks running (its ceiling)")
	usRelease, err := r.take("us")
	require.NoError(t, err, "us finds a slot left for it")

	now = now.Add(regionStuckAfter) // eu's relay hangs: its tasks do not end
	_, err = r.take("eu")
	require.ErrorAs(t, err, &te, "eu, stuck and over its share, is handed back")
	require.GreaterOrEqual(t, te.Delay, regionStuckRetry)
	require.Less(t, te.Delay, 2*regionStuckRetry)
	require.Contains(t, err.Error(), "region eu: 8 send tasks running (its share while its sends are slow), the oldest for 45s")
	require.Len(t, logged, 1, "the confinement is logged once")

	// eu's hung tasks time out one by one; under its share it may run
	// again, though still confined.
	for _, release := range eu[:5] {
		release()
	}
	release, err := r.take("eu")
	require.NoError(t, err, "3 running, under the share of 4")
	_, err = r.take("eu")
	require.Error(t, err, "4 running again: the share is full")

	// The rest end; eu's relay answers again.
	for _, release := range eu[5:] {
		release()
	}
	release()
	now = now.Add(time.Second)
	var again []func()
	for range 8 {
		rel, err := r.take("eu")
		require.NoError(t, err, "no task of eu has run long: up to the ceiling again")
		again = append(again, rel)
	}
	require.Equal(t, []string{
		"region's sends are slow: its tasks are kept to their share of the slots",
		"region's sends go well again: its tasks may take up to the ceiling",
	}, logged)
	require.Equal(t, map[string]int{"eu ceiling": 1, "eu share": 2}, bounded, "each task handed back is counted with its bound")
	for _, rel := range again {
		rel()
	}
	usRelease()
}

func TestRegionSlotsBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ slots, regions, ceiling, share int }{
		{10, 1, 8, 5}, {10, 2, 8, 4}, {10, 3, 8, 3}, {1, 3, 1, 1}, {2, 1, 1, 1}, {4, 2, 3, 2}, {100, 4, 75, 20},
	} {
		r := newRegionSlots(tc.slots, tc.regions, nil)
		require.Equal(t, tc.ceiling, r.ceiling, "%d slots, %d regions: ceiling", tc.slots, tc.regions)
		require.Equal(t, tc.share, r.share, "%d slots, %d regions: share", tc.slots, tc.regions)
	}
}
