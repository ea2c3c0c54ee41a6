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
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
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

	if err := send(t, s, "ann@example.com", []string{"bob@example.com", "cy@example.com"}, plainMessage); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := s.WaitForMessages(t, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "ann@example.com" {
		t.Errorf("From = %q", m.From)
	}
	if strings.Join(m.To, ",") != "bob@example.com,cy@example.com" {
		t.Errorf("To = %q", m.To)
	}
	if got := m.Header("Subject"); got != "Grüße" {
		t.Errorf("Subject = %q, want decoded Grüße", got)
	}
	if got := m.Header("From"); got != "Ann <ann@example.com>" {
		t.Errorf("From header = %q", got)
	}
	if got := m.Header("X-Missing"); got != "" {
		t.Errorf("missing header = %q, want empty", got)
	}
	if got := m.Part("text/plain"); got != "Hello Bob." {
		t.Errorf("text part = %q", got)
	}
	if m.User != "" {
		t.Errorf("User = %q without AUTH", m.User)
	}
	if m.Helo != "localhost" { // what net/smtp says unless told otherwise
		t.Errorf("Helo = %q, want localhost", m.Helo)
	}
	if got := s.Sessions(); got != 1 {
		t.Errorf("Sessions = %d, want 1", got)
	}
	if !strings.HasPrefix(s.URL(), "smtp://127.0.0.1:") || !strings.HasSuffix(s.URL(), "?tls=none") {
		t.Errorf("URL = %q", s.URL())
	}
}

func TestMessagesAreCopies(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	if err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatal(err)
	}
	m := s.WaitForMessages(t, 1, 5*time.Second)[0]
	m.To[0] = "changed"
	m.Data[0] = 'X'
	again := s.Messages()[0]
	if again.To[0] != "b@example.com" || again.Data[0] != 'F' {
		t.Fatalf("Messages shares memory with the caller's copy: %q %q", again.To[0], again.Data[:1])
	}
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
			if code, text := reply(err); code != 451 || text != "4.3.0 try later" {
				t.Fatalf("first send: %v, want 451 4.3.0 try later", err)
			}
			if err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
				t.Fatalf("second send: %v", err)
			}
			if got := len(s.WaitForMessages(t, 1, 5*time.Second)); got != 1 {
				t.Fatalf("%d messages recorded, want only the second", got)
			}
		})
	}
}

func TestPermanentFailureForMatchingRecipient(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Message: "no such user", Match: "bad@"})

	for range 3 {
		err := send(t, s, "a@example.com", []string{"bad@example.com"}, plainMessage)
		if replyCode(err) != 550 || !strings.Contains(err.Error(), "5.1.1") {
			t.Fatalf("send to bad@: %v, want 550 5.1.1", err)
		}
	}
	if err := send(t, s, "a@example.com", []string{"good@example.com"}, plainMessage); err != nil {
		t.Fatalf("send to good@: %v", err)
	}
	msgs := s.WaitForMessages(t, 1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "good@example.com" {
		t.Fatalf("messages = %+v, want only good@", msgs)
	}
}

func TestFailureMatchesSenderAtMail(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageMail, Code: 553, Match: "spoof"})

	err := send(t, s, "spoof@example.com", []string{"b@example.com"}, plainMessage)
	if replyCode(err) != 553 || !strings.Contains(err.Error(), "5.0.0 scripted failure") {
		t.Fatalf("send from spoof@: %v, want 553 with the default enhanced code and text", err)
	}
	if err := send(t, s, "ok@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatalf("send from ok@: %v", err)
	}
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
	if fmt.Sprint(codes) != "[452 452 554 0]" {
		t.Fatalf("reply codes = %v, want [452 452 554 0]", codes)
	}
}

func TestDropMidData(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Drop: true, Times: 1})

	// A body larger than the socket buffers, so the drop really is mid-DATA.
	big := plainMessage + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 1<<14)
	err := send(t, s, "a@example.com", []string{"b@example.com"}, big)
	if err == nil || replyCode(err) != 0 {
		t.Fatalf("send: %v, want a network error without a reply", err)
	}
	if got := len(s.Messages()); got != 0 {
		t.Fatalf("%d messages recorded after a drop", got)
	}
	if err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatalf("send after drop: %v", err)
	}
	s.WaitForMessages(t, 1, 5*time.Second)
	if got := s.Sessions(); got != 2 {
		t.Fatalf("Sessions = %d, want 2", got)
	}
}

func TestCloseAfterDotRecordsWithoutReply(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Times: 1})
	err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
	if err == nil || replyCode(err) != 0 {
		t.Fatalf("send: %v, want the connection closed without a reply", err)
	}
	if got := len(s.Messages()); got != 1 {
		t.Fatalf("%d messages recorded, want the one whose reply was lost", got)
	}
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
			if got := replyCode(err); got != f.Code {
				t.Fatalf("send: %v, want reply code %d after the delay", err, f.Code)
			}
			if want, got := map[bool]int{true: 1, false: 0}[f.Code == 0], len(s.Messages()); got != want {
				t.Fatalf("%d messages recorded, want %d", got, want)
			}
		})
	}
}

func TestHangNeverReplies(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageData, Hang: true, Times: 1})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
	err = transact(c, "a@example.com", []string{"b@example.com"}, plainMessage)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("send: %v, want a timeout waiting for the reply", err)
	}
	if got := len(s.Messages()); got != 0 {
		t.Fatalf("%d messages recorded for a hung reply", got)
	}
	// The server's cleanup ends the hung session (TestMain checks that no
	// goroutine outlives it).
}

func TestDropAtRcpt(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	s.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Drop: true})
	err := send(t, s, "a@example.com", []string{"b@example.com"}, plainMessage)
	if err == nil || replyCode(err) != 0 {
		t.Fatalf("send: %v, want a network error", err)
	}
}

func TestAuthPlainRecordsUser(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// net/smtp sends PLAIN without TLS only to localhost; 127.0.0.1 counts.
	if err := c.Auth(smtp.PlainAuth("", "relay-user", "any password", "127.0.0.1")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	if err := transact(c, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitForMessages(t, 1, 5*time.Second)[0].User; got != "relay-user" {
		t.Fatalf("User = %q, want relay-user", got)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t, smtptest.WithStartTLS())
	if !strings.HasSuffix(s.URL(), "?tls=starttls") {
		t.Errorf("URL = %q", s.URL())
	}
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if err := c.StartTLS(s.ClientTLSConfig()); err != nil {
		t.Fatalf("starttls: %v", err)
	}
	if err := transact(c, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatal(err)
	}
	s.WaitForMessages(t, 1, 5*time.Second)
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t, smtptest.WithImplicitTLS())
	if !strings.HasPrefix(s.URL(), "smtps://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL())
	}
	conn, err := tls.Dial("tcp", s.Addr(), s.ClientTLSConfig())
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := transact(c, "a@example.com", []string{"b@example.com"}, plainMessage); err != nil {
		t.Fatal(err)
	}
	s.WaitForMessages(t, 1, 5*time.Second)
	if smtptest.Start(t).ClientTLSConfig() != nil {
		t.Error("ClientTLSConfig of a plain server is not nil")
	}
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
	if got := s.WaitForMessages(rec, 1, 50*time.Millisecond); got != nil {
		t.Errorf("returned %v", got)
	}
	if !strings.Contains(rec.failed, "0 of 1 messages") {
		t.Errorf("failure message = %q", rec.failed)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", d)
	}
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
	if got := len(s.WaitForMessages(t, 3, 5*time.Second)); got != 3 {
		t.Fatalf("got %d", got)
	}
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
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
			if got := m.Part(tt.contentType); got != tt.want {
				t.Errorf("Part(%q) = %q, want %q", tt.contentType, got, tt.want)
			}
		})
	}
}
