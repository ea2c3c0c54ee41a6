package delivery_test

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/mailer"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/templates"
)

// bundle is what a delivery test works with: the real store on a schema of
// its own, an in-process relay, the mailer, and a Deliverer on them.
type bundle struct {
	pool   *pgxpool.Pool
	store  *postgres.DB
	smtp   *smtptest.Server
	sender *mailer.Mailer
	links  delivery.Linker
	clock  *testkit.Clock
	d      *delivery.Deliverer
}

func setup(t testing.TB) *bundle {
	t.Helper()
	pool := testkit.DB(t)
	store := postgres.New(pool)
	smtp := smtptest.Start(t)
	m, err := mailer.New(mailer.Config{URL: smtp.URL(), PoolSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	clock := testkit.NewClock(time.Now())
	signer, err := nurture.NewSigner(strings.Repeat("k", 32))
	require.NoError(t, err)
	b := &bundle{pool: pool, store: store, smtp: smtp, sender: m, clock: clock,
		links: delivery.Linker{Signer: signer, BaseURL: "https://links.acme.example", Clock: clock}}
	b.d = b.deliverer(t, nil)
	return b
}

// deliverer returns a Deliverer on the bundle's store, relay and links,
// with settings changed by change (when not nil). It is closed when the test
// ends.
func (b *bundle) deliverer(t testing.TB, change func(*delivery.Config)) *delivery.Deliverer {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	ids, err := b.store.MessageIDs(context.Background())
	require.NoError(t, err)
	cfg := delivery.Config{Store: b.store, Renderer: tmpl, Sender: b.sender, Links: b.links, Clock: b.clock, MessageIDs: ids,
		From:    mail.Address{Name: "Acme", Address: "hello@acme.example"},
		Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.example"}}
	if change != nil {
		change(&cfg)
	}
	d := delivery.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

// deliver runs one Deliver call for ids.
func (b *bundle) deliver(ctx context.Context, ids ...int64) error {
	return b.d.Deliver(ctx, delivery.Request{IDs: ids})
}

// welcome creates a contact and its queued welcome message.
func (b *bundle) welcome(t testing.TB, email string) int64 {
	t.Helper()
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: email, FirstName: "Ada", Company: "Acme"})
	require.NoError(t, err)
	m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID),
		ContactID: c.ID, Template: "welcome", SendAt: b.clock.Now()})
	require.NoError(t, err)
	return m.ID
}

// welcomes creates n contacts p0@example.com... and their welcome messages.
func (b *bundle) welcomes(t testing.TB, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = b.welcome(t, fmt.Sprintf("p%d@example.com", i))
	}
	return ids
}

func (b *bundle) status(t testing.TB, id int64) *nurture.Message {
	t.Helper()
	m, err := b.store.Message(context.Background(), id)
	require.NoError(t, err)
	return m
}

// deliveredTo counts the relay's messages per recipient.
func (b *bundle) deliveredTo() map[string]int {
	out := map[string]int{}
	for _, m := range b.smtp.Messages() {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

// requireEachOnce fails unless each of the n recipients of welcomes got
// exactly one email.
func (b *bundle) requireEachOnce(t testing.TB, n int) {
	t.Helper()
	got := b.deliveredTo()
	for i := range n {
		require.Equal(t, 1, got[fmt.Sprintf("p%d@example.com", i)], "p%d@example.com", i)
	}
	require.Len(t, got, n)
}

// gatedSender is a Sender that passes emails to next, but lets a test stop
// it before an email: gate closes the gate (the next Send blocks until open
// is called) and reports the blocked email on reached.
type gatedSender struct {
	next delivery.Sender

	mu      sync.Mutex
	closed  bool
	open    chan struct{}
	reached chan *nurture.Email
	sent    int
	onSend  func(n int) // called before the n-th email (from 1) is handed on
}

func newGatedSender(next delivery.Sender) *gatedSender {
	return &gatedSender{next: next, open: make(chan struct{}), reached: make(chan *nurture.Email, 100)}
}

func (g *gatedSender) Send(ctx context.Context, e *nurture.Email) error {
	g.mu.Lock()
	closed, open := g.closed, g.open
	g.sent++
	n, hook := g.sent, g.onSend
	g.mu.Unlock()
	if closed {
		g.reached <- e
		select {
		case <-open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if hook != nil {
		hook(n)
	}
	return g.next.Send(ctx, e)
}

func (g *gatedSender) gate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed, g.open = true, make(chan struct{})
}

func (g *gatedSender) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.closed = false
		close(g.open)
	}
}
