package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// sink is a null SMTP server: it takes every message and throws it away,
// spending as little CPU as it can, since it shares the machine with what
// it measures. It speaks just enough SMTP for go-mail and Nurture's
// mailer: EHLO (offering PIPELINING), MAIL, RCPT, DATA, RSET, NOOP and
// QUIT; it reads the data in large blocks, looking only for the end.
type sink struct {
	ln       net.Listener
	messages atomic.Int64
	bytes    atomic.Int64
	wg       sync.WaitGroup
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *sink) serve(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 4<<10)
	reply := func(text string) bool {
		_, _ = w.WriteString(text)
		// Pipelined commands are answered together: write when there is
		// nothing more to read.
		if r.Buffered() == 0 {
			return w.Flush() == nil
		}
		return true
	}
	if !reply("220 sink.localhost ESMTP\r\n") {
		return
	}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := line
		if i := bytes.IndexAny(line, " \r\n"); i >= 0 {
			verb = line[:i]
		}
		switch string(bytes.ToUpper(verb)) {
		case "EHLO":
			if !reply("250-sink.localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n") {
				return
			}
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			if !reply("250 OK\r\n") {
				return
			}
		case "DATA":
			if !reply("354 end with <CRLF>.<CRLF>\r\n") {
				return
			}
			n, err := skipData(r)
			if err != nil {
				return
			}
			s.bytes.Add(n)
			s.messages.Add(1)
			if !reply("250 OK queued\r\n") {
				return
			}
		case "QUIT":
			reply("221 bye\r\n")
			_ = w.Flush()
			return
		default:
			if !reply("502 not implemented\r\n") {
				return
			}
		}
	}
}

// skipData reads a message's data up to and including the line holding
// only a dot, and returns how many bytes the message had.
func skipData(r *bufio.Reader) (int64, error) {
	var n int64
	lineStart := true // the data begins at the start of a line
	want := 3
	for {
		if _, err := r.Peek(want); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		buf, _ := r.Peek(r.Buffered())
		if lineStart && bytes.HasPrefix(buf, []byte(".\r\n")) {
			_, _ = r.Discard(3)
			return n, nil
		}
		if i := bytes.Index(buf, []byte("\n.\r\n")); i >= 0 {
			_, _ = r.Discard(i + 4)
			return n + int64(i+1), nil
		}
		// The end may begin in the last three bytes: keep them.
		used := len(buf) - 3
		if used <= 0 {
			want = len(buf) + 1
			continue
		}
		lineStart = buf[used-1] == '\n'
		_, _ = r.Discard(used)
		n += int64(used)
		want = 3
	}
}
