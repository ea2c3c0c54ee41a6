package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// downThrottle is a shared rate that cannot be reached.
type downThrottle struct{ takes int }

func (d *downThrottle) Take(context.Context) (bool, time.Duration, error) {
	d.takes++
	return false, 0, errors.New("redis: connection refused")
}
func (d *downThrottle) SlowDown(context.Context) error { return nil }

// While the shared rate is away, a process keeps to LocalRate on its own
// (a Redis outage must not flood the relay), and asks the shared rate again
// only once a second.
func TestTakeKeepsToTheLocalRateWhileTheSharedOneIsAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &downThrottle{}
		d := &Deliverer{cfg: Config{Throttle: shared, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			limiter: newLocalLimiter(10)}
		start := time.Now()
		for range 30 {
			delay, err := d.take(context.Background())
			require.NoError(t, err)
			require.Zero(t, delay)
		}
		// A burst of 10, then 20 more at 10 a second.
		got := time.Since(start)
		require.GreaterOrEqual(t, got, 2*time.Second, "30 sends at 10/s, on the bubble's clock")
		require.LessOrEqual(t, got, 2100*time.Millisecond, "30 sends at 10/s, on the bubble's clock")
		require.LessOrEqual(t, shared.takes, 3, "the shared rate is asked once a second at most")
	})
}

// Without a local rate, a shared rate that is away does not stop sending.
func TestTakeWithoutLocalRateSendsWhileTheSharedOneIsAway(t *testing.T) {
	d := &Deliverer{cfg: Config{Throttle: &downThrottle{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	delay, err := d.take(context.Background())
	require.NoError(t, err)
	require.Zero(t, delay)
}
