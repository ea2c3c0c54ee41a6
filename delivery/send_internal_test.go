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

// scriptedThrottle answers Take from a script of waits: 0 is room now,
// a negative wait is an error.
type scriptedThrottle struct{ waits []time.Duration }

func (s *scriptedThrottle) Take(context.Context) (bool, time.Duration, error) {
	w := s.waits[0]
	s.waits = s.waits[1:]
	switch {
	case w < 0:
		return false, 0, errors.New("redis: connection refused")
	case w == 0:
		return true, 0, nil
	}
	return false, w, nil
}
func (s *scriptedThrottle) SlowDown(context.Context) error { return nil }

// throttleLog is an Observer that lists what it is told.
type throttleLog []string

func (l *throttleLog) RelayThrottle(outcome string)  { *l = append(*l, outcome) }
func (l *throttleLog) MessageOutcome(string, string) {}

// Each ask of the relay's rate is told to the Observer by its outcome:
// what nurture_relay_throttle_takes_total counts.
func TestTakeTellsTheObserver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		waits []time.Duration
		want  string
	}{
		{"room at once", []time.Duration{0}, ThrottlePassed},
		{"room after a short wait", []time.Duration{300 * time.Millisecond, 0}, ThrottleWaited},
		{"no room for seconds", []time.Duration{5 * time.Second}, ThrottleDeferred},
		{"shared rate away", []time.Duration{-1}, ThrottleUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var told throttleLog
				d := &Deliverer{cfg: Config{Throttle: &scriptedThrottle{waits: tc.waits}, Observer: &told,
					Logger: slog.New(slog.DiscardHandler)}}
				_, err := d.take(context.Background())
				require.NoError(t, err)
				require.Equal(t, throttleLog{tc.want}, told)
			})
		})
	}
}
