package mailer_test

import (
	"testing"

	"github.com/nurture-email/nurture/internal/testkit"
)

// TestMain fails the run when a goroutine of the mailer, go-mail, the DKIM
// signer or the test relay outlives the tests: Close and cleanup must wait
// for them all.
func TestMain(m *testing.M) {
	testkit.RunWithoutLeaks(m, "emersion/go-smtp", "emersion/go-msgauth", "wneessen/go-mail",
		"nurture/internal/smtptest", "nurture/mailer.", "nurture/mailer_test.")
}
