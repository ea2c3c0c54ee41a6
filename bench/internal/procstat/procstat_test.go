package procstat

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStatCPUReadsUserAndSystemTimeAfterTheName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
	}{
		{"plain", "123 (postgres) S 1 123 123 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 100 0 0", 2 * time.Second},
		{"spaces in the name", "7 (my worker) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 0 0", 70 * time.Millisecond},
		{"cut short", "9 (x) S 1 2", 0},
		{"no name", "garbage", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, StatCPU([]byte(tc.stat)))
		})
	}
}

func TestDBNameOfURL(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/nurture_seqload?sslmode=disable": "nurture_seqload",
		"postgres://127.0.0.1/bench":                                         "bench",
	} {
		require.Equal(t, want, DBName(url), url)
	}
}

func TestReadersSeeTheTestsOwnProcess(t *testing.T) {
	pid := os.Getpid()
	before, machineBefore := ProcessCPU(pid), MachineCPU()
	// Spin until the process's CPU time has moved by a few ticks.
	x := 0
	for deadline := time.Now().Add(5 * time.Second); ProcessCPU(pid)-before < 3*clockTick && time.Now().Before(deadline); {
		for i := range 1_000_000 {
			x += i
		}
	}
	require.NotZero(t, x)
	require.GreaterOrEqual(t, ProcessCPU(pid)-before, 3*clockTick, "this process's CPU after spinning")
	require.Greater(t, MachineCPU(), machineBefore, "the machine's busy time after spinning")
	require.Greater(t, PeakRSS(pid), int64(1<<20), "this process's peak RSS")
	require.Zero(t, ProcessCPU(-1), "no such process")
}
