package smtptest

import "sync"

// Hold keeps the next transaction that reaches a stage waiting, without a
// reply, until the test releases it. It lets a test catch a client in the
// middle of a delivery: stop a worker then, say, and see what happens.
type Hold struct {
	stage   Stage
	reached chan struct{}
	release chan struct{}
	once    sync.Once
	used    bool
}

// Hold arranges for the next transaction reaching stage to wait. The wait
// ends at Release or when the server closes, even if the client has gone
// away meanwhile (a held session does not watch its connection).
func (s *Server) Hold(stage Stage) *Hold {
	h := &Hold{stage: stage, reached: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// Reached is closed once a transaction is being held.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Release lets the held transaction go on; it is safe to call more than once.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// wait holds the session if a Hold targets stage.
func (s *Server) wait(stage Stage) {
	s.mu.Lock()
	var h *Hold
	for _, c := range s.holds {
		if c.stage == stage && !c.used {
			h, c.used = c, true
			break
		}
	}
	stopping := s.stopping
	s.mu.Unlock()
	if h == nil {
		return
	}
	close(h.reached)
	select {
	case <-h.release:
	case <-stopping:
	}
}
