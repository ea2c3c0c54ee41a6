package mailer

import (
	"bytes"
	"errors"
	"net/textproto"
)

// endOfData ends the DATA of a message whose last line has its CRLF.
const endOfData = ".\r\n"

// stageError is a failed step of a mail transaction: a reply that is not
// the one expected (a *textproto.Error), or an I/O error.
type stageError struct {
	stage string // "MAIL FROM", "RCPT TO", "DATA" or "end of DATA"
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

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
// again). A refusal leaves the
// session in the middle of a transaction: the caller resets it. accepted
// reports a DATA that the relay accepted although an earlier command was
// refused; the session then waits for a message and must be dropped.
func (pc *pooled) transact(msg *message) (sent, accepted bool, err error) {
	text := pc.smtp.Text
	mail := "MAIL FROM:<" + msg.from + ">"
	if pc.smtputf8 && (!isASCII(msg.from) || !isASCII(msg.to)) {
		mail += " SMTPUTF8"
	}
	steps := [...]struct {
		stage, cmd string
		code       int
	}{
		{"MAIL FROM", mail, 250},
		{"RCPT TO", "RCPT TO:<" + msg.to + ">", 25}, // 250 or 251
		{"DATA", "DATA", 354},
	}
	var refused error
	if pc.pipelining {
		for _, s := range steps {
			_, _ = text.W.WriteString(s.cmd)
			_, _ = text.W.WriteString("\r\n")
		}
		if err := text.W.Flush(); err != nil {
			return false, false, &stageError{"MAIL FROM", err}
		}
		// Every reply is read, so the session stays in step.
		for _, s := range steps {
			_, _, err := text.ReadResponse(s.code)
			switch {
			case err == nil:
				if s.stage == "DATA" && refused != nil {
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
			if err := text.PrintfLine("%s", s.cmd); err != nil {
				return false, false, &stageError{s.stage, err}
			}
			if _, _, err := text.ReadResponse(s.code); err != nil {
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
		return true, false, &stageError{"end of DATA", err}
	}
	if err := text.W.Flush(); err != nil {
		return true, false, &stageError{"end of DATA", err}
	}
	if _, _, err := text.ReadResponse(250); err != nil {
		return true, false, &stageError{"end of DATA", err}
	}
	return true, false, nil
}

// isReply reports whether err is a reply of the relay rather than a
// failure to talk to it.
func isReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te)
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
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// enhancedCode finds the enhanced status code (RFC 3463) at the start of
// a reply's text, such as 5.1.1, when its class matches the reply code's.
func enhancedCode(err error) string {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return ""
	}
	text := te.Msg
	dots, digits, end := 0, 0, len(text)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= '0' && c <= '9' {
			if digits++; digits > 3 {
				return ""
			}
			continue
		}
		if c == '.' && digits > 0 && dots < 2 {
			dots, digits = dots+1, 0
			continue
		}
		if c != ' ' && c != '\n' {
			return ""
		}
		end = i
		break
	}
	code := text[:end]
	if dots != 2 || digits == 0 || code[0] != byte('0'+te.Code/100) {
		return ""
	}
	return code
}
