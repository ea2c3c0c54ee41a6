package mailer

import (
	"bufio"
	"bytes"
	"errors"
	"time"
)

// endOfData ends the DATA of a message whose last line has its CRLF.
const endOfData = ".\r\n"

// transact runs one mail transaction for msg on pc. go-mail dialled the
// connection, said EHLO, upgraded it and authenticated; the transaction
// itself is written here, from the bytes that were signed, with
// PIPELINING (RFC 2920) when the relay offers it: MAIL, RCPT and DATA go
// out together and the message follows the three replies, two round trips
// a message instead of go-mail's five (NOOP, MAIL, RCPT, DATA, RSET).
//
// sent reports that the message's data began to go out: a failure after
// that is never retried at once on another connection (once the end of the
// data is written, the relay may have the message whatever the error
// says, and only a later attempt, after the caller's back-off, may send it
// again). A refusal leaves the session in the middle of a transaction: the
// caller resets it. accepted reports a DATA that the relay accepted
// although an earlier command was refused; the session then waits for a
// message and must be dropped.
//
// Once the final "." has gone out, the Send's context no longer
// interrupts the connection: the relay has the whole message, and only its
// reply says whether it took it. The reply is awaited up to replyTimeout.
func (pc *pooled) transact(msg *message, replyTimeout time.Duration) (sent, accepted bool, err error) {
	text := pc.smtp.Text
	mail := "MAIL FROM:<" + msg.from + ">"
	if pc.smtputf8 && (!isASCII(msg.from) || !isASCII(msg.to)) {
		mail += " SMTPUTF8"
	}
	steps := [...]struct {
		stage stage
		cmd   string
		class int // the first digit of the reply that lets the transaction go on
	}{
		{stageMail, mail, 2},
		{stageRcpt, "RCPT TO:<" + msg.to + ">", 2},
		{stageData, "DATA", 3},
	}
	var refused error
	if pc.pipelining {
		for _, s := range steps {
			_, _ = text.W.WriteString(s.cmd)
			_, _ = text.W.WriteString("\r\n")
		}
		if err := text.W.Flush(); err != nil {
			return false, false, &stageError{stageMail, err}
		}
		// Every reply is read, so the session stays in step.
		for _, s := range steps {
			err := expect(text.R, s.class)
			switch {
			case err == nil:
				if s.stage == stageData && refused != nil {
					return false, true, refused
				}
			case !isReply(err):
				return false, false, errors.Join(refused, &stageError{s.stage, err})
			case refused == nil:
				refused = &stageError{s.stage, err}
			}
		}
		if refused != nil {
			return false, false, refused
		}
	} else {
		for _, s := range steps {
			_, _ = text.W.WriteString(s.cmd)
			_, _ = text.W.WriteString("\r\n")
			if err := text.W.Flush(); err != nil {
				return false, false, &stageError{s.stage, err}
			}
			if err := expect(text.R, s.class); err != nil {
				return false, false, &stageError{s.stage, err}
			}
		}
	}

	data := msg.data
	if needsDotStuffing(data) {
		data = dotStuff(data)
	}
	// One write: the bytes and the end marker, in the spare capacity
	// that compose and sign leave for it.
	wire := append(data, endOfData...)
	if _, err := text.W.Write(wire); err != nil {
		return true, false, &stageError{stageMessage, err}
	}
	if err := text.W.Flush(); err != nil {
		return true, false, &stageError{stageMessage, err}
	}
	pc.conn.awaitReply(time.Now().Add(replyTimeout))
	err = expect(text.R, 2)
	pc.conn.endAwait()
	if err != nil {
		return true, false, &stageError{stageEnd, err}
	}
	return true, false, nil
}

// expect reads a reply and returns it as an error unless its code is of
// the class given (2 for 2yz, 3 for 3yz).
func expect(r *bufio.Reader, class int) error {
	rp, err := readReply(r)
	if err != nil {
		return err
	}
	if rp.code/100 != class {
		return rp
	}
	return nil
}

// isReply reports whether err is a reply of the relay rather than a
// failure to talk to it.
func isReply(err error) bool {
	var rp *reply
	return errors.As(err, &rp)
}

// needsDotStuffing reports whether a line of data starts with a dot, which
// SMTP would read as the end of the data or lose (RFC 5321 4.5.2). The
// bodies we write never have one (quoted-printable writes it =2E), nor do
// header lines, so this is a scan, not a copy.
func needsDotStuffing(data []byte) bool {
	return len(data) > 0 && data[0] == '.' || bytes.Contains(data, []byte("\n."))
}

// dotStuff doubles the dot that starts a line.
func dotStuff(data []byte) []byte {
	out := make([]byte, 0, len(data)+64+len(endOfData))
	for len(data) > 0 {
		if data[0] == '.' {
			out = append(out, '.')
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return append(out, data...)
		}
		out = append(out, data[:i+1]...)
		data = data[i+1:]
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// replyCode is the relay's reply code in err, or 0 when there is none.
func replyCode(err error) int {
	var rp *reply
	if errors.As(err, &rp) {
		return rp.code
	}
	return 0
}
