package smtptest_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtptest"
)

const plainMessage = "From: Ann <ann@example.com>\r\n" +
	"To: bob@example.com\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"\r\n" +
	"Hello Bob.\r\n"

// send delivers one message over a fresh connection with net/smtp.
func send(t *testing.T, s *smtptest.Server, from string, to []string, data string) error {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	require.NoError(t, err, "dial")
	defer c.Close()
	return transact(c, from, to, data)
}

func transact(c *smtp.Client, from string, to []string, data string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(data)); err != nil {
		return err
	}
	return w.Close()
}

// replyCode returns the SMTP reply code in err, or 0 when err is not a reply.
func replyCode(err error) int {
	code, _ := reply(err)
	return code
}

// reply returns the SMTP reply code and text in err, or 0 and "".
func reply(err error) (int, string) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg
	}
	return 0, ""
}

func TestAcceptsAndRecords(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)

	require.NoError(t, send(t, s, "ann@example.com", []string{"bob@example.com", "cy@example.com"}, plainMessage))
	msgs := s.WaitForMessages(t, 1, 5*time.Second)
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, "ann@example.com", m.From)
	require.Equal(t, []string{"bob@example.com", "cy@example.com"}, m.To)
	require.Equal(t, "Grüße", m.Header("Subject"), "the subject, decoded")
	require.Equal(t, "Ann <ann@example.com>", m.Header("From"))
	require.Empty(t, m.Header("X-Missing"))
	require.Equal(t, "Hello Bob.", m.Part("text/plain"))
	require.Empty(t, m.User, "no AUTH, no user")
	require.Equal(t, "localhost", m.Helo, "what net/smtp says unless told otherwise")
	require.Equal(t, 1, s.Sessions())
	require.True(t, strings.HasPrefix(s.URL(), "smtp://127.0.0.1:"), s.URL())
	require.True(t, strings.HasSuffix(s.URL(), "?tls=none"), s.URL())
}

func TestMessagesAreCopies(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	require.NoError(t, send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage))
	m := s.WaitForMessages(t, 1, 5*time.Second)[0]
	m.To[0] = "changed"
	m.Data[0] = 'X'
	again := s.Messages()[0]
	require.Equal(t, "b@example.com", again.To[0], "Messages shares memory with the caller's copy")
	require.Equal(t, byte('F'), again.Data[0], "Messages shares memory with the caller's copy")
}

func TestScriptedFailureThenSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stage smtptest.Stage
	}{
		{smtptest.StageMail},
		{smtptest.StageRcpt},
		{smtptest.StageData},
	}
	for _, tt := range tests {
		t.Run(tt.stage.String(), func(t *testing.T) {
			t.Parallel()
			s := smtptest.Start(t)
			s.Fail(smtptest.Failure{Stage: tt.stage, Code: 451, Enhanced: [3]int{4, 3, 0}, Message: "try later", Times: 1})

			err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
			code, text := reply(err)
			require.Equal(t, 451, code, "first send: %v", err)
			require.Equal(t, "4.3.0 try later", text, "first send")
			require.NoError(t, send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage), "second send")
			require.Len(t, s.WaitForMessages(t, 1, 5*time.Second), 1, "only the second is recorded")
		})
	}
}

func TestPermanentFailureForMatchingRecipient(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Message: "no such user", Match: "bad@"})

	for range 3 {
		err := send(t, s, "a@example.com", []string{"bad@example.com"}, plainMessage)
		require.Equal(t, 550, replyCode(err), "send to bad@: %v", err)
		require.ErrorContains(t, err, "5.1.1")
	}
	require.NoError(t, send(t, s, "a@example.com", []string{"good@example.com"}, plainMessage), "send to good@")
	msgs := s.WaitForMessages(t, 1, 5*time.Second)
	require.Len(t, msgs, 1)
	require.Equal(t, "good@example.com", msgs[0].To[0])
}

func TestFailureMatchesSenderAtMail(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageMail, Code: 553, Match: "spoof"})

	err := send(t, s, "spoof@example.com", []string{"b@example.com"}, plainMessage)
	require.Equal(t, 553, replyCode(err), "send from spoof@: %v", err)
	require.ErrorContains(t, err, "5.0.0 scripted failure", "the default enhanced code and text")
	require.NoError(t, send(t, s, "ok@example.com", []string{"b@example.com"}, plainMessage), "send from ok@")
}

func TestFailuresFireInOrder(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Code: 452, Times: 2})
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Code: 554, Times: 1})

	var codes []int
	for range 4 {
		codes = append(codes, replyCode(send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)))
	}
	require.Equal(t, []int{452, 452, 554, 0}, codes)
}

func TestDropMidData(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Drop: true, Times: 1})

	// A body larger than the socket buffers, so the drop really is mid-DATA.
	big := plainMessage + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 1<<14)
	err := send(t, s, "a@example.com", []string{"b@example.com"}, big)
	require.Error(t, err, "a network error")
	require.Zero(t, replyCode(err), "no reply: %v", err)
	require.Empty(t, s.Messages(), "nothing recorded after a drop")
	require.NoError(t, send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage), "send after drop")
	s.WaitForMessages(t, 1, 5*time.Second)
	require.Equal(t, 2, s.Sessions())
}

func TestCloseAfterDotRecordsWithoutReply(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Times: 1})
	err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
	require.Error(t, err, "the connection closed")
	require.Zero(t, replyCode(err), "no reply: %v", err)
	require.Len(t, s.Messages(), 1, "the message whose reply was lost is recorded")
}

func TestDelayHoldsTheReplyBack(t *testing.T) {
	t.Parallel()
	for _, f := range []smtptest.Failure{
		{Stage: smtptest.StageRcpt, Delay: 20 * time.Millisecond, Times: 1},
		{Stage: smtptest.StageData, Delay: 20 * time.Millisecond, Times: 1},
		{Stage: smtptest.StageData, Delay: 20 * time.Millisecond, Code: 554, Times: 1},
	} {
		t.Run(fmt.Sprintf("%v/%d", f.Stage, f.Code), func(t *testing.T) {
			t.Parallel()
			s := smtptest.Start(t)
			s.Fail(f)
			err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
			require.Equal(t, f.Code, replyCode(err), "the reply after the delay: %v", err)
			require.Len(t, s.Messages(), map[bool]int{true: 1, false: 0}[f.Code == 0])
		})
	}
}

func TestHangNeverReplies(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Hang: true, Times: 1})
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	c, err := smtp.NewClient(conn, "127.0.0.1")
	require.NoError(t, err)
	defer c.Close()
	_ = conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
	err = transact(c, "a@example.com", []string{"b@example.com"}, plainMessage)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a timeout waiting for the reply")
	require.Empty(t, s.Messages(), "nothing recorded for a hung reply")
	// The server's cleanup ends the hung session (TestMain checks that no
	// goroutine outlives it).
}

func TestDropAtRcpt(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Drop: true})
	err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
	require.Error(t, err, "a network error")
	require.Zero(t, replyCode(err), "no reply: %v", err)
}

func TestAuthPlainRecordsUser(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	c, err := smtp.Dial(s.Addr())
	require.NoError(t, err)
	defer c.Close()
	// net/smtp sends PLAIN without TLS only to localhost; 127.0.0.1 counts.
	require.NoError(t, c.Auth(smtp.PlainAuth("", "relay-user", "any password", "127.0.0.1")), "auth")
	require.NoError(t, transact(c, "a@example.com", []string{"b@example.com"}, plainMessage))
	require.Equal(t, "relay-user", s.WaitForMessages(t, 1, 5*time.Second)[0].User)
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t, smtptest.WithStartTLS())
	require.True(t, strings.HasSuffix(s.URL(), "?tls=starttls"), s.URL())
	c, err := smtp.Dial(s.Addr())
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("STARTTLS")
	require.True(t, ok, "STARTTLS offered")
	require.NoError(t, c.StartTLS(s.ClientTLSConfig()), "starttls")
	require.NoError(t, transact(c, "a@example.com", []string{"b@example.com"}, plainMessage))
	s.WaitForMessages(t, 1, 5*time.Second)
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t, smtptest.WithImplicitTLS())
	require.True(t, strings.HasPrefix(s.URL(), "smtps://127.0.0.1:"), s.URL())
	conn, err := tls.Dial("tcp", s.Addr(), s.ClientTLSConfig())
	require.NoError(t, err, "tls dial")
	c, err := smtp.NewClient(conn, "127.0.0.1")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, transact(c, "a@example.com", []string{"b@example.com"}, plainMessage))
	s.WaitForMessages(t, 1, 5*time.Second)
	require.Nil(t, smtptest.Start(t).ClientTLSConfig(), "ClientTLSConfig of a plain server")
}

// fatalRecorder stands in for a test in order to observe a helper failing it.
type fatalRecorder struct {
	testing.TB
	failed string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestWaitForMessagesFailsTheTest(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	require.Nil(t, s.WaitForMessages(rec, 1, 50*time.Millisecond))
	require.Contains(t, rec.failed, "0 of 1 messages")
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "returned before the timeout")
}

func TestWaitForMessagesWakesOnArrival(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	errc := make(chan error, 3)
	for i := range 3 {
		go func() {
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			c, err := smtp.Dial(s.Addr())
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			errc <- transact(c, "a@example.com", []string{fmt.Sprintf("r%d@example.com", i)}, plainMessage)
		}()
	}
	require.Len(t, s.WaitForMessages(t, 3, 5*time.Second), 3)
	for range 3 {
		require.NoError(t, <-errc)
	}
}

func TestPart(t *testing.T) {
	t.Parallel()
	nested := "From: a@example.com\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n" +
		"\r\n" +
		"--outer\r\n" +
		"Content-Type: multipart/alternative; boundary=\"inner\"\r\n" +
		"\r\n" +
		"--inner\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Gr=C3=BC=C3=9Fe, a line that goes on and on and on and on and on and on an=\r\n" +
		"d on.\r\n" +
		"--inner\r\n" +
		"Content-Type: TEXT/HTML; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"PHA+R3LDvMOfZTwv\r\n" +
		"cD4=\r\n" +
		"--inner--\r\n" +
		"--outer\r\n" +
		"Content-Type: application/pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"JVBERi0=\r\n" +
		"--outer--\r\n"
	tests := []struct {
		name, data, contentType, want string
	}{
		{"single part without content type", plainMessage, "text/plain", "Hello Bob."},
		{"single part, other type asked", plainMessage, "text/html", ""},
		{"nested quoted-printable", nested, "text/plain", "Grüße, a line that goes on and on and on and on and on and on and on."},
		{"nested base64, type case-insensitive", nested, "text/html", "<p>Grüße</p>"},
		{"attachment", nested, "application/pdf", "%PDF-"},
		{"absent", nested, "image/png", ""},
		{"not a message", "garbage without headers", "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := smtptest.Message{Data: []byte(tt.data)}
			require.Equal(t, tt.want, m.Part(tt.contentType), "Part(%q)", tt.contentType)
		})
	}
}
