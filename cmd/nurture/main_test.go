package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// engine is the real binary's run function, started in process against a
// fresh schema, a redis-server of its own and an in-process SMTP server.
type engine struct {
	t      *testing.T
	key    string // an ingest key
	env    map[string]string
	pool   *pgxpool.Pool
	smtp   *smtptest.Server
	apiURL string
	logTo  io.Writer // also receives the engine's logs, when set
}

func setup(t *testing.T) *engine {
	t.Helper()
	pool := testkit.DB(t)
	smtp := smtptest.Start(t)
	addr := freeAddr(t)
	key, err := createAPIKey(context.Background(), postgres.New(pool), "test", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)
	return &engine{
		t:    t,
		key:  key,
		pool: pool,
		smtp: smtp,
		env: map[string]string{
			"NURTURE_DATABASE_URL": testkit.DatabaseURLFor(t, pool), "NURTURE_DATABASE_POOLER": string(testkit.Pooler()),
			"NURTURE_REDIS_URL":    testkit.RedisURL(t),
			"NURTURE_SMTP_URL":     smtp.URL(),
			"NURTURE_LISTEN":       addr,
			"NURTURE_SECRET":       config.NewSecret(),
			"NURTURE_ERASURE_KEY":  config.NewSecret(),
			"NURTURE_FROM":         "Acme Cloud <hello@acme.example>",
			"NURTURE_PRODUCT_NAME": "Acme Cloud",
			"NURTURE_LOG_LEVEL":    "warn",
		},
		apiURL: "http://" + addr,
	}
}

// start runs `nurture <command>` until the returned stop is called; stop
// returns the exit code. The logs go to the test's output.
func (e *engine) start(command string) (stop func() int) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &testLog{t: e.t}
	var w io.Writer = logs
	if e.logTo != nil {
		w = io.MultiWriter(logs, e.logTo)
	}
	env := maps.Clone(e.env) // a test may change e.env for the next process
	go func() {
		done <- run(ctx, []string{command}, func(k string) string { return env[k] }, io.Discard, w)
	}()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				e.t.Errorf("nurture %s did not stop within 30s", command)
			}
			logs.close()
		})
		return code
	}
	e.t.Cleanup(func() { stop() })
	return stop
}

func (e *engine) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(e.apiURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("API at %s not ready: %v", e.apiURL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post sends a JSON call and returns the status and body.
func (e *engine) post(path string, body any) (int, string) {
	e.t.Helper()
	data, err := json.Marshal(body)
	require.NoError(e.t, err)
	req, err := http.NewRequest(http.MethodPost, e.apiURL+path, bytes.NewReader(data))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(e.key, "") // as Segment's SDKs do
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// callAs sends body as JSON with method to path, with key as the Bearer
// token (an operator's key), and returns the status and body.
func (e *engine) callAs(key, method, path string, body any) (int, string) {
	e.t.Helper()
	data, err := json.Marshal(body)
	require.NoError(e.t, err)
	req, err := http.NewRequest(method, e.apiURL+path, bytes.NewReader(data))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (e *engine) mustPost(path string, body any) {
	e.t.Helper()
	status, out := e.post(path, body)
	require.Equal(e.t, http.StatusOK, status, out)
	require.JSONEq(e.t, `{"success":true}`, out)
}

// messageStatus returns the status of the only message of template for the contact with userID.
func (e *engine) messages(userID string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT m.status FROM messages m JOIN contacts c ON c.id = m.contact_id
		WHERE c.external_id = $1 ORDER BY m.id`, userID)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(e.t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func (e *engine) waitStatus(userID, want string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		ms := e.messages(userID)
		return len(ms) == 1 && ms[0] == want
	}, 20*time.Second, 20*time.Millisecond, "message of %s never became %s: %v", userID, want, e.messages(userID))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := testkit.FreeAddr()
	require.NoError(t, err)
	return addr
}

// testLog forwards the engine's logs to the test until the engine stops.
type testLog struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

func TestSignUpSendsPersonalisedWelcome(t *testing.T) {
	t.Parallel()
	e := setup(t)
	stop := e.start("all")
	e.waitReady()

	e.mustPost("/v1/identify", map[string]any{
		"userId":    "u-ada",
		"messageId": "identify-1",
		"traits":    map[string]any{"email": "ada@analytical.example", "firstName": "Ada", "lastName": "Lovelace", "company": "Analytical Engines"},
	})
	e.mustPost("/v1/track", map[string]any{"userId": "u-ada", "event": "signed_up", "messageId": "signup-1"})

	msgs := e.smtp.WaitForMessages(t, 1, 20*time.Second)
	m := msgs[0]
	require.Equal(t, []string{"ada@analytical.example"}, m.To)
	require.Equal(t, "hello@acme.example", m.From)
	require.Contains(t, m.Header("To"), "ada@analytical.example")
	require.Contains(t, m.Header("To"), "Ada Lovelace")
	require.Contains(t, m.Header("From"), "Acme Cloud")
	require.Contains(t, m.Header("Subject"), "Ada")
	text, html := m.Part("text/plain"), m.Part("text/html")
	require.NotEmpty(t, text)
	require.NotEmpty(t, html)
	require.Contains(t, text, "Analytical Engines")
	require.Contains(t, html, "Analytical Engines")
	require.Contains(t, text, "Ada")

	e.waitStatus("u-ada", "sent")
	require.Equal(t, 0, stop(), "a stop by signal exits 0")
}

func TestWelcomeFallsBackWhenProfileIsUnknown(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("all")
	e.waitReady()

	e.mustPost("/v1/identify", map[string]any{"userId": "u-anon", "traits": map[string]any{"email": "someone@example.com"}})
	e.mustPost("/v1/track", map[string]any{"userId": "u-anon", "event": "signed_up"})

	m := e.smtp.WaitForMessages(t, 1, 20*time.Second)[0]
	subject := m.Header("Subject")
	require.NotContains(t, subject, "<no value>")
	require.NotContains(t, subject, ", ,")
	text := m.Part("text/plain")
	require.Contains(t, text, "Hi there")
	require.NotContains(t, text, "<no value>")
}

func TestSameSignUpTwiceSendsOneEmail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("all")
	e.waitReady()

	e.mustPost("/v1/identify", map[string]any{"userId": "u-grace", "traits": map[string]any{"email": "grace@example.com", "firstName": "Grace"}})
	signUp := map[string]any{"userId": "u-grace", "event": "signed_up", "messageId": "signup-grace"}
	e.mustPost("/v1/track", signUp)
	e.mustPost("/v1/track", signUp) // a retried call
	e.waitStatus("u-grace", "sent")
	e.mustPost("/v1/track", signUp) // replayed after delivery

	var events int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE message_id = 'signup-grace'`).Scan(&events))
	require.Equal(t, 1, events)
	require.Equal(t, []string{"sent"}, e.messages("u-grace"), "one message row, hence one task id")
	require.Len(t, e.smtp.Messages(), 1)
}

func TestBadDatabaseURLStopsWithOneLine(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	env := map[string]string{"NURTURE_DATABASE_URL": "nonsense", "NURTURE_SECRET": config.NewSecret(), "NURTURE_ERASURE_KEY": config.NewSecret()}
	for _, cmd := range []string{"api", "worker", "all", "migrate"} {
		stderr.Reset()
		code := run(context.Background(), []string{cmd}, func(k string) string { return env[k] }, io.Discard, &stderr)
		require.NotEqual(t, 0, code, cmd)
		out := strings.TrimRight(stderr.String(), "\n")
		require.NotContains(t, out, "\n", "one line for %s: %q", cmd, out)
		require.Contains(t, out, "NURTURE_DATABASE_URL", cmd)
	}
}

func TestUnreachableDatabaseNamesTheVariable(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	env := map[string]string{
		"NURTURE_DATABASE_URL": "postgres://postgres@" + freeAddr(t) + "/nurture?sslmode=disable&connect_timeout=2",
	}
	code := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "NURTURE_DATABASE_URL")
}

// Outside --dev, every command that builds or serves recipient links says
// once, at start, that an http public URL makes List-Unsubscribe http.
func TestPlainHTTPPublicURLWarnsAtStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		warns bool
	}{
		{"api", []string{"api"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com"}, true},
		{"worker", []string{"worker"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com"}, true},
		{"all", []string{"all"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com"}, true},
		{"the default", []string{"all"}, nil, true},
		{"the flag wins", []string{"api", "--public-url", "http://links.example.com"}, map[string]string{"NURTURE_PUBLIC_URL": "https://links.example.com"}, true},
		{"https", []string{"all"}, map[string]string{"NURTURE_PUBLIC_URL": "https://links.example.com"}, false},
		{"--dev", []string{"all", "--dev"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com"}, false},
		{"NURTURE_DEV", []string{"api"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com", "NURTURE_DEV": "true"}, false},
		{"migrate builds no link", []string{"migrate"}, map[string]string{"NURTURE_PUBLIC_URL": "http://links.example.com"}, false},
	}
	// The warning comes before any connection: a database that is not there
	// and a context already ended make each run stop at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range tests {
		env := map[string]string{
			"NURTURE_DATABASE_URL": "postgres://postgres@" + freeAddr(t) + "/nurture?sslmode=disable&connect_timeout=2",
			"NURTURE_SECRET":       config.NewSecret(), // a weak one would stop the run before the warning
			"NURTURE_ERASURE_KEY":  config.NewSecret(),
			"NURTURE_LOG_FORMAT":   "text",
		}
		for k, v := range tt.env {
			env[k] = v
		}
		var stderr bytes.Buffer
		run(ctx, tt.args, func(k string) string { return env[k] }, io.Discard, &stderr)
		var warnings []string
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, "NURTURE_PUBLIC_URL is http") {
				warnings = append(warnings, line)
			}
		}
		if !tt.warns {
			require.Empty(t, warnings, tt.name)
			continue
		}
		require.Len(t, warnings, 1, "%s: %s", tt.name, stderr.String())
		require.Contains(t, warnings[0], "level=WARN", tt.name)
		require.Contains(t, warnings[0], "List-Unsubscribe", tt.name)
		require.Contains(t, warnings[0], "public_url=http://", tt.name)
	}
}

func TestHelpListsCommandsAndVariables(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, io.Discard))
	for _, c := range []string{"api", "worker", "all", "migrate", "version"} {
		require.Contains(t, out.String(), "  "+c)
	}
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"worker", "--help"}, func(string) string { return "" }, io.Discard, &out))
	require.Contains(t, out.String(), "--smtp-url, $NURTURE_SMTP_URL")
	require.Equal(t, 2, run(context.Background(), []string{"bogus"}, func(string) string { return "" }, io.Discard, io.Discard))
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard))
	require.Equal(t, fmt.Sprintf("nurture %s\n", version), out.String())
}

func TestWorkerStoppedMidDeliveryDeliversOnceAfterRestart(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.env["NURTURE_SHUTDOWN_TIMEOUT"] = "2s"
	e.start("api")
	e.waitReady()
	// The relay holds the first delivery at MAIL FROM: the worker is caught
	// with the task in flight.
	hold := e.smtp.Hold(smtptest.StageMail)
	stopWorker := e.start("worker")

	e.mustPost("/v1/identify", map[string]any{"userId": "u-kat", "traits": map[string]any{"email": "kat@example.com", "firstName": "Katherine"}})
	e.mustPost("/v1/track", map[string]any{"userId": "u-kat", "event": "signed_up", "messageId": "signup-kat"})
	select {
	case <-hold.Reached():
	case <-time.After(20 * time.Second):
		t.Fatal("the worker never started the delivery")
	}
	require.Equal(t, []string{"sending"}, e.messages("u-kat"))

	require.Equal(t, 0, stopWorker(), "SIGTERM-like stop exits 0")
	hold.Release()
	require.Equal(t, []string{"queued"}, e.messages("u-kat"), "the interrupted attempt gave the message back")
	require.Empty(t, e.smtp.Messages())

	e.start("worker")
	e.waitStatus("u-kat", "sent")
	msgs := e.smtp.WaitForMessages(t, 1, 20*time.Second)
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"kat@example.com"}, msgs[0].To)

	var attempts int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT attempts FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE c.external_id = 'u-kat'`).Scan(&attempts))
	require.Equal(t, 1, attempts, "the interrupted attempt does not count")
}

func TestDemoReportsSignUpsThatGetWelcomed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("all")
	e.waitReady()
	env := map[string]string{"NURTURE_API_URL": e.apiURL, "NURTURE_DATABASE_URL": e.env["NURTURE_DATABASE_URL"], "NURTURE_DATABASE_POOLER": e.env["NURTURE_DATABASE_POOLER"], "NURTURE_LOG_LEVEL": "warn"}
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo"}, func(k string) string { return env[k] }, &out, io.Discard))
	require.Equal(t, len(demoSignUps), strings.Count(out.String(), "reported sign-up"))
	msgs := e.smtp.WaitForMessages(t, len(demoSignUps), 20*time.Second)
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
	}
	require.Contains(t, to, "ada@analytical.example")

	// It prints an admin key that signs in to the binary's console.
	key := regexp.MustCompile(`admin key (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, key, out.String())
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	res, err := browser.Get(e.apiURL + "/admin/sign-in")
	require.NoError(t, err)
	page, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, csrf, string(page))
	res, err = browser.PostForm(e.apiURL+"/admin/sign-in", url.Values{"key": {key[1]}, "csrf": {string(csrf[1])}})
	require.NoError(t, err)
	page, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode, "signed in, the console's first page")
	require.Contains(t, string(page), "console (demo)", "the key's name is on the page")

	// Running it again sends nothing new: the sign-ups carry fixed message ids.
	require.Equal(t, 0, run(context.Background(), []string{"demo"}, func(k string) string { return env[k] }, io.Discard, io.Discard))
	var sent int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages`).Scan(&sent))
	require.Equal(t, len(demoSignUps), sent)
}

func TestAPIKeyCommands(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("api")
	e.waitReady()
	env := func(k string) string { return e.env[k] }
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"apikey"}, args...), env, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, key, _ := cli("create", "--name", "website", "--scopes", "ingest")
	require.Equal(t, 0, code)
	key = strings.TrimSpace(key)
	require.True(t, strings.HasPrefix(key, "nk_"), key)

	var stored int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM api_keys WHERE hash = $1`, nurture.HashAPIKey(key)).Scan(&stored))
	require.Equal(t, 1, stored)
	var plain int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM api_keys WHERE encode(hash, 'escape') LIKE '%' || $1 || '%' OR prefix = $1`, key).Scan(&plain))
	require.Zero(t, plain, "the key itself is never stored")

	e.key = key
	status, _ := e.post("/v1/identify", map[string]any{"userId": "u1", "traits": map[string]any{"email": "u1@example.com"}})
	require.Equal(t, http.StatusOK, status)

	code, list, _ := cli("list")
	require.Equal(t, 0, code)
	require.Contains(t, list, "website")
	require.Contains(t, list, key[:9])
	require.NotContains(t, list, key)

	code, _, errOut := cli("create", "--name", "x", "--scopes", "root")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "scopes")

	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM api_keys WHERE name = 'website'`).Scan(&id))
	code, _, _ = cli("revoke", "--id", fmt.Sprint(id))
	require.Equal(t, 0, code)
	code, _, errOut = cli("revoke", "--id", "999999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no api key")

	// The API caches keys for up to 10 s; a fresh API process refuses at once.
	e.env["NURTURE_LISTEN"] = freeAddr(t)
	e.apiURL = "http://" + e.env["NURTURE_LISTEN"]
	e.start("api")
	e.waitReady()
	status, body := e.post("/v1/identify", map[string]any{"userId": "u1"})
	require.Equal(t, http.StatusUnauthorized, status, body)
}

func TestJSONLogs(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t)
	env := map[string]string{"NURTURE_DATABASE_URL": testkit.DatabaseURLFor(t, pool), "NURTURE_DATABASE_POOLER": string(testkit.Pooler()), "NURTURE_LOG_FORMAT": "json"}
	var stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, &stderr))
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.NotEmpty(t, lines)
	for _, line := range lines {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		require.Contains(t, entry, "msg")
	}
}
