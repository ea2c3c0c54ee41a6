package mailer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// scriptedRelay is a minimal SMTP server on loopback for one connection.
// It answers every command as a relay that takes the message would, except
// at one stage, where it writes raw bytes instead, then closes its side of
// the connection (a FIN, so that the client reads the end of the stream
// rather than waiting) and reads whatever the client still sends until the
// client hangs up. What the client makes of raw is then all in raw.
type scriptedRelay struct {
	ln   net.Listener
	done chan struct{}
}

func startScripted(tb testing.TB, at stage, raw []byte) *scriptedRelay {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &scriptedRelay{ln: ln, done: make(chan struct{})}
	go r.serve(at, raw)
	tb.Cleanup(func() {
		_ = ln.Close()
		<-r.done
	})
	return r
}

func (r *scriptedRelay) url() string { return "smtp://" + r.ln.Addr().String() + "?tls=none" }

func (r *scriptedRelay) serve(at stage, raw []byte) {
	defer close(r.done)
	c, err := r.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a test bug must not hang the run
	in := bufio.NewReader(c)
	say := func(s string) bool { _, err := io.WriteString(c, s); return err == nil }
	script := func() {
		_, _ = c.Write(raw)
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, in)
	}
	if !say("220 scripted ESMTP\r\n") {
		return
	}
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		var st stage
		switch verb {
		case "EHLO", "HELO":
			if !say("250-scripted\r\n250 PIPELINING\r\n") {
				return
			}
			continue
		case "MAIL":
			st = stageMail
		case "RCPT":
			st = stageRcpt
		case "DATA":
			st = stageData
		case "QUIT":
			say("221 bye\r\n")
			return
		default: // RSET, NOOP
			if !say("250 ok\r\n") {
				return
			}
			continue
		}
		if st == at {
			script()
			return
		}
		ok := map[stage]string{stageMail: "250 ok\r\n", stageRcpt: "250 ok\r\n", stageData: "354 go on\r\n"}[st]
		if !say(ok) {
			return
		}
		if st != stageData {
			continue
		}
		for { // the message, up to its final dot
			l, err := in.ReadString('\n')
			if err != nil {
				return
			}
			if l == ".\r\n" {
				break
			}
		}
		if at == stageEnd {
			script()
			return
		}
		if !say("250 queued\r\n") {
			return
		}
	}
}

// sendScripted sends one message through a relay scripted to answer raw at
// stage, with or without pipelining, and returns Send's error. A Send that
// runs into a timeout fails the test: with the relay's side closed, every
// read ends at once, so a timeout means the client waited for nothing.
func sendScripted(t *testing.T, at stage, raw []byte, pipelining bool) error {
	t.Helper()
	r := startScripted(t, at, raw)
	m, err := New(Config{URL: r.url(), PoolSize: 1, Timeout: 20 * time.Second, DataReplyTimeout: 20 * time.Second})
	require.NoError(t, err)
	m.noPipelining = !pipelining
	err = m.Send(t.Context(), testEmail("scripted"))
	_ = m.Close()
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "Send hung on the reply %q at %v", raw, at)
	return err
}

// TestReplyKinds is the classification of relays' answers, as relays
// write them, at each stage of the transaction.
func TestReplyKinds(t *testing.T) {
	t.Parallel()
	const (
		delivered = nurture.DeliveryKind("")
		temporary = nurture.DeliveryTemporary
		throttled = nurture.DeliveryThrottled
		permanent = nurture.DeliveryPermanent
		rejected  = nurture.DeliveryRejected
		unknown   = nurture.DeliveryUnknown
	)
	tests := []struct {
		stage stage
		reply string
		kind  nurture.DeliveryKind
	}{
		// MAIL FROM: about our sender, never the recipient.
		{stageMail, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go on\r\n250 2.0.0 queued\r\n", delivered},
		{stageMail, "451 4.3.0 Temporary lookup failure\r\n", temporary},
		{stageMail, "421 4.7.0 Too many connections, closing\r\n", throttled},
		{stageMail, "550 5.7.1 Client host rejected: cannot find your reverse hostname\r\n", rejected},
		{stageMail, "553 5.1.8 Sender address rejected: Domain not found\r\n", rejected},
		{stageMail, "530 5.7.0 Must issue a STARTTLS command first\r\n", rejected},
		{stageMail, "550-5.4.5 Daily user sending limit exceeded.\r\n550 5.4.5 See the help center\r\n", rejected},

		// RCPT TO: the recipient, unless the reply says otherwise.
		{stageRcpt, "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown\r\n", permanent},
		{stageRcpt, "550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser\r\n", permanent},
		{stageRcpt, "550 5.4.1 Recipient address rejected: Access denied\r\n", permanent},
		{stageRcpt, "552 5.2.2 Mailbox full\r\n", permanent},
		{stageRcpt, "550 Requested action not taken: mailbox unavailable\r\n", permanent},
		{stageRcpt, "550 5.0.0 no such user\r\n", permanent},
		{stageRcpt, "553 sorry, that domain isn't in my list of allowed rcpthosts\r\n", permanent},
		{stageRcpt, "554 5.7.1 <ada@example.com>: Relay access denied\r\n", rejected},
		{stageRcpt, "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org\r\n", rejected},
		{stageRcpt, "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy\r\n", rejected},
		{stageRcpt, "554 Transaction failed\r\n", rejected},
		{stageRcpt, "503 5.5.1 Error: need MAIL command\r\n", rejected},
		{stageRcpt, "552 Too many recipients\r\n", temporary},
		{stageRcpt, "450 4.2.1 The user you are trying to contact is receiving mail too quickly\r\n", temporary},
		{stageRcpt, "451 4.7.1 Greylisted, please try again in 300 seconds\r\n", temporary},
		{stageRcpt, "454 Throttling failure: Maximum sending rate exceeded.\r\n", throttled},
		{stageRcpt, "421-4.7.28 Our system has detected an unusual rate of unsolicited mail.\r\n421 4.7.28 Please slow down\r\n", throttled},
		{stageRcpt, "451 4.4.5 Server busy, try again later\r\n", throttled},
		{stageRcpt, "452 4.7.28 Rate limited\r\n", throttled},

		// The DATA command.
		{stageData, "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 queued\r\n", delivered},
		{stageData, "554 5.5.1 Error: no valid recipients\r\n", rejected},
		{stageData, "451 4.3.0 Try again\r\n", temporary},
		{stageData, "250 Ok\r\n", temporary}, // out of step: not a refusal, not a go-ahead

		// After the final dot: our message, unless the code is about the
		// mailbox.
		{stageEnd, "250 2.0.0 Ok: queued as 4Zx\r\n", delivered},
		{stageEnd, "250\r\n", delivered}, // RFC 5321 4.2: the text is optional
		{stageEnd, "250-2.0.0 Ok\r\n250 queued\r\n", delivered},
		{stageEnd, "251 2.1.5 will forward\n", delivered},
		{stageEnd, "554 5.6.0 Message contains a header line longer than 998 characters\r\n", rejected},
		{stageEnd, "554 line too long\r\n", rejected},
		{stageEnd, "552 5.3.4 Message size exceeds fixed limit\r\n", rejected},
		{stageEnd, "552 5.2.3 Message exceeds local size limit\r\n", rejected},
		{stageEnd, "550 5.7.1 Message rejected as spam\r\n", rejected},
		{stageEnd, "550 Message rejected\r\n", rejected},
		{stageEnd, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\r\n", permanent},
		{stageEnd, "552 5.2.2 Mailbox full\r\n", permanent},
		{stageEnd, "451 4.3.0 Error: queue file write error\r\n", temporary},
		{stageEnd, "421 4.3.2 System shutting down\r\n", throttled},
		{stageEnd, "", unknown},                         // closed without a word
		{stageEnd, "250 2.0.0 Ok: queu", unknown},       // cut short
		{stageEnd, "hello\r\n", unknown},                // not a reply
		{stageEnd, "250-Ok\r\n251 queued\r\n", unknown}, // a continuation of another code
		{stageEnd, "354 go on\r\n", unknown},
		{stageEnd, strings.Repeat("250-x\r\n", maxReplyLines) + "250 ok\r\n", unknown},
		{stageEnd, "250 " + strings.Repeat("x", maxReplyLine) + "\r\n", unknown},
		{stageRcpt, "", temporary},
		{stageRcpt, "55O 5.1.1 user unknown\r\n", temporary},
	}
	for _, tt := range tests {
		for _, pipelining := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/%.40q/pipelining=%t", tt.stage, tt.reply, pipelining), func(t *testing.T) {
				t.Parallel()
				err := sendScripted(t, tt.stage, []byte(tt.reply), pipelining)
				require.Equal(t, tt.kind, nurture.DeliveryKindOf(err), "Send = %v", err)
				if tt.kind == delivered {
					require.NoError(t, err, "Send")
					return
				}
				require.Error(t, err, "Send")
				if isReply(err) {
					require.ErrorContains(t, err, tt.reply[:3], "the error does not keep the reply")
				}
			})
		}
	}
}

// The reference: RFC 5321 4.2's reply grammar and RFC 3463's enhanced
// codes as regular expressions over the whole of what the relay sent,
// written apart from readReply's streaming parser.
var (
	refReplyLine = regexp.MustCompile(`^([2-5][0-5][0-9])(?:([ -])(.*))?$`)
	refEnhanced  = regexp.MustCompile(`^([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)`)
)

type refStatus int

const (
	refOK         refStatus = iota
	refIncomplete           // the stream ended first
	refMalformed            // not a reply
)

type refReply struct {
	code     int
	enhanced enhancedCode
	lines    []string
}

// refParse reads the first reply of b and returns it with the bytes after it.
func refParse(b []byte) (r refReply, rest []byte, status refStatus) {
	for {
		i := bytes.IndexByte(b, '\n')
		switch {
		case i < 0 && len(b) > maxReplyLine, i+1 > maxReplyLine:
			return r, nil, refMalformed
		case i < 0:
			return r, nil, refIncomplete
		}
		line := strings.TrimSuffix(string(b[:i]), "\r")
		b = b[i+1:]
		m := refReplyLine.FindStringSubmatch(line)
		if m == nil {
			return r, nil, refMalformed
		}
		code, _ := strconv.Atoi(m[1])
		if len(r.lines) > 0 && code != r.code {
			return r, nil, refMalformed
		}
		r.code = code
		r.lines = append(r.lines, m[3])
		if m[2] != "-" {
			break
		}
		if len(r.lines) == maxReplyLines {
			return r, nil, refMalformed
		}
	}
	if e := refEnhanced.FindStringSubmatch(r.lines[0]); e != nil && e[1] == strconv.Itoa(r.code/100) {
		subject, _ := strconv.Atoi(e[2])
		detail, _ := strconv.Atoi(e[3])
		r.enhanced = enhancedCode{r.code / 100, subject, detail}
	}
	return r, b, refOK
}

// refOutcome is what a client should conclude when the relay answers raw
// from stage at on: the replies in raw, one per command from there, until
// one is not the go-ahead, or raw ends.
func refOutcome(at stage, raw []byte) nurture.DeliveryKind {
	for _, st := range []stage{stageMail, stageRcpt, stageData, stageEnd} {
		if st < at {
			continue
		}
		r, rest, status := refParse(raw)
		goAhead := 2
		if st == stageData {
			goAhead = 3
		}
		switch {
		case status == refOK && r.code/100 == goAhead:
			raw = rest
			continue
		case status == refOK && r.code >= 400:
			return replyKind(st, r.code, r.enhanced)
		case st == stageEnd:
			return nurture.DeliveryUnknown // no reply that says what became of it
		}
		return nurture.DeliveryTemporary
	}
	return ""
}

// FuzzReplyOverTheWire has a relay answer fuzzed bytes at each stage of a
// transaction, pipelined or not, and checks that Send never panics or
// hangs and classifies the outcome exactly as the reference reading of the
// same bytes does.
func FuzzReplyOverTheWire(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n", "250\r\n", "550 5.1.1 no such user\r\n", "554 5.6.0 line too long\r\n",
		"250-a\r\n250-b\r\n250 c\r\n", "250-a\r\n251 b\r\n", "421 4.7.0 slow down\r\n",
		"354 go\r\n250 ok\r\n", "250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n", "", "garbage",
		"250 ok", "452 4.7.28 rate\n", "550 55.1.1 x\r\n", "550 5.1.1\r\n", "550 5.1.1a\r\n",
		"550 5.1000.1 x\r\n", "550 4.1.1 class mismatch\r\n", "550\tx\r\n", "550 \x00\xff\r\n",
	} {
		for st := stageMail; st <= stageEnd; st++ {
			if st != stageMessage {
				f.Add(uint8(st), s, true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, at uint8, raw string, pipelining bool) {
		st := stage(at%5) + 1
		if st == stageMessage {
			st = stageEnd
		}
		want := refOutcome(st, []byte(raw))
		err := sendScripted(t, st, []byte(raw), pipelining)
		require.Equal(t, want, nurture.DeliveryKindOf(err), "relay answers %q at %v (pipelining %t): Send = %v", raw, st, pipelining, err)
		if want == "" {
			require.NoError(t, err, "relay answers %q at %v (pipelining %t)", raw, st, pipelining)
		} else {
			require.Error(t, err, "relay answers %q at %v (pipelining %t)", raw, st, pipelining)
		}
	})
}

// FuzzReadReply compares readReply with the reference parse on any bytes.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n", "250\r\n", "250-a\r\n250 b\r\n", "250-a\n250 b\n", "250-a\r\n251 b\r\n",
		"550 5.1.1 no such user\r\n", "550-5.1.1 a\r\n550 5.1.1 b\r\n", "421 4.7.28 x\r\n",
		"550 5.1.1", "", "\r\n", "2500 x\r\n", "250x\r\n", "650 x\r\n", "199 x\r\n", "260 x\r\n",
		"550 5.01.001 x\r\n", "550 5.1.1\tx\r\n", "250 " + strings.Repeat("y", 3000) + "\r\n",
		"250 a\r\r\n", "250 \xff\x00\x1b[31m\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := readReply(bufio.NewReader(bytes.NewReader(raw)))
		want, _, status := refParse(raw)
		if status != refOK {
			require.Error(t, err, "readReply(%q): the reference finds no reply (%d)", raw, status)
			switch status {
			case refIncomplete:
				require.ErrorIs(t, err, io.EOF, "readReply(%q): the reply is cut short", raw)
			case refMalformed:
				require.ErrorAs(t, err, new(protocolError), "readReply(%q)", raw)
			}
			return
		}
		require.NoError(t, err, "readReply(%q); the reference reads %d %v", raw, want.code, want.enhanced)
		require.Equal(t, want.code, got.code, "readReply(%q): the code", raw)
		require.Equal(t, want.enhanced, got.enhanced, "readReply(%q): the enhanced code", raw)
		require.Equal(t, printable(strings.Join(want.lines, "\n"), maxReplyText), got.text, "readReply(%q): the text", raw)
	})
}
