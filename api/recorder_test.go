package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// newAdminContext is a Gin context for calling a handler directly.
func newAdminContext(w *httptest.ResponseRecorder) *gin.Context {
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/metrics", nil)
	return c
}

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
	a, err := New(Config{Store: store, Signer: signer, Hits: postgres.New(viaLink), HitQueue: 3, HitWait: time.Second})
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
	w := httptest.NewRecorder()
	a.metrics(newAdminContext(w))
	require.Contains(t, w.Body.String(), "nurture_hits_dropped_total ")
	require.NotContains(t, w.Body.String(), "nurture_hits_dropped_total 0\n")

	link.restore()
	// The first hit, the batch the writer held through the outage, and the queue of 3.
	require.Eventually(t, func() bool { return opens() >= 5 }, 30*time.Second, 50*time.Millisecond,
		"the hits that waited are written when the database is back")
}
