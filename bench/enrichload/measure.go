package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/postgres"
)

// countingStore is the real store, counted: it tells how many times each
// domain was claimed and researched and each contact recorded, and when.
// Every call goes to PostgreSQL unchanged.
type countingStore struct {
	*postgres.DB

	mu         sync.Mutex
	claims     map[string]int       // domain -> claims that won
	claimedAt  map[string]time.Time // domain -> when its research began
	researches map[string]int       // domain -> researches saved
	researched []time.Duration      // claim to save, per research
	lastSave   time.Time
	records    map[int64]int       // contact -> outcomes recorded
	recordedAt map[int64]time.Time // contact -> when its outcome was recorded
	lastRecord time.Time
	deferrals  int // contacts put back because another job held their domain
}

func newCountingStore(db *postgres.DB) *countingStore {
	return &countingStore{DB: db, claims: map[string]int{}, claimedAt: map[string]time.Time{}, researches: map[string]int{},
		records: map[int64]int{}, recordedAt: map[int64]time.Time{}}
}

// ClaimDomainResearch counts the claims that won.
func (s *countingStore) ClaimDomainResearch(ctx context.Context, domain string, now time.Time, ttl, lease time.Duration) (*nurture.DomainResearch, bool, error) {
	r, claimed, err := s.DB.ClaimDomainResearch(ctx, domain, now, ttl, lease)
	if err == nil && claimed {
		s.mu.Lock()
		s.claims[domain]++
		s.claimedAt[domain] = time.Now()
		s.mu.Unlock()
	}
	return r, claimed, err
}

// SaveDomainResearch counts the researches saved.
func (s *countingStore) SaveDomainResearch(ctx context.Context, r *nurture.DomainResearch) error {
	err := s.DB.SaveDomainResearch(ctx, r)
	if err == nil {
		now := time.Now()
		s.mu.Lock()
		s.researches[r.Domain]++
		if at, ok := s.claimedAt[r.Domain]; ok {
			s.researched = append(s.researched, now.Sub(at))
		}
		s.lastSave = now
		s.mu.Unlock()
	}
	return err
}

// RecordEnrichment counts the outcomes recorded.
func (s *countingStore) RecordEnrichment(ctx context.Context, o *nurture.EnrichmentOutcome) (bool, error) {
	ok, err := s.DB.RecordEnrichment(ctx, o)
	if err == nil && ok {
		now := time.Now()
		s.mu.Lock()
		s.records[o.ContactID]++
		s.recordedAt[o.ContactID] = now
		s.lastRecord = now
		s.mu.Unlock()
	}
	return ok, err
}

// DeferEnrichment counts the contacts put back.
func (s *countingStore) DeferEnrichment(ctx context.Context, contactID, revision int64, at time.Time) error {
	err := s.DB.DeferEnrichment(ctx, contactID, revision, at)
	if err == nil {
		s.mu.Lock()
		s.deferrals++
		s.mu.Unlock()
	}
	return err
}

// timedLimiter is the fetcher's limiter, timed: how long requests waited
// for their domain's turn.
type timedLimiter struct {
	next   enrich.Limiter
	waits  atomic.Int64
	waited atomic.Int64 // nanoseconds
}

// Wait waits for the domain's turn and adds the wait up.
func (l *timedLimiter) Wait(ctx context.Context, domain string) error {
	start := time.Now()
	err := l.next.Wait(ctx, domain)
	l.waits.Add(1)
	l.waited.Add(int64(time.Since(start)))
	return err
}

// heapSampler samples the Go heap (live and dead objects not yet swept)
// until stopped, keeping the peak.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) close() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// vmHWM is the process's peak resident set size (VmHWM), in bytes.
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// percentile returns the p-quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func sortedCopy(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

// startRedis starts a redis-server of the run's own on a free port.
func startRedis(dir string) (string, int, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("start redis-server: %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, cmd.Process.Pid, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", 0, nil, fmt.Errorf("redis-server on %s did not answer", addr)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
