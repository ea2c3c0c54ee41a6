package smtptest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: cleanup is
// supposed to wait for every goroutine of the server.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
