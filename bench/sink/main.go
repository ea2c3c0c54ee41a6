// Command sink runs the SMTP sink of internal/smtpsink as a process of its
// own: a fast relay for load and fault tests that keeps nothing but a
// journal, and whose faults are chosen by recipient tags or switched over a
// small HTTP control interface on loopback. Its /stats adds the process's
// id and CPU time (pid, cpu_ns) to the sink's counters, for bench/sendload
// to report the sink's share of the machine.
//
//	sink -listen 127.0.0.1:2525 -journal /tmp/sink.journal -control 127.0.0.1:2526
//	curl -d mode=unavailable -d for=30s 127.0.0.1:2526/mode   # the relay answers 421 for 30 s
//	curl 127.0.0.1:2526/stats
//	curl -X POST 127.0.0.1:2526/reset                          # the counters back to zero
//
// It runs Go code on one thread at a time by default (-procs): on the
// 2-core machine of the benchmarks, where it shares the cores with the
// engine it measures, that spent 69 µs of CPU per message against 81 with
// Go's default (median of three alternated sendload runs each, 20,000
// check-in emails, 2026-12-06).
//
// Port 0 in -listen or -control picks a free port; the lines printed at
// the start ("smtp on ADDR", "control on http://ADDR") say which.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "SMTP address")
	journal := flag.String("journal", "", "file each accepted message is appended to, fsynced before its 250 (none when empty)")
	control := flag.String("control", "127.0.0.1:2526", "loopback address of the HTTP control interface (POST /mode, GET /stats, POST /reset); empty: none")
	procs := flag.Int("procs", 1, "threads running Go code at once (GOMAXPROCS; 0: Go's default, one per core): one keeps the sink's own scheduling small on a machine it shares with what it measures")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if err := run(*listen, *journal, *control); err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
}

func run(listen, journal, control string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := smtpsink.Start(smtpsink.Config{Addr: listen, Journal: journal})
	if err != nil {
		return err
	}
	fmt.Printf("smtp on %s\n", s.Addr())
	if control != "" {
		host, _, err := net.SplitHostPort(control)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			_ = s.Close()
			return fmt.Errorf("-control %q: the control interface takes no credentials, so it listens on a loopback address only", control)
		}
		ln, err := net.Listen("tcp", control)
		if err != nil {
			_ = s.Close()
			return err
		}
		srv := &http.Server{Handler: controlHandler(s), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "sink: control:", err)
			}
		}()
		defer srv.Close()
		fmt.Printf("control on http://%s\n", ln.Addr())
	}
	<-ctx.Done()
	st := s.Stats()
	fmt.Printf("accepted %d, refused %d, deferred %d, lost replies %d, journal fsyncs %d\n",
		st.Accepted, st.Refused, st.Deferred, st.LostReplies, st.Syncs)
	return s.Close()
}

// processStats is what GET /stats answers: the sink's counters, and the
// process's id and CPU time so far (user and system).
type processStats struct {
	smtpsink.Stats
	PID int           `json:"pid"`
	CPU time.Duration `json:"cpu_ns"`
}

// controlHandler is the sink's control interface, with the process's own
// figures added to /stats.
func controlHandler(s *smtpsink.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.ControlHandler())
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(processStats{Stats: s.Stats(), PID: os.Getpid(), CPU: selfCPU()})
	})
	return mux
}

// selfCPU is the user and system CPU this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
