package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTuneGCLeavesTheOperatorsSetting: the serving processes' GC target is set
// unless GOGC or GOMEMLIMIT says otherwise. Not parallel: it changes the
// test binary's own collector, and puts it back.
func TestTuneGCLeavesTheOperatorsSetting(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{"GOGC": "200"}, 100},
		{map[string]string{"GOMEMLIMIT": "512MiB"}, 100},
		{map[string]string{}, gcPercent},
	} {
		debug.SetGCPercent(100)
		applied := tuneGC(func(k string) string { return tc.env[k] })
		require.Equal(t, tc.want, debug.SetGCPercent(100), tc.env)
		require.Equal(t, tc.want == gcPercent, applied, tc.env)
	}
}
