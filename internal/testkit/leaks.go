package testkit

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// RunWithoutLeaks runs a package's tests and then fails the run when a
// goroutine whose stack mentions one of packages outlives them (after up
// to five seconds of grace): Close and cleanup functions must wait for what
// they started. Call it from TestMain; it does not return.
func RunWithoutLeaks(m *testing.M, packages ...string) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5*time.Second, packages); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left behind after all tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to patience for the goroutines running code of
// packages to end, and returns the stacks of those that do not.
func leakedGoroutines(patience time.Duration, packages []string) string {
	deadline := time.Now().Add(patience)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 {
				continue // the calling goroutine comes first
			}
			for _, pkg := range packages {
				if strings.Contains(g, pkg) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
