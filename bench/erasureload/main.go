// Command erasureload measures erasure while a campaign sends: -n
// contacts are erased, one DELETE /v1/contacts/{id} each, -concurrency at
// a time, through a `nurture api` child process, while a `nurture worker`
// child sends a campaign to -campaign other contacts through a null SMTP
// sink in this process. It reports the time per erasure (p50, p95, p99,
// max), the campaign's sends per second before the erasures and during
// them, the longest pause between two sends in each window, and, once the
// campaign is done, that no email of it is left behind (every one sent,
// none held in a worker's hands).
//
// Each erased contact has two events and an email sent before, so that an
// erasure deletes rows in several tables, as a real one does.
//
// It talks only to loopback and uses its own database and Redis database,
// both emptied first.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/internal/smtpsink"
	"github.com/nurture-email/nurture/postgres"
)

type options struct {
	n, concurrency, campaign int
	conns, workers           int
	before                   time.Duration
	template, bin            string
	dbURL, redisURL          string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "contacts to erase, one call each")
	flag.IntVar(&o.concurrency, "concurrency", 10, "erasure calls at once")
	flag.IntVar(&o.campaign, "campaign", 200000, "recipients of the campaign that sends meanwhile (other contacts)")
	flag.DurationVar(&o.before, "before", 15*time.Second, "how long the campaign sends alone, measured, before the erasures start")
	flag.IntVar(&o.conns, "conns", 4, "SMTP connections (NURTURE_SMTP_POOL)")
	flag.IntVar(&o.workers, "worker-concurrency", 4, "worker tasks at once (NURTURE_CONCURRENCY)")
	flag.StringVar(&o.template, "template", "check-in", "the campaign's template")
	flag.StringVar(&o.bin, "nurture", "bin/nurture", "the nurture binary")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_erasureload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/13", "a Redis database to use (it is emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "erasureload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	for _, u := range []string{o.dbURL, o.redisURL} {
		if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") {
			return fmt.Errorf("%s is not on this machine", u)
		}
	}
	sink, err := smtpsink.Start(smtpsink.Config{})
	if err != nil {
		return err
	}
	defer sink.Close()
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"NURTURE_DATABASE_URL="+o.dbURL, "NURTURE_REDIS_URL="+o.redisURL, "NURTURE_LISTEN="+listen,
		"NURTURE_SMTP_URL=smtp://"+sink.Addr()+"?tls=none", "NURTURE_SMTP_POOL="+strconv.Itoa(o.conns),
		"NURTURE_SMTP_RATE=1000000", "NURTURE_FREQUENCY_CAP=0", "NURTURE_CONCURRENCY="+strconv.Itoa(o.workers),
		"NURTURE_INGEST_RATE=1000000", "NURTURE_INGEST_BURST=1000000",
		"NURTURE_SECRET="+randomHex(), "NURTURE_ERASURE_KEY="+randomHex(), "NURTURE_FROM=Acme <news@acme.example>",
		"NURTURE_PUBLIC_URL=https://links.acme.example", "NURTURE_LOG_LEVEL=warn")
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
	fmt.Printf("filling: %d contacts to erase (2 events and a sent email each), %d campaign recipients\n", o.n, o.campaign)
	if err := fill(ctx, pool, o); err != nil {
		return err
	}
	key, stored, err := nurture.NewAPIKey("erasureload", []nurture.Scope{nurture.ScopeAdmin})
	if err != nil {
		return err
	}
	if err := postgres.New(pool).CreateAPIKey(ctx, stored); err != nil {
		return err
	}
	if err := flushRedis(ctx, o.redisURL); err != nil {
		return err
	}

	api, err := start(o.bin, "api", env)
	if err != nil {
		return err
	}
	defer stop(api)
	worker, err := start(o.bin, "worker", env)
	if err != nil {
		return err
	}
	defer stop(worker)
	base := "http://" + listen
	if err := waitHealthy(ctx, base); err != nil {
		return err
	}

	// The campaign, due now: the worker's poller freezes the audience and
	// sends.
	if _, err := pool.Exec(ctx, `INSERT INTO campaigns (name, template, topic, filter, status, send_at, starts_at)
		VALUES ('erasureload', $1, 'product', '{"traits.group": "campaign"}', 'scheduled', now(), now())`, o.template); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	rec := newRecorder(sink)
	go rec.run()
	defer rec.stop()
	// Measure from when the campaign sends steadily.
	for sink.Stats().Accepted < int64(min(1000, o.campaign/10+1)) {
		time.Sleep(20 * time.Millisecond)
	}
	t0 := time.Now()
	time.Sleep(o.before)
	t1 := time.Now()
	cpu0 := cpuOf(api, worker, o.dbURL)
	lat, failures, err := erase(ctx, base, key, o)
	if err != nil {
		return err
	}
	t2 := time.Now()
	cpu1 := cpuOf(api, worker, o.dbURL)
	sentAtEnd := sink.Stats().Accepted

	// The rest of the campaign: every email must go, none stay behind.
	deadline := time.Now().Add(30 * time.Minute)
	var status string
	for status != "sent" && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if err := pool.QueryRow(ctx, `SELECT status FROM campaigns`).Scan(&status); err != nil {
			return err
		}
	}
	var audience, sent, sending int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM campaign_audience),
		(SELECT count(*) FROM messages WHERE dedupe_key LIKE 'camp:%' AND status = 'sent'),
		(SELECT count(*) FROM messages WHERE status = 'sending')`).Scan(&audience, &sent, &sending); err != nil {
		return err
	}
	left := audience - sent
	var remaining, audits int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts WHERE attributes->>'group' = 'erase'),
		(SELECT count(*) FROM erasure_audit)`).Scan(&remaining, &audits); err != nil {
		return err
	}

	slices.Sort(lat)
	wall := t2.Sub(t1)
	fmt.Printf("machine: %d cores, load average %s (shared with other work)\n", runtime.NumCPU(), procstat.LoadAvg())
	fmt.Printf("erasures: %d calls, %d at a time, in %s = %.0f erasures/s; %d failed; %d contacts left, %d audit records\n",
		len(lat), o.concurrency, wall.Round(time.Millisecond), float64(len(lat))/wall.Seconds(), failures, remaining, audits)
	fmt.Printf("          time per erasure: p50 %s, p95 %s, p99 %s, max %s\n",
		pct(lat, 50), pct(lat, 95), pct(lat, 99), lat[len(lat)-1].Round(100*time.Microsecond))
	fmt.Printf("          CPU meanwhile: api %s, worker %s, PostgreSQL (this database) %s\n",
		(cpu1.api - cpu0.api).Round(time.Millisecond), (cpu1.worker - cpu0.worker).Round(time.Millisecond), (cpu1.pg - cpu0.pg).Round(time.Millisecond))
	// During: until the erasures ended, or the campaign did.
	end := t2
	if last := sink.Stats().LastAccepted; sentAtEnd >= int64(o.campaign) && last.Before(end) {
		end = last
	}
	before, during := rec.window(t0, t1), rec.window(t1, end)
	fmt.Printf("campaign: %d recipients, template %s, %d SMTP connections, %d worker tasks at once\n", o.campaign, o.template, o.conns, o.workers)
	fmt.Printf("          before the erasures (%s): %.0f sends/s, longest pause between sends %s\n",
		o.before, before.rate, before.pause)
	fmt.Printf("          during the erasures (%s): %.0f sends/s, longest pause between sends %s\n",
		end.Sub(t1).Round(time.Second), during.rate, during.pause)
	if sentAtEnd >= int64(o.campaign) {
		fmt.Printf("          NOTE: the campaign ended before the erasures did: raise -campaign for a full window\n")
	}
	fmt.Printf("          after: campaign %s, %d of %d audience emails sent, %d emails still held by a worker\n",
		status, sent, audience, sending)
	if failures > 0 || left > 0 || sending > 0 {
		return errors.New("erasures failed or campaign emails were left behind")
	}
	return nil
}

// fill empties every table but the migrations' and the installation's,
// and COPYs the contacts to erase (ids 1..n, with their events and a sent
// email each) and the campaign's recipients.
func fill(ctx context.Context, pool *pgxpool.Pool, o options) error {
	var tables []string
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		AND tablename NOT IN ('goose_db_version', 'installation')`)
	if err != nil {
		return err
	}
	if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY CASCADE`); err != nil {
		return err
	}
	total := o.n + o.campaign
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "company", "role", "time_zone", "attributes"},
		pgx.CopyFromFunc(counter(total, func(i int) []any {
			group := "erase"
			if i > o.n {
				group = "campaign"
			}
			return []any{fmt.Sprintf("person%d@bench.example", i), "Ada", "Acme", "Engineering", "Europe/Paris",
				map[string]any{"group": group, "plan": "pro"}}
		})))
	if err != nil {
		return fmt.Errorf("copy contacts: %w", err)
	}
	// The sign-ups' enrichment requests would run beside the sends.
	if _, err := pool.Exec(ctx, `TRUNCATE contact_enrichment`); err != nil {
		return err
	}
	now := time.Now()
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"contact_id", "message_id", "type", "name", "properties", "occurred_at"},
		pgx.CopyFromFunc(counter(2*o.n, func(i int) []any {
			return []any{int64((i-1)/2 + 1), fmt.Sprintf("ev-%d", i), "track", "Project Created", map[string]any{"n": i}, now}
		})))
	if err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"dedupe_key", "contact_id", "template", "queue", "status", "send_at", "sent_at"},
		pgx.CopyFromFunc(counter(o.n, func(i int) []any {
			return []any{fmt.Sprintf("welcome:%d", i), int64(i), "welcome", "default", "sent", now, now}
		})))
	if err != nil {
		return fmt.Errorf("copy messages: %w", err)
	}
	_, err = pool.Exec(ctx, `ANALYZE`)
	return err
}

// counter feeds CopyFromFunc rows 1..n.
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

// erase erases contacts 1..o.n, o.concurrency calls at a time, and
// returns each call's time.
func erase(ctx context.Context, base, key string, o options) (lat []time.Duration, failures int, err error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}, Timeout: time.Minute}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	lat = make([]time.Duration, 0, o.n)
	for range o.concurrency {
		wg.Go(func() {
			mine := make([]time.Duration, 0, o.n/o.concurrency+1)
			bad := 0
			var werr error
			for {
				id := next.Add(1)
				if id > int64(o.n) {
					break
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/v1/contacts/"+strconv.FormatInt(id, 10), nil)
				req.Header.Set("Authorization", "Bearer "+key)
				start := time.Now()
				resp, err := client.Do(req)
				d := time.Since(start)
				if err != nil {
					werr = err
					break
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					bad++
					if bad == 1 {
						fmt.Fprintf(os.Stderr, "erasureload: DELETE contact %d: %s\n", id, resp.Status)
					}
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat, failures = append(lat, mine...), failures+bad
			if firstErr == nil {
				firstErr = werr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, failures, firstErr
}

// recorder samples the sink's count of accepted emails every 10 ms.
type recorder struct {
	sink *smtpsink.Server
	mu   sync.Mutex
	at   []time.Time
	n    []int64
	done chan struct{}
}

func newRecorder(s *smtpsink.Server) *recorder { return &recorder{sink: s, done: make(chan struct{})} }

func (r *recorder) run() {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			n := r.sink.Stats().Accepted
			r.mu.Lock()
			r.at, r.n = append(r.at, now), append(r.n, n)
			r.mu.Unlock()
		}
	}
}

func (r *recorder) stop() { close(r.done) }

// windowStats is what the sink saw between two moments.
type windowStats struct {
	rate  float64       // emails accepted per second
	pause time.Duration // the longest time without one (to the sampling's 10 ms)
}

func (r *recorder) window(from, to time.Time) windowStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var w windowStats
	first, last := -1, -1
	var lastChange time.Time
	for i, at := range r.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		if first < 0 {
			first, lastChange = i, at
		}
		if i > 0 && r.n[i] != r.n[i-1] {
			lastChange = at
		} else if gap := at.Sub(lastChange); gap > w.pause {
			w.pause = gap
		}
		last = i
	}
	if first >= 0 && last > first {
		w.rate = float64(r.n[last]-r.n[first]) / r.at[last].Sub(r.at[first]).Seconds()
	}
	w.pause = w.pause.Round(10 * time.Millisecond)
	return w
}

// pct is the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, len(sorted)*p/100)
	return sorted[i].Round(100 * time.Microsecond)
}

// cpu is the CPU the children and PostgreSQL have used so far.
type cpu struct{ api, worker, pg time.Duration }

func cpuOf(api, worker *exec.Cmd, dbURL string) cpu {
	pg, _ := procstat.PostgresCPU(procstat.DBName(dbURL))
	return cpu{api: procstat.ProcessCPU(api.Process.Pid), worker: procstat.ProcessCPU(worker.Process.Pid), pg: pg}
}

func start(bin, command string, env []string) (*exec.Cmd, error) {
	c := exec.Command(bin, command)
	c.Env, c.Stderr = env, os.Stderr
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start nurture %s: %w", command, err)
	}
	return c, nil
}

func stop(c *exec.Cmd) {
	_ = c.Process.Signal(syscall.SIGTERM)
	_ = c.Wait()
}

func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the API did not answer /healthz within 30 s")
}

func flushRedis(ctx context.Context, u string) error {
	conn, err := redisconn.Parse(u)
	if err != nil {
		return err
	}
	rdb := conn.NewClient()
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("empty the Redis database: %w", err)
	}
	return nil
}

// freeAddr is a free loopback address for the API.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
