package procstat

import (
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
