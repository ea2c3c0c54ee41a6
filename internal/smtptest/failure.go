package smtptest

import (
	"fmt"
	"time"
)

// Stage is the point of an SMTP transaction at which a scripted failure
// answers instead of the normal reply.
type Stage int

// The stages a Failure can target.
const (
	StageMail Stage = iota + 1 // MAIL FROM
	StageRcpt                  // RCPT TO
	StageData                  // the reply after the message body and its final "."
)

// String names the stage by its SMTP command, for test names and messages.
func (s Stage) String() string {
	switch s {
	case StageMail:
		return "MAIL"
	case StageRcpt:
		return "RCPT"
	case StageData:
		return "DATA"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Failure scripts a refusal, a slow or missing reply, or a dropped
// connection, so a client's error handling can be tested on cue:
// Fail(Failure{Stage: StageRcpt, Code: 451, Times: 1}) answers the next
// RCPT with 451 and every later one normally.
type Failure struct {
	Stage Stage
	// Code is the SMTP reply code, 400 to 599; 0 answers as usual, for a
	// failure that only delays the reply. It is not used with Drop,
	// CloseAfterDot or Hang.
	Code int
	// Enhanced is the enhanced status code, such as {5, 1, 1}; the zero
	// value sends Code's class followed by .0.0.
	Enhanced [3]int
	// Message is the reply text; empty means "scripted failure".
	Message string
	// Times is how many transactions the failure affects; 0 means all.
	Times int
	// Match, when set, restricts the failure to a sender (StageMail), a
	// recipient (StageRcpt) or a message with a recipient (StageData) that
	// contains it.
	Match string
	// Drop closes the connection abruptly, without a reply, instead of
	// answering; at StageData it does so after reading part of the message.
	Drop bool
	// CloseAfterDot, at StageData only, reads the whole message, final "."
	// included, records it as accepted and closes the connection without
	// a reply: a relay that took the message and crashed before saying so,
	// the lost reply of RFC 1047.
	CloseAfterDot bool
	// Delay holds the reply (or the drop) back this long; at StageData it
	// starts once the final "." has arrived. The message is recorded when
	// the reply goes out.
	Delay time.Duration
	// Hang never replies: the session waits, its connection open, until the
	// server stops. A message hung at StageData is not recorded.
	Hang bool
}

func (f Failure) message() string {
	if f.Message == "" {
		return "scripted failure"
	}
	return f.Message
}

// scripted is a queued Failure with its remaining count.
type scripted struct {
	Failure
	left int // 0 means forever
}

// Fail queues a scripted failure. Failures are consulted in the order they
// were queued: at each stage the first one that targets it and matches
// fires, and it leaves the queue once it has fired Times times.
func (s *Server) Fail(f Failure) {
	s.tb.Helper()
	silent := f.Drop || f.CloseAfterDot || f.Hang // no reply, so no code
	switch {
	case f.Stage < StageMail || f.Stage > StageData:
		s.tb.Fatalf("smtptest: Fail: unknown stage %v", f.Stage)
	case f.CloseAfterDot && f.Stage != StageData:
		s.tb.Fatalf("smtptest: Fail: CloseAfterDot at %v, want StageData", f.Stage)
	case f.Drop && f.CloseAfterDot:
		s.tb.Fatalf("smtptest: Fail: Drop and CloseAfterDot both set")
	case silent && f.Code != 0:
		s.tb.Fatalf("smtptest: Fail: code %d with a failure that sends no reply", f.Code)
	case f.Code != 0 && (f.Code < 400 || f.Code > 599):
		s.tb.Fatalf("smtptest: Fail: code %d is not a failure (want 400 to 599)", f.Code)
	case f.Delay < 0:
		s.tb.Fatalf("smtptest: Fail: negative Delay %v", f.Delay)
	case f.Code == 0 && !silent && f.Delay == 0:
		s.tb.Fatalf("smtptest: Fail: nothing to do (want a Code, Drop, CloseAfterDot, Hang or a Delay)")
	case f.Times < 0:
		s.tb.Fatalf("smtptest: Fail: negative Times %d", f.Times)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &scripted{Failure: f, left: f.Times})
}

// pause waits out f's Delay, or for ever with Hang; it returns false when
// the server stops first.
func (s *Server) pause(f *Failure) bool {
	if f.Delay == 0 && !f.Hang {
		return true
	}
	var elapsed <-chan time.Time
	if !f.Hang {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true
	case <-s.stopping:
		return false
	}
}

// takeFailure returns the failure that fires at stage for the given
// subjects (sender or recipients), consuming one of its times, or nil.
func (s *Server) takeFailure(stage Stage, subjects ...string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sf := range s.failures {
		if sf.Stage != stage || (sf.Match != "" && !containsAny(subjects, sf.Match)) {
			continue
		}
		f := sf.Failure
		if sf.left > 0 {
			sf.left--
			if sf.left == 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
		}
		return &f
	}
	return nil
}
