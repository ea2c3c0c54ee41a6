package mailer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests, the
// mailer's, go-mail's, the DKIM signer's or the test relay's: Close and
// cleanup must wait for them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
