// Package smtpsink is an SMTP server that accepts mail for fault and load
// tests: fast (PIPELINING, a line reader of its own, many connections), with
// a journal that records each accepted message on disk before its 250, and
// faults chosen by the recipient's address (see Tag) or switched for the
// whole relay at run time (see Mode).
//
// It keeps no message content: only the Message-ID, the first recipient, the
// time and the size. It is test and benchmark plumbing; the engine never
// imports it.
package smtpsink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds what a Server needs. The zero value listens on a free
// loopback port and keeps no journal.
type Config struct {
	// Addr is the address to listen on; default 127.0.0.1:0.
	Addr string
	// Journal is the file each accepted message is appended to, fsynced
	// before its 250; "" keeps none.
	Journal string
	// Hostname is the name in the greeting; default sink.localhost.
	Hostname string
	// MaxSize is the largest message accepted, in bytes; default 32 MiB.
	MaxSize int64
	// Logger reports journal failures; default slog.Default().
	Logger *slog.Logger

	journalFile journalFile // tests: the journal's file, instead of Journal
}

// Stats counts what the server has done since it started.
type Stats struct {
	Connections int64 `json:"connections"`
	Accepted    int64 `json:"accepted"`  // messages answered 250, or accepted and then dropped on cue
	Refused     int64 `json:"refused"`   // answered 550
	Deferred    int64 `json:"deferred"`  // answered 451
	LostReplies int64 `json:"lost"`      // accepted, but the sink knows the reply never arrived
	Abandoned   int64 `json:"abandoned"` // hung after "." and left by the client: not accepted
	Bytes       int64 `json:"bytes"`
	Syncs       int64 `json:"syncs"` // journal fsyncs
	// FirstAccepted and LastAccepted are when the first and the last
	// message were accepted (zero: none yet): a sender's rate is
	// (Accepted-1) / (LastAccepted-FirstAccepted).
	FirstAccepted time.Time `json:"first_accepted"`
	LastAccepted  time.Time `json:"last_accepted"`
}

// Server is a running sink.
type Server struct {
	cfg     Config
	ln      net.Listener
	journal *journal // nil without Config.Journal
	faults  faults

	connections, accepted, refused, deferred, lost, abandoned, bytes atomic.Int64
	firstAccepted, lastAccepted                                      atomic.Int64 // unix nanoseconds

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "sink.localhost"
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 32 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, conns: map[net.Conn]struct{}{}}
	switch {
	case cfg.journalFile != nil:
		s.journal = newJournal(cfg.journalFile)
	case cfg.Journal != "":
		j, err := openJournal(cfg.Journal)
		if err != nil {
			return nil, err
		}
		s.journal = j
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if s.journal != nil {
			_ = s.journal.close()
		}
		return nil, err
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetMode switches the relay-wide fault m on for d (0: until the next
// SetMode). delay is ModeDelay's wait between "." and the reply.
func (s *Server) SetMode(m Mode, d, delay time.Duration) { s.faults.set(m, d, delay) }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections: s.connections.Load(), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		Deferred: s.deferred.Load(), LostReplies: s.lost.Load(), Abandoned: s.abandoned.Load(), Bytes: s.bytes.Load(),
	}
	if s.journal != nil {
		st.Syncs = s.journal.syncs.Load()
	}
	if ns := s.firstAccepted.Load(); ns != 0 {
		st.FirstAccepted = time.Unix(0, ns)
	}
	if ns := s.lastAccepted.Load(); ns != 0 {
		st.LastAccepted = time.Unix(0, ns)
	}
	return st
}

// ResetStats sets the counters back to zero, as for a server just
// started, so that one sink process can measure run after run. The
// journal, if any, keeps its entries and its sequence.
func (s *Server) ResetStats() {
	for _, c := range []*atomic.Int64{&s.connections, &s.accepted, &s.refused, &s.deferred, &s.lost, &s.abandoned, &s.bytes, &s.firstAccepted, &s.lastAccepted} {
		c.Store(0)
	}
}

// Close stops listening, closes every connection, waits for them and
// closes the journal.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if s.journal != nil {
		err = errors.Join(err, s.journal.close())
	}
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.connections.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			s.serve(c)
		}()
	}
}

// session is one client connection.
type session struct {
	s    *Server
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	from bool
	rcpt []string
	// unflushed are the messages accepted whose 250 still waits in w,
	// behind pipelined commands (a client may send the next message's
	// MAIL, RCPT and DATA behind the data's final "."): if the session
	// ends before w is flushed, their replies are lost.
	unflushed []*Entry
}

// reply writes text. Pipelined commands are answered together: the
// buffer is flushed once nothing more waits to be read.
func (ss *session) reply(text string) bool {
	_, _ = ss.w.WriteString(text)
	if ss.r.Buffered() == 0 {
		return ss.flush()
	}
	return true
}

// flush writes out the buffered replies. The accepted messages whose 250
// was among them have had their reply sent, or, if the write failed, lost.
func (ss *session) flush() bool {
	err := ss.w.Flush()
	for _, e := range ss.unflushed {
		if err != nil {
			ss.replyLost(e, "write-failed")
		}
	}
	ss.unflushed = ss.unflushed[:0]
	return err == nil
}

// end settles a session that stops: a 250 still in the buffer never
// reaches the client.
func (ss *session) end() {
	for _, e := range ss.unflushed {
		ss.replyLost(e, "unflushed")
	}
	ss.unflushed = nil
}

func (s *Server) serve(c net.Conn) {
	ss := &session{s: s, c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 4<<10)}
	defer ss.end()
	switch g := s.faults.current(); g.mode {
	case ModeDown:
		return
	case ModeUnavailable:
		ss.reply("421 4.3.2 " + s.cfg.Hostname + " service not available\r\n")
		return
	case ModeHang:
		if ss.hang() {
			return
		}
	}
	if !ss.reply("220 " + s.cfg.Hostname + " ESMTP sink\r\n") {
		return
	}
	for {
		line, err := ss.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				ss.reply("500 5.5.2 line too long\r\n")
			}
			return
		}
		switch g := s.faults.current(); g.mode {
		case ModeDown:
			return
		case ModeUnavailable:
			ss.reply("421 4.3.2 service not available\r\n")
			_ = ss.flush()
			return
		}
		verb, arg := splitCommand(line)
		switch verb {
		case "EHLO":
			if !ss.reply("250-" + s.cfg.Hostname + "\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE " + fmt.Sprint(s.cfg.MaxSize) + "\r\n") {
				return
			}
		case "HELO":
			if !ss.reply("250 " + s.cfg.Hostname + "\r\n") {
				return
			}
		case "MAIL":
			ss.from, ss.rcpt = true, ss.rcpt[:0]
			if !ss.reply("250 2.1.0 OK\r\n") {
				return
			}
		case "RCPT":
			addr := pathOf(arg)
			switch {
			case !ss.from:
				if !ss.reply("503 5.5.1 MAIL first\r\n") {
					return
				}
			case addr == "":
				if !ss.reply("501 5.1.3 bad recipient address\r\n") {
					return
				}
			case len(ss.rcpt) >= 100:
				if !ss.reply("452 4.5.3 too many recipients\r\n") {
					return
				}
			default:
				ss.rcpt = append(ss.rcpt, addr)
				if !ss.reply("250 2.1.5 OK\r\n") {
					return
				}
			}
		case "DATA":
			if !ss.from || len(ss.rcpt) == 0 {
				if !ss.reply("503 5.5.1 no valid recipients\r\n") {
					return
				}
				continue
			}
			if !ss.reply("354 end with <CRLF>.<CRLF>\r\n") {
				return
			}
			if !ss.data() {
				return
			}
			ss.from, ss.rcpt = false, ss.rcpt[:0]
		case "RSET":
			ss.from, ss.rcpt = false, ss.rcpt[:0]
			if !ss.reply("250 2.0.0 OK\r\n") {
				return
			}
		case "NOOP":
			if !ss.reply("250 2.0.0 OK\r\n") {
				return
			}
		case "QUIT":
			ss.reply("221 2.0.0 bye\r\n")
			_ = ss.flush()
			return
		default:
			if !ss.reply("502 5.5.1 command not implemented\r\n") {
				return
			}
		}
	}
}

// splitCommand returns a command line's verb, upper case, and the rest.
func splitCommand(line []byte) (verb string, arg []byte) {
	line = bytes.TrimRight(line, "\r\n")
	v, rest, _ := bytes.Cut(line, []byte(" "))
	if len(v) > 8 {
		return "", nil
	}
	return strings.ToUpper(string(v)), rest
}

// pathOf returns the address of "TO:<addr> params" (or FROM:), "" when
// there is none.
func pathOf(arg []byte) string {
	_, after, ok := bytes.Cut(arg, []byte(":"))
	if !ok {
		return ""
	}
	after = bytes.TrimSpace(after)
	if len(after) == 0 || after[0] != '<' {
		return ""
	}
	end := bytes.IndexByte(after, '>')
	if end < 2 {
		return ""
	}
	addr := after[1:end]
	if bytes.ContainsAny(addr, " \t\r\n") || bytes.IndexByte(addr, '@') < 1 {
		return ""
	}
	return string(addr)
}

// data reads a message up to its final "." and answers it as the faults
// say. It reports whether the connection goes on.
func (ss *session) data() bool {
	s := ss.s
	size, messageID, err := readData(ss.r, s.cfg.MaxSize)
	arrived := time.Now()
	if errors.Is(err, errTooBig) {
		return ss.reply("552 5.3.4 message too big\r\n")
	}
	if err != nil {
		return false
	}
	tag := TagNone
	for _, r := range ss.rcpt {
		if tag = TagOf(r); tag != TagNone {
			break
		}
	}
	rcpt := ss.rcpt[0]
	g := s.faults.current()
	if g.mode == ModeHang {
		if ss.hang() {
			s.abandoned.Add(1)
			return false // never accepted: the client left first
		}
	}
	if tag == TagHang && s.faults.strike(TagHang, rcpt) {
		ss.waitGone(time.Time{})
		s.abandoned.Add(1)
		return false
	}
	switch {
	case tag == Tag550:
		s.refused.Add(1)
		return ss.reply("550 5.1.1 <" + rcpt + ">: mailbox refused (fault tag)\r\n")
	case tag == Tag451Once && s.faults.strike(Tag451Once, rcpt):
		s.deferred.Add(1)
		return ss.reply("451 4.3.0 try again later (fault tag)\r\n")
	}
	e := &Entry{At: arrived, MessageID: messageID, Recipient: rcpt, Size: size}
	switch {
	case tag == TagDrop && s.faults.strike(TagDrop, rcpt):
		e.Lost = "drop"
	case tag == TagNoReply && s.faults.strike(TagNoReply, rcpt):
		e.Lost = "noreply"
	}
	if !ss.commit(e) {
		return ss.reply("451 4.3.0 journal unavailable\r\n")
	}
	switch e.Lost {
	case "drop":
		if tc, ok := ss.c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST: the reply is lost on the way
		}
		return false
	case "noreply":
		return false
	}
	delay := time.Duration(0)
	if tag == TagDelay {
		delay = TagDelayTime
	}
	if g.mode == ModeDelay {
		delay = max(delay, g.delay)
	}
	if delay > 0 && ss.waitGone(arrived.Add(delay)) {
		ss.replyLost(e, "client-closed")
		return false
	}
	if !ss.reply("250 2.0.0 OK queued as " + fmt.Sprint(e.Seq) + "\r\n") {
		ss.replyLost(e, "write-failed")
		return false
	}
	if ss.w.Buffered() > 0 {
		ss.unflushed = append(ss.unflushed, e)
	}
	return true
}

// commit journals the message, if there is a journal, and counts it. It
// reports false when the journal could not be written: the message is not
// accepted.
func (ss *session) commit(e *Entry) bool {
	s := ss.s
	if s.journal != nil {
		if err := s.journal.write(e); err != nil {
			s.cfg.Logger.Error("smtpsink: journal", "err", err)
			return false
		}
	} else {
		e.Seq = s.accepted.Load() + 1
	}
	s.accepted.Add(1)
	s.bytes.Add(e.Size)
	s.firstAccepted.CompareAndSwap(0, e.At.UnixNano())
	s.lastAccepted.Store(e.At.UnixNano())
	if e.Lost != "" {
		s.lost.Add(1)
	}
	return true
}

func (ss *session) replyLost(e *Entry, reason string) {
	ss.s.lost.Add(1)
	if ss.s.journal != nil {
		ss.s.journal.lost(e.Seq, reason)
	}
}

// hang waits while the relay-wide hang lasts, and reports whether the
// client left meanwhile.
func (ss *session) hang() (gone bool) {
	for {
		g := ss.s.faults.current()
		if g.mode != ModeHang {
			return false
		}
		until := time.Now().Add(time.Second) // look at the mode again every second
		if !g.until.IsZero() && g.until.Before(until) {
			until = g.until
		}
		if ss.waitGone(until) {
			return true
		}
	}
}

// waitGone waits until the deadline (zero: until the client leaves) and
// reports whether the client closed the connection meanwhile. Anything
// the client sends meanwhile stays buffered.
func (ss *session) waitGone(deadline time.Time) bool {
	defer func() { _ = ss.c.SetReadDeadline(time.Time{}) }()
	for {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return false
		}
		_ = ss.c.SetReadDeadline(deadline)
		if ss.r.Buffered() > 0 {
			// The client spoke out of turn: it is still there.
			if !deadline.IsZero() {
				time.Sleep(time.Until(deadline))
			}
			return false
		}
		_, err := ss.r.Peek(1)
		var ne net.Error
		switch {
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return false
		default:
			return true
		}
	}
}

var errTooBig = errors.New("message too big")

// readData reads a message's data up to and including the line holding
// only a dot. It returns the size of the data and the Message-ID found in
// its header. A message over max is read to its end, then refused.
func readData(r *bufio.Reader, max int64) (size int64, messageID string, err error) {
	inHeader, lineStart, inMessageID := true, true, false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return size, messageID, err
		}
		whole := err == nil // the line ends here
		if lineStart && whole && (string(line) == ".\r\n" || string(line) == ".\n") {
			if size > max {
				return size, messageID, errTooBig
			}
			return size, messageID, nil
		}
		if lineStart && inHeader {
			switch {
			case len(bytes.TrimRight(line, "\r\n")) == 0:
				inHeader = false
			case line[0] == ' ' || line[0] == '\t':
				if inMessageID && messageID == "" {
					messageID = messageIDOf(line)
				}
			default:
				inMessageID = false
				if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Message-ID")) {
					inMessageID = true
					messageID = messageIDOf(value)
				}
			}
		}
		size += int64(len(line))
		lineStart = whole
	}
}

// messageIDOf returns the id in a Message-ID header's value, without
// angle brackets and spaces.
func messageIDOf(v []byte) string {
	v = bytes.TrimSpace(v)
	v = bytes.TrimPrefix(v, []byte("<"))
	if i := bytes.IndexByte(v, '>'); i >= 0 {
		v = v[:i]
	}
	if len(v) > 998 || bytes.ContainsAny(v, " \t\r\n") {
		return ""
	}
	return string(v)
}
