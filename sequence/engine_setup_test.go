package sequence_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/mailer"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
	"github.com/nurture-email/nurture/worker"
)

// flow is the engine end to end on a controlled clock: the real store on a
// schema of its own, a private redis-server holding the tasks, the
// sequence poller, the engine, delivery and an in-process SMTP relay. No
// worker runs in the background: run plays the worker's part, task by
// task, until nothing is left to do at the clock's time, so a test moves
// time forward instead of sleeping.
type flow struct {
	t         *testing.T
	pool      *pgxpool.Pool
	store     *postgres.DB
	clock     *testkit.Clock
	smtp      *smtptest.Server
	tmpl      *templates.Set
	enqueuer  *jobs.Enqueuer
	inspector *asynq.Inspector
	engine    *sequence.Engine
	poller    *worker.SequencePoller
	recon     *worker.Reconciler
	marker    worker.QueueMarker // the poller's, when a test sets it
	redisURL  string
	send      *jobs.SendHandler
	advance   *jobs.AdvanceHandler
	msgs      int // ingested calls so far, for their message ids
	capLimit  int // the frequency cap of the next newEngine
}

// monday10 is a Monday, 10:00 UTC, in the future of the machine's clock (the
// database's clock measures the leases of claims, which must not look
// expired).
var monday10 = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

// newFlow builds a flow on the sequences of fsys (the built-in starters
// when nil), its clock at start.
func newFlow(t *testing.T, fsys fs.FS, start time.Time) *flow {
	t.Helper()
	pool := testkit.DB(t)
	rs := testkit.NewRedisServer(t)
	opt, err := asynq.ParseRedisURI(rs.URL(0))
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = inspector.Close() })

	f := &flow{t: t, pool: pool, store: postgres.New(pool), clock: testkit.NewClock(start), smtp: smtptest.Start(t),
		enqueuer: jobs.NewEnqueuer(client), inspector: inspector, redisURL: rs.URL(0)}
	f.recon = &worker.Reconciler{Store: f.store, Enqueuer: f.enqueuer, Clock: f.clock}
	f.tmpl, err = templates.Default()
	require.NoError(t, err)
	f.engine = f.newEngine(fsys)

	m, err := mailer.New(mailer.Config{URL: f.smtp.URL(), PoolSize: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	signer, err := nurture.NewSigner(strings.Repeat("k", 32))
	require.NoError(t, err)
	ids, err := f.store.MessageIDs(context.Background())
	require.NoError(t, err)
	// Delivery keeps the wall clock: its leases are measured in real
	// time, and what a test checks is when each step created its email.
	d := delivery.New(delivery.Config{Store: f.store, Renderer: f.tmpl, Sender: m, MessageIDs: ids,
		Links: delivery.Linker{Signer: signer, BaseURL: "https://links.acme.example"},
		From:  mail.Address{Name: "Acme", Address: "hello@acme.example"}, Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.example"}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	f.send = jobs.NewSendHandler(d)
	return f
}

// newEngine builds an engine on the sequences of fsys (nil: the starters),
// registers their versions, and makes it the flow's.
func (f *flow) newEngine(fsys fs.FS) *sequence.Engine {
	f.t.Helper()
	if fsys == nil {
		fsys = templates.Sequences()
	}
	set, err := sequence.Load(fsys, f.tmpl)
	require.NoError(f.t, err)
	sources := map[string][]byte{}
	for _, s := range set.All() {
		sources[s.ID], err = fs.ReadFile(fsys, s.File)
		require.NoError(f.t, err)
	}
	e := sequence.NewEngine(sequence.EngineConfig{Store: f.store, Enqueuer: f.enqueuer, Sequences: set, Sources: sources,
		Templates: f.tmpl, Clock: f.clock, Cap: f.capLimit})
	require.NoError(f.t, e.Register(context.Background()))
	events, traits := e.Triggers()
	f.store.WatchSequences(postgres.SequenceTriggers{Events: events, Traits: traits})
	f.engine = e
	f.poller = &worker.SequencePoller{Store: f.store, Enqueuer: f.enqueuer, Signals: e, Clock: f.clock, Marker: f.marker}
	f.advance = jobs.NewAdvanceHandler(e)
	return e
}

// run does what the worker and the poller would do by the clock's time: it
// polls, and runs every task queued (those held for later too: the clock
// is the test's), until a pass finds nothing to do.
func (f *flow) run() {
	f.t.Helper()
	ctx := context.Background()
	for range 100 {
		_, _, err := f.poller.Pass(ctx)
		require.NoError(f.t, err)
		_, err = f.recon.Pass(ctx)
		require.NoError(f.t, err)
		tasks := f.tasks()
		if len(tasks) == 0 {
			return
		}
		for _, ti := range tasks {
			f.process(ti)
		}
	}
	require.FailNow(f.t, "the flow did not settle in 100 passes")
}

// process takes one task off the queue and runs its handler, as a worker
// would.
func (f *flow) process(ti *asynq.TaskInfo) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.inspector.DeleteTask(ti.Queue, ti.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		require.NoError(f.t, err) // gone already: a lost task run again
	}
	task := asynq.NewTask(ti.Type, ti.Payload)
	switch ti.Type {
	case jobs.TypeSequenceAdvance, jobs.TypeSequenceAdvanceBatch:
		require.NoError(f.t, f.advance.ProcessTask(ctx, task))
	case jobs.TypeEmailSend, jobs.TypeEmailSendBatch:
		require.NoError(f.t, f.send.ProcessTask(ctx, task))
	default:
		require.Failf(f.t, "unexpected task", "type %s", ti.Type)
	}
}

// flushRedis empties the task queue's Redis, as a restart without
// persistence or a FLUSHALL would.
func (f *flow) flushRedis() {
	f.t.Helper()
	opt, err := redis.ParseURL(f.redisURL)
	require.NoError(f.t, err)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	require.NoError(f.t, rdb.FlushAll(context.Background()).Err())
	// asynq's client registers a queue once per process, and its
	// inspector lists only registered queues; a worker needs no
	// registration. Register them again for the inspector's sake.
	for q := range jobs.QueuePriorities {
		require.NoError(f.t, rdb.SAdd(context.Background(), "asynq:queues", q).Err())
	}
}

// tasks lists the tasks queued, pending or held for later, in every queue.
func (f *flow) tasks() []*asynq.TaskInfo {
	var out []*asynq.TaskInfo
	for q := range jobs.QueuePriorities {
		pending, err := f.inspector.ListPendingTasks(q)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			require.NoError(f.t, err)
		}
		scheduled, err := f.inspector.ListScheduledTasks(q)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			require.NoError(f.t, err)
		}
		out = append(append(out, pending...), scheduled...)
	}
	return out
}

// at moves the clock to t and runs.
func (f *flow) at(t time.Time) {
	f.t.Helper()
	f.clock.Set(t)
	f.run()
}

// ingest stores calls as the API would, at the clock's time.
func (f *flow) ingest(calls ...nurture.Call) {
	f.t.Helper()
	for i := range calls {
		f.msgs++
		calls[i].MessageID = fmt.Sprintf("call-%d", f.msgs)
		if calls[i].Timestamp.IsZero() {
			calls[i].Timestamp = f.clock.Now()
		}
	}
	_, err := f.store.Ingest(context.Background(), calls, api.ContactFromTraits, f.clock.Now())
	require.NoError(f.t, err)
}

// signUp identifies userID with profile and reports their sign-up.
func (f *flow) signUp(userID string, profile nurture.Contact) int64 {
	f.t.Helper()
	f.identify(userID, profile)
	f.track(userID, nurture.EventSignedUp)
	c, err := f.store.ContactByExternalID(context.Background(), userID)
	require.NoError(f.t, err)
	return c.ID
}

func (f *flow) identify(userID string, profile nurture.Contact) {
	f.t.Helper()
	p := profile
	f.ingest(nurture.Call{Type: nurture.EventIdentify, UserID: userID, Profile: &p, Properties: map[string]any{"email": profile.Email}})
}

func (f *flow) track(userID, event string) {
	f.t.Helper()
	f.ingest(nurture.Call{Type: nurture.EventTrack, UserID: userID, Name: event})
}

// templatesSent returns the templates of the contact's sent messages, in
// the order their steps created them.
func (f *flow) templatesSent(contactID int64) []string {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT template FROM messages WHERE contact_id = $1 AND status = 'sent' ORDER BY send_at, id`, contactID)
	require.NoError(f.t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(f.t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(f.t, rows.Err())
	return out
}

// sentAt returns when the step that sent the contact's email of template
// created it (by the flow's clock), or the zero time when none was sent.
func (f *flow) sentAt(contactID int64, template string) time.Time {
	f.t.Helper()
	var at time.Time
	err := f.pool.QueryRow(context.Background(), `SELECT coalesce(max(send_at), 'epoch') FROM messages WHERE contact_id = $1 AND template = $2 AND status = 'sent'`,
		contactID, template).Scan(&at)
	require.NoError(f.t, err)
	if at.Equal(time.Unix(0, 0)) {
		return time.Time{}
	}
	return at.UTC()
}

// enrollments returns the contact's enrollments.
func (f *flow) enrollments(contactID int64) []nurture.Enrollment {
	f.t.Helper()
	es, err := f.store.ContactEnrollments(context.Background(), contactID)
	require.NoError(f.t, err)
	return es
}

// only returns the contact's one enrollment.
func (f *flow) only(contactID int64) nurture.Enrollment {
	f.t.Helper()
	es := f.enrollments(contactID)
	require.Len(f.t, es, 1)
	return es[0]
}

// in returns the contact's one enrollment in sequence seq.
func (f *flow) in(contactID int64, seq string) nurture.Enrollment {
	f.t.Helper()
	var out []nurture.Enrollment
	for _, e := range f.enrollments(contactID) {
		if e.Sequence == seq {
			out = append(out, e)
		}
	}
	require.Len(f.t, out, 1, seq)
	return out[0]
}
