package mailer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/mailer"
)

// The mailer uses go-mail (v0.8.1) for what it does well, dialling,
// STARTTLS, EHLO and AUTH, through its public API
// (DialToSMTPClientWithContext, Extension, Reset, CloseWithSMTPClient),
// and then runs the mail transaction itself on the connection's exported
// smtp.Client.Text, so that MAIL, RCPT and DATA are pipelined (two round
// trips a message instead of five, the margin docs/benchmarks.md measures;
// one on a busy connection, where they follow the previous message's
// data) and the signed bytes go out as they are. That leans on behaviour go-mail
// does not promise; TestGoMailContract pins it, so that an upgrade that
// changes it fails here rather than in production:
//
//   - the dial leaves the session ready for MAIL and nothing unread: EHLO
//     with Config.HELO, AUTH, and no other command (a NOOP or an RSET of
//     go-mail's own would put the transaction out of step);
//   - Text is the live conversation after STARTTLS (TestAuthentication's
//     STARTTLS case sends through it);
//   - Reset after a transaction go-mail did not see sends RSET, and
//     closing sends QUIT;
//   - go-mail sets its connection deadline once, at the dial, and only
//     through the net.Conn the dial function returned: that conn ignores
//     it and gives every read and write a deadline of its own (conn.go),
//     so a pooled connection lives past Config.Timeout from its dial.
func TestGoMailContract(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	p := startProxy(t, relay.Addr())
	m, err := mailer.New(mailer.Config{
		URL:     "smtp://relay-user:s3cret@" + p.ln.Addr().String() + "?tls=none",
		HELO:    "mta.nurture.test",
		Timeout: 2 * time.Second,
	})
	require.NoError(t, err)
	defer m.Close()

	// Three messages whose RCPT replies take a second each: the third goes
	// out more than Timeout after the dial, on the same connection.
	relay.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Delay: time.Second, Times: 3})
	for i := range 3 {
		require.NoError(t, m.Send(t.Context(), newEmail("slow-"+string(rune('a'+i)))),
			"Send %d (did go-mail's dial deadline come back?)", i)
	}
	relay.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Times: 1})
	err = m.Send(t.Context(), newEmail("refused"))
	require.Equal(t, nurture.DeliveryPermanent, nurture.DeliveryKindOf(err), "Send = %v, want permanent", err)
	require.NoError(t, m.Close())
	require.Equal(t, 1, p.connections(), "connections for the whole test")

	transaction := []string{"MAIL FROM:<team@nurture.test>", "RCPT TO:<joerg@example.com>", "DATA"}
	var want []string
	want = append(want, "EHLO mta.nurture.test", "AUTH PLAIN")
	for range 3 {
		want = append(want, transaction...)
		want = append(want, "<message>")
	}
	want = append(want, transaction...)
	want = append(want, "RSET", "QUIT")
	require.Equal(t, strings.Join(want, "\n"), strings.Join(commands(p.clientSent()), "\n"), "what the client said")
}

// commands reads a client's side of SMTP conversations as its commands,
// a message's data as "<message>" and AUTH without its credentials.
func commands(sent string) []string {
	var out []string
	inData := false
	for _, line := range strings.Split(strings.TrimSuffix(sent, "\r\n"), "\r\n") {
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case inData && line == ".":
			inData = false
		case inData:
		case out != nil && out[len(out)-1] == "DATA" && !isVerb(verb):
			inData = true
			out = append(out, "<message>")
		case verb == "AUTH":
			out = append(out, strings.Join(strings.Fields(line)[:2], " "))
		default:
			out = append(out, line)
		}
	}
	return out
}

func isVerb(s string) bool {
	switch s {
	case "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "AUTH", "STARTTLS":
		return true
	}
	return false
}
