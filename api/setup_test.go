package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/metrics"
	"github.com/nurture-email/nurture/internal/ratelimit"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// received is when every request of the tests arrives, by the API's clock.
var received = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// bundle is what a test gets from setup: the API on the real store of a
// fresh schema, the pool to look at the rows behind it, a clock standing
// still, the signer of recipient links and keys to call it with.
type bundle struct {
	api    *api.API
	pool   *pgxpool.Pool
	store  *postgres.DB
	clock  *testkit.Clock
	signer *nurture.Signer // signs the recipient links the API takes, unless a test sets its own
	sends  *sendQueue      // the emails the API queued (the export of the preference page)
	ingest string          // a key with scope ingest
	admin  string          // a key with scope admin only
}

// setup builds the bundle; configure, when given, changes the API's Config
// before it is built.
func setup(t testing.TB, configure ...func(*api.Config)) *bundle {
	t.Helper()
	pool := testkit.DB(t)
	signer, err := nurture.NewSigner(strings.Repeat("bundle-secret-", 3))
	require.NoError(t, err)
	b := &bundle{pool: pool, store: postgres.New(pool), clock: testkit.NewClock(received), signer: signer, sends: &sendQueue{}}
	b.store.ErasureKey = []byte(strings.Repeat("bundle-erasure-key-", 3))
	b.ingest = b.newKey(t, nurture.ScopeIngest)
	b.admin = b.newKey(t, nurture.ScopeAdmin)
	// Every concern is served, on the real store; the recipient
	// endpoints with a signer of the bundle's, without hits recorded.
	cfg := api.Config{
		Ingestion: &api.Ingestion{Store: b.store},
		Admin: &api.Admin{Contacts: b.store, Messages: b.store, Companies: b.store, Enrichments: b.store, DataRights: b.store,
			Corrections: b.store, Consents: b.store, Confirmations: b.store},
		Segments:   &api.Segments{Store: b.store, Audience: b.store},
		Recipients: &api.Recipients{Store: b.store, Signer: b.signer, Eraser: b.store, Exporter: b.store, ExportQueue: b.sends},
		Webhooks:   &api.Webhooks{Bounces: b.store},
		Keys:       b.store,
		Ready:      map[string]api.Pinger{"postgres": pool.Ping},
		Clock:      b.clock,
		Logger:     slog.New(slog.DiscardHandler),
		// A Redis shared by a busy test run may take longer than the
		// production budget; the tests of the budget set their own.
		RateLimitBudget: 10 * time.Second,
	}
	// /metrics as the binary serves it: the process's registry, with
	// the API's counters.
	reg := metrics.New()
	cfg.Metrics, cfg.Observer = reg.Handler(), reg
	for _, f := range configure {
		f(&cfg)
	}
	a, err := api.New(cfg)
	require.NoError(t, err)
	reg.WatchHits(a)
	b.api = a
	return b
}

// sendQueue is an api.SendEnqueuer that records what it is given.
type sendQueue struct {
	mu  sync.Mutex
	ids []int64
}

func (q *sendQueue) EnqueueSend(_ context.Context, m *nurture.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, m.ID)
	return nil
}

func (q *sendQueue) queued() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.ids)
}

// newKey stores a new API key with the given scopes and returns it.
func (b *bundle) newKey(t testing.TB, scopes ...nurture.Scope) string {
	t.Helper()
	key, stored, err := nurture.NewAPIKey("test "+string(scopes[0]), scopes)
	require.NoError(t, err)
	require.NoError(t, b.store.CreateAPIKey(context.Background(), stored))
	return key
}

// request is one HTTP request to the API.
type request struct {
	method  string // POST unless said
	path    string
	body    any // []byte and string are sent as they are, anything else as JSON
	key     string
	bearer  bool // the key as a Bearer token instead of Basic
	gzip    bool // compress the body and say so
	chunked bool // send no Content-Length, as a streaming client does
	headers map[string]string
	remote  string          // the client's address, host:port; httptest's 192.0.2.1:1234 unless said
	ctx     context.Context // the request's context, when not the default
}

// response is what the API answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r to the API through ServeHTTP.
func (b *bundle) do(t testing.TB, r request) response {
	t.Helper()
	var data []byte
	switch v := r.body.(type) {
	case nil:
	case []byte:
		data = v
	case string:
		data = []byte(v)
	default:
		var err error
		data, err = json.Marshal(v)
		require.NoError(t, err)
	}
	if r.gzip {
		data = gzipped(t, data)
	}
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(data)
	if r.chunked {
		body = io.MultiReader(body) // a reader of unknown length
	}
	req := httptest.NewRequest(method, r.path, body)
	if r.chunked {
		require.EqualValues(t, -1, req.ContentLength)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if r.key != "" {
		if r.bearer {
			req.Header.Set("Authorization", "Bearer "+r.key)
		} else {
			req.SetBasicAuth(r.key, "") // as Segment's libraries do
		}
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	if r.ctx != nil {
		req = req.WithContext(r.ctx)
	}
	rec := httptest.NewRecorder()
	b.api.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// post sends body to path with the ingest key.
func (b *bundle) post(t testing.TB, path string, body any) response {
	t.Helper()
	return b.do(t, request{path: path, body: body, key: b.ingest})
}

// requireSuccess fails unless the API answered Segment's 200 {"success": true}.
func requireSuccess(t testing.TB, res response) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, `{"success": true}`, string(res.body))
}

// apiError is the error body of every failed request.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// requireError fails unless the API answered status with an error about
// field ("" for none) and returns the error.
func requireError(t testing.TB, res response, status int, field string) apiError {
	t.Helper()
	require.Equal(t, status, res.status, "body: %s", res.body)
	var e apiError
	require.NoError(t, json.Unmarshal(res.body, &e), "error body: %s", res.body)
	require.NotEmpty(t, e.Error.Code, "error body: %s", res.body)
	require.NotEmpty(t, e.Error.Message, "error body: %s", res.body)
	require.Equal(t, field, e.Error.Field, "error body: %s", res.body)
	return e
}

// counts is the number of rows of each table ingestion writes.
type counts struct {
	Contacts, Events, AnonymousIDs, Engagement, EmailChanges, Messages int
}

func (b *bundle) counts(t testing.TB) counts {
	t.Helper()
	var c counts
	err := b.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM contacts), (SELECT count(*) FROM events), (SELECT count(*) FROM anonymous_ids),
		(SELECT count(*) FROM engagement), (SELECT count(*) FROM contact_email_changes), (SELECT count(*) FROM messages)`).
		Scan(&c.Contacts, &c.Events, &c.AnonymousIDs, &c.Engagement, &c.EmailChanges, &c.Messages)
	require.NoError(t, err)
	return c
}

// contactRow is a contact as stored.
type contactRow struct {
	ID                           int64
	ExternalID, Email            *string
	FirstName, LastName, Company string
	TeamSize, TimeZone, Locale   string
	LastIP, UserAgent            string
	Attributes                   map[string]any
}

// contactByUser reads the contact whose external id is userID.
func (b *bundle) contactByUser(t testing.TB, userID string) contactRow {
	t.Helper()
	return b.contactWhere(t, "external_id = $1", userID)
}

func (b *bundle) contactWhere(t testing.TB, where string, args ...any) contactRow {
	t.Helper()
	var c contactRow
	err := b.pool.QueryRow(context.Background(), `SELECT id, external_id, email, first_name, last_name, company,
		team_size, time_zone, locale, last_ip, user_agent, attributes FROM contacts WHERE `+where, args...).
		Scan(&c.ID, &c.ExternalID, &c.Email, &c.FirstName, &c.LastName, &c.Company,
			&c.TeamSize, &c.TimeZone, &c.Locale, &c.LastIP, &c.UserAgent, &c.Attributes)
	require.NoError(t, err, "contact where %s %v", where, args)
	return c
}

// eventRow is an event as stored.
type eventRow struct {
	ContactID   *int64
	AnonymousID *string
	MessageID   string
	Type, Name  string
	Properties  map[string]any
	Raw         map[string]any
	OccurredAt  time.Time
}

// event reads the event with messageID.
func (b *bundle) event(t testing.TB, messageID string) eventRow {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT contact_id, anonymous_id, message_id, type, name,
		properties, raw, occurred_at FROM events WHERE message_id = $1`, messageID)
	require.NoError(t, err)
	ev, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[eventRow])
	require.NoError(t, err, "event %s", messageID)
	return ev
}

// engagementJSON is the engagement summary of GET /v1/contacts/{id}.
type engagementJSON struct {
	FirstSeen *time.Time       `json:"firstSeen"`
	LastSeen  *time.Time       `json:"lastSeen"`
	PageViews int64            `json:"pageViews"`
	Actions   map[string]int64 `json:"actions"`
}

// contactJSON is a contact as GET /v1/contacts/{id} shows it.
type contactJSON struct {
	ID            int64                `json:"id"`
	UserID        string               `json:"userId"`
	Email         string               `json:"email"`
	Profile       map[string]string    `json:"profile"`
	Attributes    map[string]any       `json:"attributes"`
	Engagement    engagementJSON       `json:"engagement"`
	Subscriptions map[string]topicJSON `json:"subscriptions"`
	Suppression   suppressionJSON      `json:"suppression"`
	Company       *contactCompanyJSON  `json:"company"`
	Enrichment    *enrichmentJSON      `json:"enrichment"`
}

// contactCompanyJSON is the company shown with a contact.
type contactCompanyJSON struct {
	ID       int64               `json:"id"`
	GroupID  string              `json:"groupId"`
	Name     string              `json:"name"`
	Domain   string              `json:"domain"`
	Industry string              `json:"industry"`
	Size     string              `json:"size"`
	Country  string              `json:"country"`
	Enriched []enrichedFieldJSON `json:"enriched"`
}

// topicJSON is a contact's subscription to one topic.
type topicJSON struct {
	Subscribed     bool       `json:"subscribed"`
	UnsubscribedAt *time.Time `json:"unsubscribedAt"`
	Via            string     `json:"via"`
}

// suppressionJSON is whether a contact's address is suppressed.
type suppressionJSON struct {
	Suppressed bool       `json:"suppressed"`
	Reason     string     `json:"reason"`
	Detail     string     `json:"detail"`
	Since      *time.Time `json:"since"`
}

// getContact reads a contact through the admin API.
func (b *bundle) getContact(t testing.TB, id int64) contactJSON {
	t.Helper()
	res := b.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/contacts/%d", id), key: b.admin, bearer: true})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var c contactJSON
	require.NoError(t, json.Unmarshal(res.body, &c))
	return c
}

// discardEnqueuer drops the emails a test's sequence engine queues: the
// API's tests look at the rows, not at a queue.
type discardEnqueuer struct{}

func (discardEnqueuer) EnqueueSendBatch(context.Context, string, string, []int64) (int, error) {
	return 0, nil
}

// keyLimiter gives every API key the same limit, as cmd/nurture does.
type keyLimiter struct {
	limiter *ratelimit.Limiter
	limit   ratelimit.Limit
}

func (k keyLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	r, err := k.limiter.Allow(ctx, key, k.limit)
	if err != nil {
		return false, 0, err
	}
	return r.Allowed, r.RetryAfter, nil
}

// redisLimiter returns a limiter on a redis-server of the test's own.
func redisLimiter(t testing.TB, lim ratelimit.Limit) api.RateLimiter {
	t.Helper()
	opt, err := redis.ParseURL(testkit.RedisURL(t))
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return keyLimiter{limiter: ratelimit.New(rdb, "nurture:test:ratelimit:"), limit: lim}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// fixture reads a payload of testdata.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&v), name)
	return v
}

// ts formats a time as the payloads carry it.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// obj is a JSON object of a payload.
type obj = map[string]any
