package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sink is the SMTP sink the emails go to: a process of its own (bench/sink
// or one like it), whose control interface answers GET /stats and
// POST /reset. Its CPU is read from its /stats, so it is never inside
// the measuring process.
type sink struct {
	addr     string // SMTP host:port
	control  string // http://host:port of the control interface
	http     *http.Client
	proc     *exec.Cmd // nil for a sink started elsewhere
	procDone chan struct{}
}

// sinkStats is what the sink's GET /stats answers (bench/sink's fields;
// PID and CPU are zero from a sink that does not report them).
type sinkStats struct {
	Accepted      int64         `json:"accepted"`
	Refused       int64         `json:"refused"`
	Deferred      int64         `json:"deferred"`
	Bytes         int64         `json:"bytes"`
	FirstAccepted time.Time     `json:"first_accepted"`
	LastAccepted  time.Time     `json:"last_accepted"`
	PID           int           `json:"pid"`
	CPU           time.Duration `json:"cpu_ns"`
}

// rate is the sink's figure of emails per second, from the first to the
// last message it accepted: (n-1)/(last-first).
func (st sinkStats) rate() float64 {
	d := st.LastAccepted.Sub(st.FirstAccepted)
	if st.Accepted < 2 || d <= 0 {
		return 0
	}
	return float64(st.Accepted-1) / d.Seconds()
}

// useSink connects to the sink at addr, whose control interface is at
// control (empty: the same host, the next port, as bench/sink's defaults).
func useSink(addr, control string) (*sink, error) {
	if control == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("-sink %q: %w", addr, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("-sink %q: the port is not a number", addr)
		}
		control = "http://" + net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	control = strings.TrimSuffix(strings.TrimSuffix(control, "/stats"), "/")
	s := &sink{addr: addr, control: control, http: &http.Client{Timeout: 5 * time.Second}}
	if _, err := s.stats(context.Background()); err != nil {
		return nil, fmt.Errorf("the sink's control interface: %w", err)
	}
	return s, nil
}

// startSink runs the sink binary bin on free loopback ports, without a
// journal, and reads the addresses it prints.
func startSink(bin string) (*sink, error) {
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(filepath.Dir(exe), "sink")
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-control", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the sink (build it with go build -o %s ./bench/sink, or name it with -sink-bin): %w", bin, err)
	}
	s := &sink{http: &http.Client{Timeout: 5 * time.Second}, proc: cmd, procDone: make(chan struct{})}
	lines := bufio.NewScanner(out)
	for s.addr == "" || s.control == "" {
		if !lines.Scan() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, errors.New("the sink ended before saying where it listens")
		}
		if v, ok := strings.CutPrefix(lines.Text(), "smtp on "); ok {
			s.addr = v
		}
		if v, ok := strings.CutPrefix(lines.Text(), "control on "); ok {
			s.control = v
		}
	}
	go func() {
		// Keep reading: the sink prints its counters as it ends.
		_, _ = io.Copy(io.Discard, out)
		close(s.procDone)
	}()
	return s, nil
}

// close ends the sink if this process started it.
func (s *sink) close() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Process.Signal(syscall.SIGTERM)
	<-s.procDone
	_ = s.proc.Wait()
}

func (s *sink) stats(ctx context.Context) (sinkStats, error) {
	var st sinkStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.control+"/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s/stats: %s", s.control, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// reset sets the sink's counters back to zero before a run.
func (s *sink) reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.control+"/reset", nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s/reset: %s", s.control, resp.Status)
	}
	return nil
}

// waitFor polls the sink until it has accepted n messages, and returns its
// figures then. It gives up when done is closed (the worker ended) or
// after limit. Every 50 ms is enough: the rates come from the sink's own
// times of the first and last message, and each poll costs the sink.
func (s *sink) waitFor(ctx context.Context, n int64, done <-chan struct{}, limit time.Duration) (sinkStats, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := s.stats(ctx)
		if err != nil {
			return st, err
		}
		if st.Accepted >= n {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("only %d of %d delivered after %s", st.Accepted, n, limit)
		}
		select {
		case <-done:
			return st, fmt.Errorf("the worker ended after %d of %d messages", st.Accepted, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
