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
// When pending, those three commands went out already, behind the
// previous message's data, and only their replies are read.
//
// With PIPELINING, claim is asked for the next message as the data is
// about to go: its MAIL, RCPT and DATA then follow the final "." in the
// same write (RFC 2920 lets commands follow the end of the data), so that
// a connection kept busy costs one write and one read a message. behind
// reports that they went out whole: the next message's Send reads their
// replies. torn reports that the write ended partway through them: the
// connection is out of step whatever the reply to the "." says.
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
func (pc *pooled) transact(msg *message, pending bool, claim func() *message, replyTimeout time.Duration) (sent, accepted bool, after afterData, err error) {
	text := pc.smtp.Text
	switch {
	case pending:
		if accepted, err := pc.readCommandReplies(); err != nil {
			return false, accepted, alone, err
		}
	case pc.pipelining:
		pc.cmds = pc.appendCommands(pc.cmds[:0], msg)
		_, _ = text.W.Write(pc.cmds)
		if err := text.W.Flush(); err != nil {
			return false, false, alone, &stageError{stageMail, err}
		}
		if accepted, err := pc.readCommandReplies(); err != nil {
			return false, accepted, alone, err
		}
	default:
		for _, s := range pc.steps(msg) {
			_, _ = text.W.WriteString(s.cmd)
			_, _ = text.W.WriteString("\r\n")
			if err := text.W.Flush(); err != nil {
				return false, false, alone, &stageError{s.stage, err}
			}
			if err := expect(text.R, s.class); err != nil {
				return false, false, alone, &stageError{s.stage, err}
			}
		}
	}

	data := msg.data
	if needsDotStuffing(data) {
		data = dotStuff(data)
	}
	var cmds []byte
	if pc.pipelining && claim != nil {
		if next := claim(); next != nil {
			pc.cmds = pc.appendCommands(pc.cmds[:0], next)
			cmds = pc.cmds
			after = behind
		}
	}
	// One write: the bytes, the end marker and the next message's
	// commands, in the writer's buffer when they fit, else in one slice
	// (the spare capacity that compose and sign leave when it is enough).
	end, total := len(data)+len(endOfData), len(data)+len(endOfData)+len(cmds)
	var (
		written int
		werr    error
	)
	if total <= text.W.Available() {
		_, _ = text.W.Write(data)
		_, _ = text.W.WriteString(endOfData)
		_, _ = text.W.Write(cmds)
		werr = text.W.Flush()
		written = total - text.W.Buffered()
	} else {
		var wire []byte
		if cap(data)-len(data) >= len(endOfData)+len(cmds) {
			wire = append(append(data, endOfData...), cmds...)
		} else {
			wire = append(append(append(pc.wire[:0], data...), endOfData...), cmds...)
			if cap(wire) <= maxKeptWire {
				pc.wire = wire
			}
		}
		// The writer's buffer is empty: a slice larger than it goes
		// straight to the connection.
		written, werr = text.W.Write(wire)
	}
	if werr != nil {
		// If the final "." went out, the relay may have the message: its
		// reply is awaited.
		if written < end {
			return true, false, alone, &stageError{stageMessage, werr}
		}
		after = torn
	}
	if after == behind {
		pc.pipelined++
	}
	pc.conn.awaitReply(time.Now().Add(replyTimeout))
	err = expect(text.R, 2)
	pc.conn.endAwait()
	if err != nil {
		return true, false, after, &stageError{stageEnd, err}
	}
	return true, false, after, nil
}

// afterData says what followed a message's final "." in its write.
type afterData int

const (
	alone  afterData = iota // nothing
	behind                  // the next message's MAIL, RCPT and DATA, whole
	torn                    // part of them: the write failed after the "."
)

// maxKeptWire bounds the buffer a connection keeps to join a message's
// data with what follows it: a message with a large attachment gets a
// buffer of its own, which goes with it.
const maxKeptWire = 256 << 10

// step is one command of a mail transaction and the first digit of the
// reply that lets the transaction go on (2 for 2yz, 3 for 3yz).
type step struct {
	stage stage
	cmd   string
	class int
}

// steps are msg's commands, one by one, for a relay without PIPELINING.
func (pc *pooled) steps(msg *message) [3]step {
	mail := "MAIL FROM:<" + msg.from + ">"
	if pc.smtputf8 && (!isASCII(msg.from) || !isASCII(msg.to)) {
		mail += " SMTPUTF8"
	}
	return [...]step{
		{stageMail, mail, 2},
		{stageRcpt, "RCPT TO:<" + msg.to + ">", 2},
		{stageData, "DATA", 3},
	}
}

// appendCommands appends msg's MAIL, RCPT and DATA, each with its CRLF,
// for them to go out together.
func (pc *pooled) appendCommands(b []byte, msg *message) []byte {
	b = append(b, "MAIL FROM:<"...)
	b = append(b, msg.from...)
	b = append(b, '>')
	if pc.smtputf8 && (!isASCII(msg.from) || !isASCII(msg.to)) {
		b = append(b, " SMTPUTF8"...)
	}
	b = append(b, "\r\nRCPT TO:<"...)
	b = append(b, msg.to...)
	return append(b, ">\r\nDATA\r\n"...)
}

// readCommandReplies reads the replies to MAIL, RCPT and DATA sent
// together. Every reply is read, so the session stays in step; the first
// refusal is the error. accepted reports a DATA the relay accepted after
// a refusal.
func (pc *pooled) readCommandReplies() (accepted bool, err error) {
	// The stages of appendCommands' commands, with the first digit of
	// the reply that lets the transaction go on.
	stages := [...]struct {
		stage stage
		class int
	}{{stageMail, 2}, {stageRcpt, 2}, {stageData, 3}}
	var refused error
	for _, s := range stages {
		err := expect(pc.smtp.Text.R, s.class)
		switch {
		case err == nil:
			if s.stage == stageData && refused != nil {
				return true, refused
			}
		case !isReply(err):
			return false, errors.Join(refused, &stageError{s.stage, err})
		case refused == nil:
			refused = &stageError{s.stage, err}
		}
	}
	return false, refused
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
