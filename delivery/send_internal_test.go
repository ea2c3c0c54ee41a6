package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
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
			if err != nil || delay != 0 {
				t.Fatalf("take = %v, %v", delay, err)
			}
		}
		// A burst of 10, then 20 more at 10 a second.
		if got := time.Since(start); got < 2*time.Second || got > 2100*time.Millisecond {
			t.Fatalf("30 sends at 10/s took %v of the bubble's clock, want 2s", got)
		}
		if shared.takes > 3 {
			t.Fatalf("the shared rate was asked %d times in 2s, want once a second at most", shared.takes)
		}
	})
}

// Without a local rate, a shared rate that is away does not stop sending.
func TestTakeWithoutLocalRateSendsWhileTheSharedOneIsAway(t *testing.T) {
	d := &Deliverer{cfg: Config{Throttle: &downThrottle{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	delay, err := d.take(context.Background())
	if err != nil || delay != 0 {
		t.Fatalf("take = %v, %v", delay, err)
	}
}
