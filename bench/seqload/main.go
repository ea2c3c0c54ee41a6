// Command seqload measures the sequence engine through its whole path:
// enrollments in PostgreSQL, the sequence poller, sequence:advance tasks in
// asynq, the engine's decisions (facts, Decide, one transaction per
// decision), the emails those decisions create, and their delivery to a
// null SMTP sink.
//
// Phase 1 (steps): n contacts and their enrollments are COPYed in at once
// (the enrollments themselves, not the signals that would create them: this
// measures advancing, not enrolling) in a sequence of its own with a send
// step and then a wait of a day. A `nurture worker` child advances them
// all: two decisions applied per enrollment (the send, then the wait). It
// reports decisions applied per second (steps/s), emails per second, and
// the CPU the worker and PostgreSQL spent per step.
//
// Phase 2 (exit, with -exit-rate > 0): with every enrollment waiting, a
// `nurture api` child takes track events through /v1/batch at a steady
// rate, one in ten of them (-exit-every) the sequence's exit event for a
// distinct contact; it reports the time from posting an exit event to its
// enrollment ending (the engine's ended_at), p50 and p99.
//
// It talks only to loopback: the sink is in this process, Redis is a
// redis-server child of its own, PostgreSQL is local (its database is
// emptied).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/smtpsink"
	"github.com/nurture-email/nurture/sequence"
)

type options struct {
	n, conns, concurrency int
	exitRate, exitEvery   int
	exitFor               time.Duration
	template, bin         string
	dbURL                 string
}

// benchSequence is the sequence measured: a send, then a wait long enough
// that nobody finishes it during the run; the exit event stops it.
const benchSequence = `id: bench
name: Benchmark of the engine
topic: %s
trigger:
  event: bench_started
entry: once
exit:
  events: [bench_exit]
steps:
  - id: note
    send:
      template: %s
      send_window: any
  - id: pause
    wait: 1d
`

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "contacts enrolled at once")
	flag.IntVar(&o.conns, "conns", 4, "SMTP connections (NURTURE_SMTP_POOL)")
	flag.IntVar(&o.concurrency, "concurrency", 10, "worker tasks at once (NURTURE_CONCURRENCY)")
	flag.IntVar(&o.exitRate, "exit-rate", 1000, "events per second through the API in phase 2 (0: no phase 2)")
	flag.IntVar(&o.exitEvery, "exit-every", 10, "one event in this many is an exit event in phase 2 (a multiple of 10)")
	flag.DurationVar(&o.exitFor, "exit-for", 20*time.Second, "how long phase 2 sends events")
	flag.StringVar(&o.template, "template", "check-in", "template of the send step")
	flag.StringVar(&o.bin, "nurture", "bin/nurture", "the nurture binary")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_seqload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "seqload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	if !strings.Contains(o.dbURL, "127.0.0.1") && !strings.Contains(o.dbURL, "localhost") {
		return fmt.Errorf("%s is not on this machine", o.dbURL)
	}
	dir, err := os.MkdirTemp("", "seqload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	sink, err := smtpsink.Start(smtpsink.Config{})
	if err != nil {
		return err
	}
	defer sink.Close()
	redisAddr, stopRedis, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer stopRedis()

	topic := "onboarding"
	src := fmt.Appendf(nil, benchSequence, topic, o.template)
	seqDir := filepath.Join(dir, "sequences")
	if err := os.MkdirAll(seqDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(seqDir, "bench.yaml"), src, 0o644); err != nil {
		return err
	}
	seq, err := sequence.Parse("bench.yaml", src, nil)
	if err != nil {
		return err
	}

	env := append(os.Environ(),
		"NURTURE_DATABASE_URL="+o.dbURL, "NURTURE_REDIS_URL=redis://"+redisAddr+"/0",
		"NURTURE_SEQUENCES_DIR="+seqDir,
		"NURTURE_SMTP_URL=smtp://"+sink.Addr()+"?tls=none", "NURTURE_SMTP_POOL="+strconv.Itoa(o.conns),
		"NURTURE_SMTP_RATE=1000000", "NURTURE_FREQUENCY_CAP=0", "NURTURE_CONCURRENCY="+strconv.Itoa(o.concurrency),
		"NURTURE_SECRET="+config.NewSecret(), "NURTURE_ERASURE_KEY="+config.NewSecret(), "NURTURE_FROM=Acme <news@acme.example>",
		"NURTURE_PUBLIC_URL=https://links.acme.example", "NURTURE_LOG_LEVEL=warn",
		"NURTURE_INGEST_RATE=1000000", "NURTURE_INGEST_BURST=1000000")
	migrate := exec.Command(o.bin, "migrate")
	migrate.Env, migrate.Stderr = env, os.Stderr
	if err := migrate.Run(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	pool, err := pgxpool.New(ctx, o.dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := fill(ctx, pool, o, seq); err != nil {
		return err
	}
	fmt.Printf("load average before: %s\n", procstat.LoadAvg())

	// Phase 1: every enrollment through the send and into the wait.
	logFile, err := os.Create(filepath.Join(os.TempDir(), "seqload-worker.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	worker := exec.Command(o.bin, "worker")
	worker.Env, worker.Stdout, worker.Stderr = env, logFile, logFile
	dbName := procstat.DBName(o.dbURL)
	pgBefore, pgAllBefore := procstat.PostgresCPU(dbName)
	start := time.Now()
	if err := worker.Start(); err != nil {
		return err
	}
	stopWorker := func() {
		if worker.ProcessState == nil {
			_ = worker.Process.Signal(syscall.SIGTERM)
			_ = worker.Wait()
		}
	}
	defer stopWorker()
	// The sink's count is free; the database is asked (a scan of the
	// enrollments) only once every email is in.
	var waiting int
	for {
		time.Sleep(250 * time.Millisecond)
		if sink.Stats().Accepted < int64(o.n) && time.Since(start) < 30*time.Minute {
			continue
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE step = 'pause'`).Scan(&waiting); err != nil {
			return err
		}
		if waiting >= o.n {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return fmt.Errorf("after 30 minutes %d of %d enrollments wait, %d emails delivered", waiting, o.n, sink.Stats().Accepted)
		}
	}
	elapsed := time.Since(start)
	pgCPU, pgAll := procstat.PostgresCPU(dbName)
	pgCPU, pgAll = pgCPU-pgBefore, pgAll-pgAllBefore
	workerCPU := procstat.ProcessCPU(worker.Process.Pid)
	var decisions, history int64
	if err := pool.QueryRow(ctx, `SELECT sum(revision), (SELECT count(*) FROM enrollment_history) FROM enrollments`).Scan(&decisions, &history); err != nil {
		return err
	}
	fmt.Printf("phase 1: %d enrollments COPYed in (sequence %s: send %s, wait 1d), worker concurrency %d, SMTP pool %d\n",
		o.n, seq.Version, o.template, o.concurrency, o.conns)
	fmt.Printf("  %d decisions applied in %s (from the worker's start): %.0f steps/s; %d emails delivered: %.0f emails/s; %d history records\n",
		decisions, elapsed.Round(time.Millisecond), float64(decisions)/elapsed.Seconds(), sink.Stats().Accepted,
		float64(sink.Stats().Accepted)/elapsed.Seconds(), history)
	fmt.Printf("  CPU per step: worker %.0f µs (sending included), PostgreSQL %.0f µs (the backends of %s; all postgres processes of the shared server: %.0f µs); load average after: %s\n",
		float64(workerCPU.Microseconds())/float64(decisions), float64(pgCPU.Microseconds())/float64(decisions), dbName,
		float64(pgAll.Microseconds())/float64(decisions), procstat.LoadAvg())
	if o.exitRate <= 0 {
		return nil
	}
	return exitPhase(ctx, o, env, pool, dir)
}

// fill empties the tables and COPYs n contacts and their enrollments, all
// due now.
func fill(ctx context.Context, pool *pgxpool.Pool, o options, seq *sequence.Sequence) error {
	if _, err := pool.Exec(ctx, `TRUNCATE contacts, events, messages, message_status_history, suppressions, topic_optouts,
		enrollments, enrollment_history, enrollment_wakes, message_reasons, sequence_signals, sequence_versions, api_keys, event_keys
		RESTART IDENTITY CASCADE`); err != nil {
		return err
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"external_id", "email", "first_name", "company", "role", "time_zone"},
		pgx.CopyFromFunc(counter(o.n, func(i int) []any {
			return []any{fmt.Sprintf("seq-%d", i), fmt.Sprintf("person%d@bench.example", i), "Ada", "Acme", "Engineering", "Europe/Paris"}
		})))
	if err != nil {
		return fmt.Errorf("copy contacts: %w", err)
	}
	// The sign-ups' enrichment requests (migration 00016's triggers) would
	// run beside the steps in the worker: this measures the engine alone.
	if _, err := pool.Exec(ctx, `TRUNCATE contact_enrichment`); err != nil {
		return err
	}
	now := time.Now().UTC()
	state, err := json.Marshal(sequence.State{Started: now})
	if err != nil {
		return err
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"enrollments"}, []string{"contact_id", "sequence_id", "version", "topic", "state", "next_run", "started_at"},
		pgx.CopyFromFunc(counter(o.n, func(i int) []any {
			return []any{int64(i), seq.ID, seq.Version, string(seq.Topic), state, now, now}
		})))
	if err != nil {
		return fmt.Errorf("copy enrollments: %w", err)
	}
	_, err = pool.Exec(ctx, `ANALYZE contacts; ANALYZE enrollments`)
	return err
}

// counter feeds CopyFrom rows 1..n.
func counter(n int, row func(i int) []any) func() ([]any, error) {
	i := 0
	return func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i), nil
	}
}

// exitPhase starts the API, posts track events at o.exitRate per second
// for o.exitFor, one in o.exitEvery of them bench_exit for a contact not
// chosen before, and reports how long each exit took to end its enrollment.
func exitPhase(ctx context.Context, o options, env []string, pool *pgxpool.Pool, dir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	key, err := exec.Command(o.bin, "apikey", "create", "--name", "seqload", "--scopes", "ingest", "--database-url", o.dbURL).Output()
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	apiLog, err := os.Create(filepath.Join(dir, "api.log"))
	if err != nil {
		return err
	}
	defer apiLog.Close()
	api := exec.Command(o.bin, "api")
	api.Env, api.Stdout, api.Stderr = append(env, "NURTURE_LISTEN=127.0.0.1:"+strconv.Itoa(port)), apiLog, apiLog
	if err := api.Start(); err != nil {
		return err
	}
	defer func() {
		_ = api.Process.Signal(syscall.SIGTERM)
		_ = api.Wait()
	}()
	if err := waitHTTP(base+"/readyz", 30*time.Second); err != nil {
		return err
	}

	const perBatch = 10 // events per request: 100 requests a second at 1,000 events/s
	batches := int(o.exitFor.Seconds() * float64(o.exitRate) / perBatch)
	interval := time.Second * perBatch / time.Duration(o.exitRate)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 30 * time.Second}
	var (
		mu       sync.Mutex
		sentAt   = map[string]time.Time{} // exit events by user id
		failures int
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 32)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	exits := 0
	start := time.Now()
	for b := range batches {
		<-tick.C
		calls := make([]map[string]any, perBatch)
		var exitUser string
		for i := range calls {
			user := fmt.Sprintf("seq-%d", 1+(b*perBatch+i)*7919%o.n)
			name := "page_viewed"
			if i == 0 && b%max(1, o.exitEvery/perBatch) == 0 && exits < o.n {
				exits++
				exitUser, name = fmt.Sprintf("seq-%d", exits), "bench_exit"
				user = exitUser
			}
			calls[i] = map[string]any{"type": "track", "userId": user, "event": name,
				"messageId": fmt.Sprintf("seqload-%d-%d", b, i), "timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
		}
		body, _ := json.Marshal(map[string]any{"batch": calls})
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(strings.TrimSpace(string(key)), "")
			t := time.Now()
			resp, err := client.Do(req)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failures++
				return
			}
			if exitUser != "" {
				sentAt[exitUser] = t
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	if failures > 0 {
		return fmt.Errorf("%d of %d requests failed (see %s)", failures, batches, apiLog.Name())
	}

	// Wait for every exit to be applied, then read when each ended.
	deadline := time.Now().Add(2 * time.Minute)
	var exited int
	for {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE status = 'exited'`).Scan(&exited); err != nil {
			return err
		}
		if exited >= len(sentAt) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	rows, err := pool.Query(ctx, `SELECT c.external_id, e.ended_at FROM enrollments e JOIN contacts c ON c.id = e.contact_id
		WHERE e.status = 'exited'`)
	if err != nil {
		return err
	}
	var lat []time.Duration
	var user string
	var ended time.Time
	if _, err := pgx.ForEachRow(rows, []any{&user, &ended}, func() error {
		if t, ok := sentAt[user]; ok {
			lat = append(lat, ended.Sub(t))
		}
		return nil
	}); err != nil {
		return err
	}
	if len(lat) == 0 {
		return errors.New("no enrollment exited")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(time.Millisecond)
	}
	fmt.Printf("phase 2: %d events through /v1/batch in %s (%.0f/s, %d a request), %d of them bench_exit\n",
		batches*perBatch, sent.Round(time.Millisecond), float64(batches*perBatch)/sent.Seconds(), perBatch, len(sentAt))
	fmt.Printf("  exit event posted -> enrollment exited: %d of %d ended; p50 %s, p99 %s, max %s; load average after: %s\n",
		len(lat), len(sentAt), pct(0.5), pct(0.99), lat[len(lat)-1].Round(time.Millisecond), procstat.LoadAvg())
	return nil
}

// startRedis starts a redis-server of the run's own on a free port.
func startRedis(dir string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s", url, limit)
}
