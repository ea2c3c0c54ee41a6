package smtpsink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// ControlHandler is the sink's control interface over HTTP, for a sink
// running as a process of its own (bench/sink). Serve it on loopback only:
// it takes no credentials.
//
//	POST /mode   mode=none|down|unavailable|hang|delay  [for=30s]  [delay=200ms]
//	GET  /stats  the counters, as JSON
//	POST /reset  the counters back to zero (see Server.ResetStats)
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mode", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form could not be read", http.StatusBadRequest)
			return
		}
		m, ok := ParseMode(r.PostForm.Get("mode"))
		if !ok {
			http.Error(w, "mode: want none, down, unavailable, hang or delay", http.StatusBadRequest)
			return
		}
		var d, delay time.Duration
		for _, p := range []struct {
			name string
			into *time.Duration
		}{{"for", &d}, {"delay", &delay}} {
			v := r.PostForm.Get(p.name)
			if v == "" {
				continue
			}
			x, err := time.ParseDuration(v)
			if err != nil || x < 0 {
				http.Error(w, fmt.Sprintf("%s: %q is not a duration such as 30s", p.name, v), http.StatusBadRequest)
				return
			}
			*p.into = x
		}
		if m == ModeDelay && delay == 0 {
			http.Error(w, "delay: mode=delay needs a delay such as 200ms", http.StatusBadRequest)
			return
		}
		s.SetMode(m, d, delay)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}
