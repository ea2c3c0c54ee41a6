package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// shippedSequences are the sequences that ship with the binary, on the
// templates that do.
func shippedSequences(t *testing.T) (*templates.Set, *sequence.Set) {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	set, err := sequence.Load(templates.Sequences(), tmpl)
	require.NoError(t, err)
	return tmpl, set
}

// sequencesPages is the sequences concern on the harness's store, with
// the API's simulation on the harness's clock.
func sequencesPages(t *testing.T, h *harness) *console.Sequences {
	t.Helper()
	_, set := shippedSequences(t)
	// The pages wait for the funnel's counts as long as need be, so that
	// what they show does not depend on the machine's speed.
	return &console.Sequences{Set: set, Stats: h.store, StatsWait: time.Minute,
		Simulator: api.ConsoleSimulator{Simulator: &api.Simulator{Store: h.store}, Clock: h.clock}}
}

// droppedSends drops what the engine queues: the tests look at rows.
type droppedSends struct{}

func (droppedSends) EnqueueSendBatch(context.Context, string, string, []int64) (int, error) {
	return 0, nil
}

// seedOnboarding enrolls three contacts in onboarding and lets the engine
// send them the welcome; the first clicks it, the second opens it (a
// machine opens the third's), and the second reaches the goal. It returns
// the contacts.
func seedOnboarding(t *testing.T, h *harness) []*nurture.Contact {
	t.Helper()
	ctx := context.Background()
	contacts, enrollments := enrollInOnboarding(t, h, "ada", "grace", "alan")
	hit := func(i int, kind, class string) {
		_, err := h.pool.Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at)
			SELECT r.message_id, $2, $3, $4, $5 FROM message_reasons r WHERE r.enrollment_id = $1 AND r.step = 'welcome'`,
			enrollments[i], contacts[i].ID, kind, class, now.Add(time.Hour))
		require.NoError(t, err)
	}
	hit(0, "click", "human")
	hit(1, "open", "human")
	hit(2, "open", "machine")
	_, err := h.pool.Exec(ctx, `INSERT INTO enrollment_history (enrollment_id, step, kind, detail, at) VALUES ($1, 'welcome', 'converted', 'activated', $2)`,
		enrollments[1], now.Add(2*time.Hour))
	require.NoError(t, err)
	return contacts
}

// enrollInOnboarding enrolls a contact of each name given in onboarding,
// and lets the engine send them the welcome.
func enrollInOnboarding(t *testing.T, h *harness, names ...string) (contacts []*nurture.Contact, enrollments []int64) {
	t.Helper()
	ctx := context.Background()
	_, set := shippedSequences(t)
	engine := sequence.NewEngine(sequence.EngineConfig{Store: h.store, Enqueuer: droppedSends{}, Sequences: set, Clock: h.clock})
	for _, who := range names {
		c, _, err := h.store.UpsertContact(ctx, &nurture.Contact{Email: who + "@example.com", ExternalID: "u-" + who, FirstName: who})
		require.NoError(t, err)
		e, why, err := engine.Enroll(ctx, c.ID, "onboarding", h.clock.Now())
		require.NoError(t, err)
		require.NotNil(t, e, why)
		require.NoError(t, engine.Advance(ctx, e.ID)) // the welcome
		contacts, enrollments = append(contacts, c), append(enrollments, e.ID)
	}
	return contacts, enrollments
}

// The list shows every sequence in use with its trigger, entry rule and
// version, each linking to its page.
func TestSequencesList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	page, res := h.get(t, c, "/admin/sequences")
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, set := shippedSequences(t)
	for _, s := range set.All() {
		require.Contains(t, page, `href="/admin/sequences/`+s.ID+`"`)
		require.Contains(t, page, s.Version[:12])
	}
	onboarding, _ := set.Get("onboarding")
	require.Contains(t, page, onboarding.Name)
	require.Contains(t, page, "on the event signed_up")
	require.Contains(t, page, "once per contact")
	require.Contains(t, page, "Live")
}

// A sequence's page shows its rules, its steps in order written for
// people, and its funnel in a chart and in numbers.
func TestSequencePage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedOnboarding(t, h)
	c := h.signedIn(t)
	page, res := h.get(t, c, "/admin/sequences/onboarding")
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, set := shippedSequences(t)
	onboarding, _ := set.Get("onboarding")
	require.Contains(t, page, onboarding.Version)
	for _, want := range []string{
		"once per contact", "the event demo_booked", "the event activated within 30d of enrolling", "mon-fri 09:00-17:00",
		"Sends the email welcome", "sent whenever it comes", "Waits 1d", "Waits until 3d after the enrollment began",
		"Branches on did setup_completed", "if it holds: go to day-3", "otherwise: go to setup-tips",
		"topic education", "Then goes to day-6",
		`href="/admin/templates/feature-reports"`,
	} {
		require.Contains(t, page, want)
	}
	// The steps in the file's order.
	last := -1
	for _, s := range onboarding.Steps {
		i := strings.Index(page, `id="step-`+s.ID+`"`)
		require.Greater(t, i, last, "step %s in order", s.ID)
		last = i
	}
	// The funnel: 3 entered, 3 sent, 2 opened (the machine's open does
	// not count), 1 clicked, 1 converted; as an SVG chart and a table.
	require.Contains(t, page, `<svg class="chart" role="img"`)
	for stage, n := range map[string]string{"Entered": "3", "Sent": "3", "Opened": "2", "Clicked": "1", "Converted": "1"} {
		require.Contains(t, page, `<tr><th scope="row">`+stage+`</th><td class="num">`+n+`</td></tr>`, stage)
	}
	require.Contains(t, page, `<tr><th scope="row">Active</th><td class="num">3</td></tr>`)
}

// The simulation form shows the timeline the engine would follow for the
// contact named by id or address; a refused value names its field.
func TestSequenceSimulate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	contact, _, err := h.store.UpsertContact(ctx, &nurture.Contact{Email: "lin@example.com", ExternalID: "u-lin", FirstName: "Lin"})
	require.NoError(t, err)
	c := h.signedIn(t)
	for _, ref := range []string{"lin@example.com", strconv.FormatInt(contact.ID, 10)} {
		page, res := h.get(t, c, "/admin/sequences/onboarding?contact="+ref+"&until=14d")
		require.Equal(t, http.StatusOK, res.StatusCode, page)
		require.Contains(t, page, "Timeline for contact "+strconv.FormatInt(contact.ID, 10)+" (lin@example.com)")
		require.Contains(t, page, "a new enrollment")
		require.Contains(t, page, `email <a href="/admin/templates/welcome">welcome</a>`)
		require.Contains(t, page, `email <a href="/admin/templates/check-in">check-in</a>`)
		require.Contains(t, page, `value="`+ref+`"`, "the form keeps what was typed")
	}
	// Nothing was written.
	var n int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*) FROM enrollments`).Scan(&n))
	require.Zero(t, n)

	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"contact=", http.StatusBadRequest, "contact: is required"},
		{"contact=nobody@example.com", http.StatusNotFound, "contact: "},
		{"contact=lin@example.com&until=soon", http.StatusBadRequest, "until: "},
		{"contact=lin@example.com&until=400d", http.StatusBadRequest, "until: is longer than 366d"},
	} {
		page, res := h.get(t, c, "/admin/sequences/onboarding?"+tc.query)
		require.Equal(t, tc.status, res.StatusCode, tc.query)
		require.Contains(t, page, `<p class="error" role="alert">`+tc.want, tc.query)
	}
}

// gatedStats counts with the real store, once per token it receives: the
// test says when a count may end.
type gatedStats struct {
	console.SequenceStatsStore
	tokens chan struct{}
}

func (g gatedStats) SequenceStats(ctx context.Context, id string) (*nurture.SequenceStats, error) {
	select {
	case <-g.tokens:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.SequenceStatsStore.SequenceStats(ctx, id)
}

// A count of the funnel that takes long does not hold the page: it says
// the funnel is being counted and shows it when counted; later, counts
// older than a minute are shown while they are counted again.
func TestSequenceFunnelCountedInTheBackground(t *testing.T) {
	t.Parallel()
	gate := gatedStats{tokens: make(chan struct{})}
	h := newHarness(t, func(c *console.Config) {
		gate.SequenceStatsStore = c.Sequences.Stats
		c.Sequences.Stats, c.Sequences.StatsWait = gate, time.Millisecond
	})
	seedOnboarding(t, h)
	c := h.signedIn(t)
	page, res := h.get(t, c, "/admin/sequences/onboarding")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "The funnel is being counted")
	require.NotContains(t, page, "Funnel in numbers")

	entered := func(n string) func() bool {
		return func() bool {
			page, _ := h.get(t, c, "/admin/sequences/onboarding")
			return strings.Contains(page, `<tr><th scope="row">Entered</th><td class="num">`+n+`</td></tr>`)
		}
	}
	gate.tokens <- struct{}{}
	require.Eventually(t, entered("3"), time.Minute, 10*time.Millisecond)
	page, _ = h.get(t, c, "/admin/sequences/onboarding")
	require.Contains(t, page, "Counted at 2026-03-02 12:00 UTC.")

	// Two minutes on, a fourth contact has entered: the page shows the
	// old counts while the new one runs, then the new.
	h.clock.Advance(2 * time.Minute)
	enrollInOnboarding(t, h, "edsger")
	page, _ = h.get(t, c, "/admin/sequences/onboarding")
	require.Contains(t, page, "Counted at 2026-03-02 12:00 UTC; a new count is under way.")
	require.True(t, entered("3")())
	gate.tokens <- struct{}{}
	require.Eventually(t, entered("4"), time.Minute, 10*time.Millisecond)
}

// A sequence that is not in use is a 404 page.
func TestSequenceMissing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page, res := h.get(t, h.signedIn(t), "/admin/sequences/nope")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, page, "There is no sequence with this id.")
}

// Without the templates pages, a sequence's emails are named, not linked.
func TestSequencePageWithoutTemplatesPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *console.Config) { c.Templates = nil })
	page, res := h.get(t, h.signedIn(t), "/admin/sequences/onboarding")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "Sends the email welcome")
	require.NotContains(t, page, "/admin/templates")
}
