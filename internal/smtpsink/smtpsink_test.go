package smtpsink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func start(t *testing.T, journal bool) (*Server, string) {
	t.Helper()
	cfg := Config{}
	path := ""
	if journal {
		path = filepath.Join(t.TempDir(), "journal")
		cfg.Journal = path
	}
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

// client is a minimal SMTP client that shows every reply.
type client struct {
	t  *testing.T
	c  net.Conn
	tp *textproto.Conn
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	cl := &client{t: t, c: c, tp: textproto.NewConn(c)}
	code, msg := cl.read()
	require.Equal(t, 220, code, "greeting: %s", msg)
	return cl
}

// read returns the next reply; code 0 when the connection ended instead.
// It, write and send keep t.Fatal: tests call send in goroutines of their own.
func (cl *client) read() (int, string) {
	cl.t.Helper()
	_ = cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	code, msg, err := cl.tp.ReadResponse(0)
	if err != nil {
		var perr textproto.ProtocolError
		if errors.As(err, &perr) {
			cl.t.Fatalf("bad reply: %v", err)
		}
		return 0, err.Error()
	}
	return code, msg
}

func (cl *client) write(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.c, s); err != nil {
		cl.t.Fatal(err)
	}
}

// send pipelines one transaction (MAIL, RCPT, DATA) and its data, and
// returns the reply to the data (0 when the connection ended).
func (cl *client) send(rcpt, messageID string) int {
	cl.t.Helper()
	cl.write("MAIL FROM:<news@acme.test>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n")
	for _, want := range []int{250, 250, 354} {
		if code, msg := cl.read(); code != want {
			cl.t.Fatalf("got %d %s, want %d", code, msg, want)
		}
	}
	cl.write("Message-ID: <" + messageID + ">\r\nSubject: hi\r\n\r\nHello.\r\n..a line starting with a dot\r\n.\r\n")
	code, _ := cl.read()
	return code
}

func journalOf(t *testing.T, path string) []Entry {
	t.Helper()
	es, err := ReadJournalFile(path)
	require.NoError(t, err)
	return es
}

func TestTagOf(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]Tag{
		"person1@example.test":          TagNone,
		"f451once-person1@example.test": Tag451Once,
		"F550-person1@example.test":     Tag550,
		"<fdrop-x@example.test>":        TagDrop,
		"fnoreply-x@example.test":       TagNoReply,
		"fhang-x@example.test":          TagHang,
		"fdelay-x@example.test":         TagDelay,
		"fdelayed-x@example.test":       TagNone,
		"f-x@example.test":              TagNone,
		"frank-smith@example.test":      TagNone,
		"":                              TagNone,
	} {
		require.Equal(t, want, TagOf(addr), "TagOf(%q)", addr)
	}
	got := Address(TagDrop, "p1", "example.test")
	require.Equal(t, "fdrop-p1@example.test", got, "Address")
	require.Equal(t, TagDrop, TagOf(got), "the tag of Address %q", got)
}

// TestRecipientFaults sends two messages to each tagged recipient, on new
// connections, and checks the replies and the journal.
func TestRecipientFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tag          Tag
		first, again int    // reply codes; 0: the connection ended without one
		journaled    int    // entries in the journal after both
		lost         string // Lost of the first entry
	}{
		{TagNone, 250, 250, 2, ""},
		{Tag451Once, 451, 250, 1, ""},
		{Tag550, 550, 550, 0, ""},
		{TagDrop, 0, 250, 2, "drop"},
		{TagNoReply, 0, 250, 2, "noreply"},
		{TagDelay, 250, 250, 2, ""},
	} {
		t.Run(string(tc.tag)+"-", func(t *testing.T) {
			t.Parallel()
			s, path := start(t, true)
			rcpt := Address(tc.tag, "ada", "example.test")
			for i, want := range []int{tc.first, tc.again} {
				cl := dial(t, s)
				began := time.Now()
				require.Equal(t, want, cl.send(rcpt, "m1@acme.test"), "delivery %d: reply", i+1)
				if tc.tag == TagDelay {
					require.GreaterOrEqual(t, time.Since(began), TagDelayTime, "answered sooner than the delay")
				}
			}
			es := journalOf(t, path)
			require.Len(t, es, tc.journaled, "journal entries")
			if len(es) > 0 {
				require.Equal(t, tc.lost, es[0].Lost, "first entry %+v", es[0])
				require.Equal(t, "m1@acme.test", es[0].MessageID, "first entry %+v", es[0])
				require.Equal(t, rcpt, es[0].Recipient, "first entry %+v", es[0])
				require.NotZero(t, es[0].Size, "first entry %+v", es[0])
				if len(es) > 1 {
					require.Empty(t, es[1].Lost, "second entry %+v has a lost reply", es[1])
				}
			}
		})
	}
}

func TestHangTagAbandonsTheFirstDelivery(t *testing.T) {
	t.Parallel()
	s, path := start(t, true)
	rcpt := Address(TagHang, "ada", "example.test")
	cl := dial(t, s)
	cl.write("MAIL FROM:<a@acme.test>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n")
	cl.read()
	cl.read()
	cl.read()
	cl.write("Message-ID: <m1@acme.test>\r\n\r\nHi\r\n.\r\n")
	_ = cl.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := cl.c.Read(make([]byte, 64))
	require.Error(t, err, "a hung delivery was answered: %d bytes", n)
	_ = cl.c.Close()
	waitFor(t, func() bool { return s.Stats().Abandoned == 1 })
	require.Equal(t, 250, dial(t, s).send(rcpt, "m1@acme.test"), "second delivery")
	es := journalOf(t, path)
	require.Len(t, es, 1, "journal %+v, want the second delivery only", es)
	require.Empty(t, es[0].Lost, "journal %+v, want the second delivery only", es)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		require.False(t, time.Now().After(deadline), "condition not met within 10s")
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPipelinedTransactionsOnOneConnection(t *testing.T) {
	t.Parallel()
	s, path := start(t, true)
	cl := dial(t, s)
	cl.write("EHLO me\r\n")
	code, msg := cl.read()
	require.Equal(t, 250, code, "EHLO: %q", msg)
	require.Contains(t, msg, "PIPELINING", "EHLO")
	for i := range 50 {
		require.Equal(t, 250, cl.send(fmt.Sprintf("p%d@example.test", i), fmt.Sprintf("m%d@acme.test", i)), "message %d", i)
		cl.write("RSET\r\n")
		cl.read()
	}
	cl.write("QUIT\r\n")
	code, _ = cl.read()
	require.Equal(t, 221, code, "QUIT")
	es := journalOf(t, path)
	require.Len(t, es, 50, "journal entries")
	require.Equal(t, "m49@acme.test", es[49].MessageID, "last entry %+v", es[49])
	require.EqualValues(t, 50, es[49].Seq, "last entry %+v", es[49])
	st := s.Stats()
	require.EqualValues(t, 50, st.Accepted, "stats %+v", st)
	require.GreaterOrEqual(t, st.Syncs, int64(1), "stats %+v", st)
	require.LessOrEqual(t, st.Syncs, int64(50), "stats %+v", st)
	require.Equal(t, es[0].At.UnixNano(), st.FirstAccepted.UnixNano(), "first accepted: the first entry's time")
	require.Equal(t, es[49].At.UnixNano(), st.LastAccepted.UnixNano(), "last accepted: the last entry's time")
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	s, _ := start(t, false)
	cl := dial(t, s)
	for _, tc := range []struct {
		cmd  string
		want int
	}{
		{"RCPT TO:<a@b.test>", 503},
		{"DATA", 503},
		{"MAIL FROM:<a@b.test>", 250},
		{"RCPT TO:nobody", 501},
		{"RCPT TO:<no-at-sign>", 501},
		{"DATA", 503},
		{"VRFY x", 502},
		{"NOOP", 250},
	} {
		cl.write(tc.cmd + "\r\n")
		code, msg := cl.read()
		require.Equal(t, tc.want, code, "%s: %s", tc.cmd, msg)
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	t.Run("down closes new and open connections", func(t *testing.T) {
		t.Parallel()
		s, _ := start(t, false)
		open := dial(t, s)
		s.SetMode(ModeDown, time.Minute, 0)
		open.write("NOOP\r\n")
		code, _ := open.read()
		require.Zero(t, code, "open connection answered while down")
		c, err := net.Dial("tcp", s.Addr())
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(make([]byte, 64))
		require.Error(t, err, "new connection greeted (%d bytes) while down", n)
		s.SetMode(ModeNormal, 0, 0)
		require.Equal(t, 250, dial(t, s).send("a@example.test", "m@acme.test"), "after the outage")
	})
	t.Run("unavailable answers 421", func(t *testing.T) {
		t.Parallel()
		s, _ := start(t, false)
		open := dial(t, s)
		s.SetMode(ModeUnavailable, time.Minute, 0)
		open.write("MAIL FROM:<a@acme.test>\r\n")
		code, _ := open.read()
		require.Equal(t, 421, code, "open connection")
		c, err := net.Dial("tcp", s.Addr())
		require.NoError(t, err)
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		require.True(t, strings.HasPrefix(line, "421 "), "greeting %q, want 421", line)
	})
	t.Run("a mode ends by itself", func(t *testing.T) {
		t.Parallel()
		s, _ := start(t, false)
		s.SetMode(ModeUnavailable, time.Millisecond, 0)
		time.Sleep(2 * time.Millisecond)
		require.Equal(t, 250, dial(t, s).send("a@example.test", "m@acme.test"), "after the mode ended")
	})
	t.Run("hang holds the reply until it ends, then accepts", func(t *testing.T) {
		t.Parallel()
		s, path := start(t, true)
		cl := dial(t, s)
		s.SetMode(ModeHang, 0, 0)
		replied := make(chan int, 1)
		go func() { replied <- cl.send("a@example.test", "m@acme.test") }()
		select {
		case code := <-replied:
			t.Fatalf("answered %d during the hang", code)
		case <-time.After(300 * time.Millisecond):
		}
		require.Empty(t, journalOf(t, path), "journaled during the hang")
		s.SetMode(ModeNormal, 0, 0)
		require.Equal(t, 250, <-replied, "after the hang")
		require.Len(t, journalOf(t, path), 1, "journal entries")
	})
	t.Run("hang: a client that leaves is not accepted", func(t *testing.T) {
		t.Parallel()
		s, path := start(t, true)
		cl := dial(t, s)
		s.SetMode(ModeHang, 0, 0)
		cl.write("MAIL FROM:<a@acme.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
		cl.read()
		cl.read()
		cl.read()
		cl.write("\r\nHi\r\n.\r\n")
		_ = cl.c.Close()
		waitFor(t, func() bool { return s.Stats().Abandoned == 1 })
		s.SetMode(ModeNormal, 0, 0)
		require.Empty(t, journalOf(t, path), "journal")
	})
	t.Run("delay: a client that leaves before the reply is noted", func(t *testing.T) {
		t.Parallel()
		s, path := start(t, true)
		s.SetMode(ModeDelay, 0, time.Hour)
		cl := dial(t, s)
		cl.write("MAIL FROM:<a@acme.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
		cl.read()
		cl.read()
		cl.read()
		cl.write("Message-ID: <m@acme.test>\r\n\r\nHi\r\n.\r\n")
		waitFor(t, func() bool { return s.Stats().Accepted == 1 })
		_ = cl.c.Close()
		waitFor(t, func() bool { return s.Stats().LostReplies == 1 })
		_ = s.Close()
		es := journalOf(t, path)
		require.Len(t, es, 1, "journal %+v, want one entry whose reply was lost", es)
		require.Equal(t, "client-closed", es[0].Lost, "journal %+v, want one entry whose reply was lost", es)
	})
	t.Run("down: a 250 still behind pipelined commands is lost, and noted", func(t *testing.T) {
		t.Parallel()
		s, path := start(t, true)
		cl := dial(t, s)
		cl.write("MAIL FROM:<a@acme.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
		cl.read()
		cl.read()
		cl.read()
		// The relay goes down between the message and the next
		// transaction's commands, which came in the same write.
		s.SetMode(ModeDown, 0, 0)
		cl.write("Message-ID: <m@acme.test>\r\n\r\nHi\r\n.\r\nMAIL FROM:<b@acme.test>\r\n")
		waitFor(t, func() bool { return s.Stats().LostReplies == 1 })
		code, _ := cl.read()
		require.Zero(t, code, "the 250 never came: the connection ended")
		_ = s.Close()
		es := journalOf(t, path)
		require.Len(t, es, 1, "journal %+v", es)
		require.Equal(t, "unflushed", es[0].Lost, "journal %+v, want the accepted message's reply noted lost", es)
	})
}

// blockingFile is a journal file whose Sync waits for the test.
type blockingFile struct {
	mu      sync.Mutex
	data    []byte
	syncing chan struct{} // receives when Sync starts
	release chan struct{} // Sync returns when this is closed
}

func (f *blockingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, p...)
	return len(p), nil
}

func (f *blockingFile) Sync() error {
	f.syncing <- struct{}{}
	<-f.release
	return nil
}

func (f *blockingFile) Close() error { return nil }

// TestJournalIsSyncedBeforeTheReply holds the journal's fsync and checks
// that no 250 arrives until it returns.
func TestJournalIsSyncedBeforeTheReply(t *testing.T) {
	t.Parallel()
	f := &blockingFile{syncing: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := Start(Config{journalFile: f})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	cl := dial(t, s)
	replied := make(chan int, 1)
	go func() { replied <- cl.send("a@example.test", "m@acme.test") }()
	<-f.syncing
	select {
	case code := <-replied:
		t.Fatalf("answered %d before the journal was synced", code)
	case <-time.After(200 * time.Millisecond):
	}
	close(f.release)
	require.Equal(t, 250, <-replied, "reply after the sync")
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Contains(t, string(f.data), "\tm@acme.test\ta@example.test\n", "journal")
}

func TestJournalFailureRefusesWithoutAccepting(t *testing.T) {
	t.Parallel()
	s, path := start(t, true)
	_ = s.journal.f.(*os.File).Close() // the disk is gone
	require.Equal(t, 451, dial(t, s).send("a@example.test", "m@acme.test"), "reply when the journal cannot be written")
	require.Zero(t, s.Stats().Accepted, "accepted")
	data, _ := os.ReadFile(path)
	require.Empty(t, data, "journal")
}

func TestReadJournal(t *testing.T) {
	t.Parallel()
	in := "A\t1\t1000\t10\t-\tm1@a.test\tp1@b.test\n" +
		"A\t2\t2000\t20\tdrop\tm2@a.test\tp2@b.test\n" +
		"L\t1\tclient-closed\n" +
		"A\t3\t3000\t30\t-\t-\tp3@b.test\n" +
		"A\t4\t40" // cut short: never synced whole
	es, err := ReadJournal(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, es, 3, "entries %+v", es)
	require.Equal(t, "client-closed", es[0].Lost, "entries %+v", es)
	require.Equal(t, "drop", es[1].Lost, "entries %+v", es)
	require.Empty(t, es[2].Lost, "entries %+v", es)
	require.Empty(t, es[2].MessageID, "entries %+v", es)
	require.EqualValues(t, 1000, es[0].At.UnixNano(), "entries %+v", es)
	_, err = ReadJournal(strings.NewReader("X\t1\n"))
	require.Error(t, err, "a line that is no record was read without error")
}

func TestControlHandler(t *testing.T) {
	t.Parallel()
	s, _ := start(t, false)
	h := s.ControlHandler()
	post := func(form string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mode", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for form, want := range map[string]int{
		"mode=sideways":          400,
		"mode=hang&for=forever":  400,
		"mode=delay":             400,
		"mode=delay&delay=-1s":   400,
		"mode=unavailable&for=1": 400,
	} {
		require.Equal(t, want, post(form), "POST %s", form)
	}
	require.Equal(t, 204, post("mode=unavailable&for=1m"), "POST unavailable")
	c, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	require.True(t, strings.HasPrefix(line, "421 "), "greeting %q while unavailable", line)
	require.Equal(t, 204, post("mode=none"), "POST none")
	dial(t, s).send("a@example.test", "m@acme.test")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	require.Contains(t, rec.Body.String(), `"accepted":1`, "stats")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/reset", nil))
	require.Equal(t, 204, rec.Code, "POST /reset")
	require.Equal(t, Stats{}, s.Stats(), "stats after /reset")
}

// scriptConn is a connection whose client says in and then hangs up;
// what the server writes is kept.
type scriptConn struct {
	in  io.Reader
	out strings.Builder
}

func (c *scriptConn) Read(p []byte) (int, error)         { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *scriptConn) Close() error                       { return nil }
func (c *scriptConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error        { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error    { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzSession feeds arbitrary client input to a session: it must end
// when the input does, without panicking, and answer only with well-formed
// replies.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO me\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<f451once-x@b.test>\r\nDATA\r\nMessage-ID: <m@a>\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"MAIL FROM:<a@b.test>\r\nRCPT TO:<f550-x@b.test>\r\nDATA\r\nSubject: x\r\n\r\n.\r\n",
		"MAIL FROM:<a@b.test>\r\nRCPT TO:<fdrop-x@b.test>\r\nDATA\r\nMessage-ID:\r\n <folded@a>\r\n\r\n.\n",
		"MAIL FROM:<a@b.test>\r\nRCPT TO:<fhang-x@b.test>\r\nDATA\r\n\r\n.\r\nNOOP\r\n",
		"RCPT TO:<>\r\nDATA\r\nhelo\r\n\r\n",
		strings.Repeat("x", 70000) + "\r\n",
		"MAIL FROM:<a@b.test>\r\nRCPT TO:<a@b.test>\r\nDATA\r\n" + strings.Repeat("y", 70000) + "\r\n.\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if strings.Contains(strings.ToLower(string(in)), "fdelay-") {
			t.Skip("a delayed reply only slows the fuzzer down")
		}
		s := &Server{cfg: Config{Hostname: "sink.test", MaxSize: 1 << 16}, conns: map[net.Conn]struct{}{}}
		c := &scriptConn{in: strings.NewReader(string(in))}
		s.serve(c)
		for line := range strings.Lines(c.out.String()) {
			require.GreaterOrEqual(t, len(line), 6, "malformed reply %q", line)
			require.True(t, strings.HasSuffix(line, "\r\n"), "malformed reply %q", line)
			require.True(t, line[3] == ' ' || line[3] == '-', "malformed reply %q", line)
			require.True(t, line[0] >= '2' && line[0] <= '5', "malformed reply %q", line)
		}
		require.LessOrEqual(t, s.Stats().Accepted, int64(strings.Count(string(in), "\n.")), "messages accepted from %q", in)
	})
}
