package smtpsink

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one accepted message in the journal.
type Entry struct {
	Seq       int64     // its place in the journal, from 1
	At        time.Time // when its final "." arrived
	MessageID string    // the Message-ID header, without angle brackets; "" when it had none
	Recipient string    // the first recipient
	Size      int64     // bytes of data
	// Lost says why the sink knows its reply never reached the client
	// ("drop", "noreply", "client-closed", "write-failed", "unflushed":
	// the session ended with the 250 still behind pipelined replies), "" when it
	// does not: a duplicate of such a message is inside RFC 1047's window.
	Lost string
}

// The journal is a text file, one line per record, fields separated by
// tabs (no field may hold a tab or a newline):
//
//	A <seq> <unix nanoseconds> <size> <lost or -> <message-id or -> <recipient>
//	L <seq> <reason>
//
// An A line is written and fsynced before the message's reply; an L line
// says, afterwards, that the reply of entry seq could not be written.
type journal struct {
	f     journalFile
	w     *bufio.Writer
	reqs  chan *journalReq
	done  chan struct{}
	syncs atomic.Int64

	mu     sync.Mutex
	closed bool
	err    error // the first write or fsync error: the journal is broken
}

type journalReq struct {
	entry Entry
	note  string // an L line: the reply of entry.Seq was lost for this reason
	done  chan struct{}
	err   error
}

// journalFile is where the journal goes: a file, in tests a stand-in.
type journalFile interface {
	io.Writer
	Sync() error
	Close() error
}

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return newJournal(f), nil
}

func newJournal(f journalFile) *journal {
	j := &journal{f: f, w: bufio.NewWriterSize(f, 64<<10), reqs: make(chan *journalReq, 1024), done: make(chan struct{})}
	go j.run()
	return j
}

// write records e, durably: it returns once e's line is fsynced, so the
// caller may answer 250. Concurrent writes share one fsync.
func (j *journal) write(e *Entry) error {
	r := &journalReq{entry: *e, done: make(chan struct{})}
	if err := j.send(r); err != nil {
		return err
	}
	<-r.done
	e.Seq = r.entry.Seq
	return r.err
}

// lost records that the reply of entry seq never reached the client. It
// does not wait for the disk.
func (j *journal) lost(seq int64, reason string) {
	_ = j.send(&journalReq{entry: Entry{Seq: seq}, note: reason, done: make(chan struct{})})
}

func (j *journal) send(r *journalReq) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return fmt.Errorf("journal closed")
	}
	if j.err != nil {
		return j.err
	}
	j.reqs <- r
	return nil
}

// run is the one writer: it takes every request waiting, writes them,
// fsyncs once and lets them all go (group commit).
func (j *journal) run() {
	defer close(j.done)
	var seq int64
	batch := make([]*journalReq, 0, 256)
	for r := range j.reqs {
		batch = append(batch[:0], r)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		for _, r := range batch {
			if r.note != "" {
				fmt.Fprintf(j.w, "L\t%d\t%s\n", r.entry.Seq, clean(r.note))
				continue
			}
			seq++
			r.entry.Seq = seq
			e := &r.entry
			fmt.Fprintf(j.w, "A\t%d\t%d\t%d\t%s\t%s\t%s\n", e.Seq, e.At.UnixNano(), e.Size,
				orDash(e.Lost), orDash(e.MessageID), orDash(e.Recipient))
		}
		err := j.w.Flush()
		if err == nil {
			err = j.f.Sync()
			j.syncs.Add(1)
		}
		if err != nil {
			err = fmt.Errorf("journal: %w", err)
			j.mu.Lock()
			if j.err == nil {
				j.err = err
			}
			j.mu.Unlock()
		}
		for _, r := range batch {
			r.err = err
			close(r.done)
		}
	}
}

// close waits for the records sent so far and closes the file.
func (j *journal) close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.reqs)
	j.mu.Unlock()
	<-j.done
	return j.f.Close()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// clean keeps a field on its line: tabs and line breaks become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// ReadJournal reads a journal written by a Server, with the lost replies
// noted after the fact applied to their entries. A last line cut short (the
// sink was killed while writing it) is left out: its message was never
// answered 250.
func ReadJournal(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1] // a line without its end was never fsynced whole
	var entries []Entry
	bySeq := map[int64]int{}
	line := 0
	for text := range strings.Lines(string(data)) {
		line++
		f := strings.Split(strings.TrimSuffix(text, "\n"), "\t")
		switch {
		case len(f) == 7 && f[0] == "A":
			seq, err1 := strconv.ParseInt(f[1], 10, 64)
			ns, err2 := strconv.ParseInt(f[2], 10, 64)
			size, err3 := strconv.ParseInt(f[3], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				return entries, fmt.Errorf("journal line %d: bad number", line)
			}
			e := Entry{Seq: seq, At: time.Unix(0, ns), Size: size, Lost: unDash(f[4]), MessageID: unDash(f[5]), Recipient: unDash(f[6])}
			bySeq[seq] = len(entries)
			entries = append(entries, e)
		case len(f) == 3 && f[0] == "L":
			seq, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return entries, fmt.Errorf("journal line %d: bad number", line)
			}
			if i, ok := bySeq[seq]; ok && entries[i].Lost == "" {
				entries[i].Lost = f[2]
			}
		default:
			return entries, fmt.Errorf("journal line %d: not a journal record", line)
		}
	}
	return entries, nil
}

// ReadJournalFile reads the journal at path.
func ReadJournalFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadJournal(f)
}

func unDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
