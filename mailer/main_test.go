package mailer_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a goroutine of the mailer, go-mail, the DKIM
// signer or the test relay outlives the tests: Close and cleanup must wait
// for them all.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left behind after all tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to patience for goroutines running our SMTP
// code to end, and returns the stacks of those that do not.
func leakedGoroutines(patience time.Duration) string {
	deadline := time.Now().Add(patience)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 {
				continue // the calling goroutine comes first
			}
			if isOurs(g) {
				leaked = append(leaked, g)
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

func isOurs(stack string) bool {
	for _, pkg := range []string{"emersion/go-smtp", "emersion/go-msgauth", "wneessen/go-mail", "nurture/internal/smtptest", "nurture/mailer.", "nurture/mailer_test."} {
		if strings.Contains(stack, pkg) {
			return true
		}
	}
	return false
}
