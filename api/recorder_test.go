package api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/metrics"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// flakyLink forwards TCP connections to PostgreSQL until it is cut; then it
// drops every connection and refuses new ones, as a network outage would.
type flakyLink struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newFlakyLink(t *testing.T, target string) *flakyLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &flakyLink{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); f.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			if f.down {
				f.mu.Unlock()
				_ = c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				f.mu.Unlock()
				_ = c.Close()
				continue
			}
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return f
}

func (f *flakyLink) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
}

func (f *flakyLink) restore() {
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
}

func TestPixelAnswersWhileTheDatabaseIsAwayAndRecordsLater(t *testing.T) {
	t.Parallel()
	direct := testkit.DB(t)
	cfg := direct.Config().Copy()
	link := newFlakyLink(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	host, port, _ := net.SplitHostPort(link.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
	cfg.ConnConfig.ConnectTimeout = time.Second
	viaLink, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(viaLink.Close)
	require.NoError(t, viaLink.Ping(context.Background())) // connected before the clock matters

	ctx := context.Background()
	store := postgres.New(direct)
	c, _, err := store.UpsertContact(ctx, &nurture.Contact{Email: "away@example.com"})
	require.NoError(t, err)
	m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	require.NoError(t, err)
	signer, _ := nurture.NewSigner(strings.Repeat("s", 32))
	a, err := New(Config{Recipients: &Recipients{Store: store, Signer: signer, Hits: postgres.New(viaLink), HitQueue: 3, HitWait: time.Second}})
	require.NoError(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	t.Cleanup(a.Close)
	pixel := srv.URL + "/o/" + signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.ID, ContactID: c.ID})
	opens := func() int {
		var n int
		require.NoError(t, direct.QueryRow(ctx, `SELECT count(*) FROM email_events`).Scan(&n))
		return n
	}
	get := func() {
		resp, err := http.Get(pixel)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body, 43)
	}

	get()
	require.Equal(t, 1, opens(), "committed before the answer")

	link.cut()
	for range 8 {
		get() // the image never breaks
	}
	require.Equal(t, 1, opens())
	require.Positive(t, a.DroppedHits(), "past the queue's capacity hits are dropped and counted")
	reg := metrics.New()
	reg.WatchHits(a)
	w := httptest.NewRecorder()
	reg.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Contains(t, w.Body.String(), "nurture_hits_dropped_total ")
	require.NotContains(t, w.Body.String(), "nurture_hits_dropped_total 0\n")

	link.restore()
	// The first hit, the batch the writer held through the outage, and the queue of 3.
	require.Eventually(t, func() bool { return opens() >= 5 }, 30*time.Second, 50*time.Millisecond,
		"the hits that waited are written when the database is back")
}

// memoryHits is a HitStore in memory that can be made to hang or fail.
type memoryHits struct {
	mu    sync.Mutex
	hits  map[int64]bool // by MessageID
	gate  chan struct{}  // when not nil, RecordHits waits for it to close
	fails int            // RecordHits fails this many more times
}

func (m *memoryHits) RecordHits(ctx context.Context, hits []nurture.Hit) error {
	m.mu.Lock()
	gate := m.gate
	if m.fails > 0 {
		m.fails--
		m.mu.Unlock()
		return io.ErrUnexpectedEOF
	}
	m.mu.Unlock()
	if gate != nil {
		<-gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hits {
		m.hits[h.MessageID] = true
	}
	return nil
}

func (m *memoryHits) has(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[id]
}

func (m *memoryHits) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.hits)
}

func TestRecorderAnswersOnlyAfterTheCommit(t *testing.T) {
	t.Parallel()
	store := &memoryHits{hits: map[int64]bool{}}
	r := newHitRecorder(store, slog.New(slog.DiscardHandler), 10_000, time.Minute)
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			id := int64(i + 1)
			if !r.record(nurture.Hit{MessageID: id}) {
				t.Errorf("hit %d not committed", id)
			} else if !store.has(id) {
				t.Errorf("hit %d answered before it was stored", id)
			}
		})
	}
	wg.Wait()
	r.close()
	require.Equal(t, 500, store.count())
	require.EqualValues(t, 500, r.recorded.Load())
	require.Zero(t, r.dropped.Load())
}

func TestRecorderStopsWaitingForACommitThatHangsAndWritesLater(t *testing.T) {
	t.Parallel()
	store := &memoryHits{hits: map[int64]bool{}, gate: make(chan struct{})}
	r := newHitRecorder(store, slog.New(slog.DiscardHandler), 100, 10*time.Millisecond)
	t.Cleanup(r.close)
	require.False(t, r.record(nurture.Hit{MessageID: 1}), "the commit hangs: the request answers anyway")
	require.False(t, r.record(nurture.Hit{MessageID: 2}), "the database is away: answered without waiting")
	require.Equal(t, 1, r.queuedHits())

	store.mu.Lock()
	close(store.gate)
	store.gate = nil
	store.mu.Unlock()
	require.Eventually(t, func() bool { return store.count() == 2 }, 10*time.Second, 5*time.Millisecond, "both are written once the database answers")
	require.True(t, r.record(nurture.Hit{MessageID: 3}), "back to waiting for the commit")
	require.True(t, store.has(3))
}

func TestRecorderDropsAndCountsPastItsQueue(t *testing.T) {
	t.Parallel()
	store := &memoryHits{hits: map[int64]bool{}, fails: 1 << 30}
	r := newHitRecorder(store, slog.New(slog.DiscardHandler), 3, 10*time.Millisecond)
	for i := range 10 {
		require.False(t, r.record(nurture.Hit{MessageID: int64(i + 1)}))
	}
	// One hit is with the writer, three wait in the queue, the rest are dropped.
	require.Equal(t, 3, r.queuedHits())
	require.EqualValues(t, 6, r.dropped.Load())
	store.mu.Lock()
	store.fails = 0
	store.mu.Unlock()
	require.Eventually(t, func() bool { return store.count() == 4 }, 10*time.Second, 5*time.Millisecond)
	r.close()
	require.EqualValues(t, 4, r.recorded.Load())
}

func TestRecentClicksCountsOtherLinksOfTheLastSecond(t *testing.T) {
	t.Parallel()
	var r recentClicks
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for i, step := range []struct {
		msg  int64
		link int
		at   time.Time
		want int
	}{
		{1, 1, ms(0), 0},
		{1, 1, ms(100), 0},   // the same link again is no other link
		{1, 2, ms(200), 1},   // link 1 (twice) before it
		{2, 7, ms(250), 0},   // another message is counted apart
		{1, 3, ms(300), 2},   // links 1 and 2
		{1, 1, ms(400), 2},   // links 2 and 3
		{1, 4, ms(1250), 2},  // link 1 at 100 ms and 2 at 200 ms are past the second: 3 and 1 (at 400 ms)
		{1, 5, ms(9000), 0},  // all of it long ago
		{2, 7, ms(9100), 0},  // pruned, then seen again
		{2, 8, ms(9200), 1},  // link 7
		{2, 8, ms(9300), 1},  // still link 7 only
		{2, 9, ms(10400), 0}, // more than a second after the last
	} {
		require.Equal(t, step.want, r.add(step.msg, step.link, step.at), "step %d", i)
	}
}
