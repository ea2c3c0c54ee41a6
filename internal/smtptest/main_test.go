package smtptest_test

import (
	"testing"

	"github.com/nurture-email/nurture/internal/testkit"
)

// TestMain fails the run when a goroutine of the server outlives its test:
// cleanup is supposed to wait for every one of them.
func TestMain(m *testing.M) {
	testkit.RunWithoutLeaks(m, "emersion/go-smtp", "nurture/internal/smtptest")
}
