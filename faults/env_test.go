package faults

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/smtpsink"
	"github.com/nurture-email/nurture/internal/testkit"
)

// suite is what every scenario shares: the binary, the PostgreSQL cluster,
// toxiproxy, the settings of this run and the rows of the table.
type suite struct {
	bin      string
	pg       *postgresCluster
	proxies  *proxies
	emails   int           // FAULTS_EMAILS
	hang     time.Duration // FAULTS_HANG: how long the relay hangs in scenario 6
	deadline time.Duration // FAULTS_DEADLINE: the longest a scenario may take to finish
	seed     uint64        // FAULTS_SEED
	rows     []Row
	runs     int
	began    time.Time
	command  string // what reproduces this run
	commit   string // what was measured: the commit when the suite began
	finished bool   // every selected scenario has run
}

// secret signs the recipient links of every scenario: random, as the
// engine accepts no weak one outside --dev.
var secret = config.NewSecret()

// erasureKey is the API's key of erased addresses' hashes (NURTURE_ERASURE_KEY).
var erasureKey = config.NewSecret()

// env is one scenario's world: a fresh database, a fresh redis-server, a
// sink with its journal, proxies in front of all three, and the engine's
// processes.
type env struct {
	t       *testing.T
	s       *suite
	dir     string
	rng     *rand.Rand
	dbName  string
	pool    *pgxpool.Pool // the suite's own connection, not through the proxy
	redis   *testkit.RedisServer
	rdb     *redis.Client // the suite's own, not through the proxy
	queue   *asynq.Client
	sink    *smtpsink.Server
	journal string

	pgProxy, redisProxy, smtpProxy *toxiproxy.Proxy
	// redisURL, when set, is the engine's Redis instead of the proxy to
	// e.redis (the Sentinel scenario's redis-sentinel:// URL).
	redisURL string

	worker  *process
	workers int // worker processes started so far
	api     *process
	apiURL  string

	// Settings of the worker processes.
	concurrency, smtpPool int
	sequencesDir          string // NURTURE_SEQUENCES_DIR; "" for the built-in sequences
}

func newEnv(t *testing.T, s *suite) *env {
	t.Helper()
	ctx := context.Background()
	s.runs++
	e := &env{t: t, s: s, dir: t.TempDir(), concurrency: 10, smtpPool: 4,
		rng: rand.New(rand.NewPCG(s.seed, uint64(s.runs)))}
	e.dbName = fmt.Sprintf("faults_%d", s.runs)
	require.NoError(t, s.pg.createDatabase(ctx, e.dbName), "create database")
	e.redis = testkit.NewRedisServer(t)
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	t.Cleanup(func() { e.rdb.Close() })
	e.queue = asynq.NewClient(asynq.RedisClientOpt{Addr: e.redis.Addr})
	t.Cleanup(func() { e.queue.Close() })

	e.journal = filepath.Join(e.dir, "sink.journal")
	sink, err := smtpsink.Start(smtpsink.Config{Journal: e.journal})
	require.NoError(t, err, "start the sink")
	e.sink = sink
	t.Cleanup(func() { _ = sink.Close() })

	e.pgProxy = s.proxies.add(t, "postgres", s.pg.addr())
	e.redisProxy = s.proxies.add(t, "redis", e.redis.Addr)
	e.smtpProxy = s.proxies.add(t, "smtp", sink.Addr())

	out, err := exec.Command(s.bin, "migrate", "--database-url", e.directURL(), "--log-level", "warn").CombinedOutput()
	require.NoError(t, err, "nurture migrate:\n%s", out)
	e.pool, err = pgxpool.New(ctx, e.directURL())
	require.NoError(t, err)
	t.Cleanup(e.pool.Close)
	t.Cleanup(e.stopProcesses)
	return e
}

// directURL reaches the scenario's database without the proxy: the suite's
// own view, which a cut proxy does not blind.
func (e *env) directURL() string { return e.s.pg.url(e.s.pg.addr(), e.dbName) }

// engineArgs are the settings every nurture process of the scenario gets:
// through the proxies.
func (e *env) engineArgs() []string {
	redisURL := e.redisURL
	if redisURL == "" {
		redisURL = "redis://" + e.redisProxy.Listen + "/0"
	}
	return []string{
		"--database-url", e.s.pg.url(e.pgProxy.Listen, e.dbName),
		"--redis-url", redisURL,
		"--secret", secret,
		"--public-url", "https://links.acme.example",
		"--log-level", "warn",
	}
}

// startWorker starts a `nurture worker`, the scenario's only one.
func (e *env) startWorker() {
	e.t.Helper()
	e.workers++
	args := append([]string{"worker"}, e.engineArgs()...)
	args = append(args,
		"--smtp-url", "smtp://"+e.smtpProxy.Listen+"?tls=none",
		"--smtp-pool", strconv.Itoa(e.smtpPool),
		"--smtp-rate", "1000000",
		"--frequency-cap", "0",
		"--concurrency", strconv.Itoa(e.concurrency),
		"--from", "Acme <news@acme.example>",
	)
	if e.sequencesDir != "" {
		args = append(args, "--sequences-dir", e.sequencesDir)
	}
	p, err := startProcess(e.dir, e.s.bin, fmt.Sprintf("worker-%d", e.workers), args...)
	require.NoError(e.t, err, "start worker")
	e.worker = p
}

// startAPI starts a `nurture api` on a free port and waits for /healthz.
func (e *env) startAPI() {
	e.t.Helper()
	port, err := freePort()
	require.NoError(e.t, err)
	args := append([]string{"api", "--erasure-key", erasureKey}, e.engineArgs()...)
	args = append(args, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--ingest-rate", "1000000", "--ingest-burst", "1000000")
	p, err := startProcess(e.dir, e.s.bin, "api", args...)
	require.NoError(e.t, err, "start api")
	e.api, e.apiURL = p, fmt.Sprintf("http://127.0.0.1:%d", port)
	require.NoError(e.t, waitHTTP(e.apiURL+"/healthz", 30*time.Second), "api:\n%s", tail(p.log))
}

// adminKey creates an API key of scope admin with the binary.
func (e *env) adminKey() string {
	e.t.Helper()
	cmd := exec.Command(e.s.bin, "apikey", "create", "--name", "faults", "--scopes", "admin", "--database-url", e.directURL())
	out, err := cmd.Output()
	require.NoError(e.t, err, "apikey create")
	return strings.TrimSpace(string(out))
}

// stopProcesses stops what is still running, gracefully.
func (e *env) stopProcesses() {
	for _, p := range []*process{e.worker, e.api} {
		if p != nil && p.running() {
			p.terminate(45 * time.Second)
		}
	}
}

// waitAccepted waits until the sink has accepted n messages, or limit
// passed; it reports which.
func (e *env) waitAccepted(n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for e.sink.Stats().Accepted < int64(n) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// randomPoint is a count of accepted messages between lo and hi (fractions
// of n), where a fault strikes.
func (e *env) randomPoint(n int, lo, hi float64) int {
	return int(float64(n) * (lo + e.rng.Float64()*(hi-lo)))
}

// tail returns the end of a log file, for a failure message.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
