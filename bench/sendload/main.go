// Command sendload measures delivery through Nurture's whole path: message
// rows in PostgreSQL, batch tasks in asynq, the worker (claim, checks,
// render, tracked links, DKIM, SMTP pool, bookkeeping) and an SMTP sink
// that throws the messages away. Then it pushes the same emails,
// pre-rendered, with a bare go-mail client over as many connections to the
// same sink, which is the limit the engine is compared with (-baseline=false
// skips it).
//
// The sink is always a process of its own, so that its CPU is never inside
// the measuring process: by default sendload starts bench/sink (the `sink`
// binary beside its own, or -sink-bin) on free loopback ports, without a
// journal; -sink host:port sends to one already running instead (its
// control interface at -sink-stats, by default the next port, as bench/sink's
// defaults). The sink's counters are reset before each run.
//
// It talks only to this machine: the worker is a `nurture worker` child
// process (-nurture names the binary, for alternating builds), PostgreSQL
// and Redis are local. Each run (-runs k) fills the tables, starts a
// worker, waits until it has joined the queue, enqueues, and reads over the
// window from the enqueue to the moment every row is recorded sent the
// CPU time of the worker process, of every PostgreSQL process (its own
// polling backend left out), of redis-server (the pid from INFO server), of
// the sink, and of the whole machine (/proc/stat). It prints them per 1,000
// emails, with emails/s from the first to the last message at the sink and
// from the enqueue to the last, and a markdown table of every run (and the
// medians) for docs/benchmarks.md. PostgreSQL and Redis are shared with
// whatever else runs on the machine: run it under the shared lock,
//
//	flock /tmp/nurture-bench.lock bin/sendload -n 100000 -template check-in
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/internal/redisconn"
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/templates"
)

type options struct {
	campaign, baseline    bool
	n, conns, concurrency int
	runs, workers         int
	template, dkim, bin   string
	dbURL, redisURL       string
	sink, sinkStats       string
	sinkBin               string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "recipients")
	flag.IntVar(&o.conns, "conns", 4, "SMTP connections (NURTURE_SMTP_POOL, and the baseline's)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "worker tasks at once (NURTURE_CONCURRENCY)")
	flag.IntVar(&o.workers, "workers", 1, "`nurture worker` processes sharing the work (each with -concurrency tasks and -conns connections)")
	flag.IntVar(&o.runs, "runs", 1, "runs of the engine, one after the other (the baseline runs once, after them)")
	flag.StringVar(&o.template, "template", "welcome", "template to send")
	flag.BoolVar(&o.campaign, "campaign", false, "send the emails as a campaign to every contact (the worker's fan-out creates the messages) instead of message rows made beforehand")
	flag.BoolVar(&o.baseline, "baseline", true, "push the same emails with bare go-mail clients afterwards, the limit")
	flag.StringVar(&o.dkim, "dkim", "ed25519", "DKIM key: ed25519, rsa or none")
	flag.StringVar(&o.bin, "nurture", "bin/nurture", "the nurture binary")
	flag.StringVar(&o.sink, "sink", "", "host:port of an SMTP sink already running (bench/sink); empty: start one")
	flag.StringVar(&o.sinkStats, "sink-stats", "", "the -sink's control interface, http://host:port[/stats] (empty: the next port on the same host)")
	flag.StringVar(&o.sinkBin, "sink-bin", "", "the bench/sink binary to start when -sink is empty (empty: `sink` beside this binary)")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_sendload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/14", "a Redis database to use (it is emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "sendload:", err)
		os.Exit(1)
	}
}

// result is what one run of the engine measured.
type result struct {
	avgBytes                      int64
	sinkRate, enqueueRate         float64       // emails/s: first to last at the sink; enqueue to last
	firstToLast, toLast, recorded time.Duration // at the sink; enqueue to last; enqueue to all recorded sent
	enqueued, fannedOut           time.Duration
	cpu                           cpuReading // over the window from the enqueue to all recorded sent
	peakRSS                       int64
}

func run(o options) error {
	ctx := context.Background()
	for _, u := range []string{o.dbURL, o.redisURL} {
		if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") {
			return fmt.Errorf("%s is not on this machine", u)
		}
	}
	if o.n < 2 || o.runs < 1 || o.workers < 1 {
		return errors.New("-n must be 2 at least and -runs 1 at least")
	}
	var sk *sink
	var err error
	if o.sink != "" {
		sk, err = useSink(o.sink, o.sinkStats)
	} else {
		sk, err = startSink(o.sinkBin)
	}
	if err != nil {
		return err
	}
	defer sk.close()

	// A secret of the run's own: the engine refuses a weak one outside --dev.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	env := append(os.Environ(),
		"NURTURE_DATABASE_URL="+o.dbURL, "NURTURE_REDIS_URL="+o.redisURL,
		"NURTURE_SMTP_URL=smtp://"+sk.addr+"?tls=none", "NURTURE_SMTP_POOL="+strconv.Itoa(o.conns),
		"NURTURE_SMTP_RATE=1000000", "NURTURE_FREQUENCY_CAP=0", "NURTURE_CONCURRENCY="+strconv.Itoa(o.concurrency),
		"NURTURE_SECRET="+hex.EncodeToString(secret), "NURTURE_FROM=Acme <news@acme.example>",
		"NURTURE_PUBLIC_URL=https://links.acme.example", "NURTURE_LOG_LEVEL=warn")
	if o.dkim != "none" {
		keyFile, err := writeKey(o.dkim)
		if err != nil {
			return err
		}
		defer os.Remove(keyFile)
		env = append(env, "NURTURE_DKIM_DOMAIN=acme.example", "NURTURE_DKIM_KEY_FILE="+keyFile)
	}
	migrate := exec.Command(o.bin, "migrate")
	migrate.Env, migrate.Stderr = env, os.Stderr
	if err := migrate.Run(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Printf("template %s, DKIM %s, %d recipients, %d SMTP connections, %d tasks of %d, %s; sink %s; load average %s\n",
		o.template, o.dkim, o.n, o.conns, (o.n+jobs.BatchSize-1)/jobs.BatchSize, jobs.BatchSize, o.bin, sk.addr, procstat.LoadAvg())
	var results []result
	for i := range o.runs {
		r, err := runEngine(ctx, o, env, sk)
		if err != nil {
			return err
		}
		fmt.Printf("run %d:\n", i+1)
		printResult(o, r)
		results = append(results, r)
	}

	var limit, limitAtSink float64
	if o.baseline {
		if err := sk.reset(ctx); err != nil {
			return err
		}
		before, err := sk.stats(ctx)
		if err != nil {
			return err
		}
		if limit, err = baseline(ctx, o, sk.addr); err != nil {
			return err
		}
		after, err := sk.stats(ctx)
		if err != nil {
			return err
		}
		limitAtSink = after.rate()
		fmt.Printf("baseline: %.0f emails/s first to last at the sink, %.0f from the first send to the last (bare go-mail, pre-rendered, %d connections); the sink used %.3f CPU-s per 1,000\n",
			limitAtSink, limit, o.conns, perThousand(after.CPU-before.CPU, o.n))
		for i, r := range results {
			fmt.Printf("ratio:    run %d, %.2f of the limit first to last at the sink (%.2f from the enqueue)\n", i+1, r.sinkRate/limitAtSink, r.enqueueRate/limit)
		}
	}
	fmt.Println()
	printTable(o, results, limitAtSink)
	return nil
}

// runEngine fills the tables, starts a worker, sends the emails through it
// and measures.
func runEngine(ctx context.Context, o options, env []string, sk *sink) (result, error) {
	var r result
	pool, err := pgxpool.New(ctx, o.dbURL)
	if err != nil {
		return r, err
	}
	ids, err := fill(ctx, pool, o)
	pool.Close()
	if err != nil {
		return r, err
	}
	// This tool's own queries while it measures, on connections of their
	// own whose backends' CPU is taken out of PostgreSQL's.
	watch, watchPID, err := connectWatcher(ctx, o.dbURL)
	if err != nil {
		return r, err
	}
	defer watch.Close(ctx)
	probe := &cpuProbe{db: procstat.DBName(o.dbURL), watchers: []int{watchPID}}

	redisConn, err := redisconn.Parse(o.redisURL)
	if err != nil {
		return r, err
	}
	redisOpt := redisConn.ConnOpt()
	rdb := redisConn.NewClient()
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return r, fmt.Errorf("empty the Redis database: %w", err)
	}
	// An installation's Redis has its markers: without them the worker's
	// first reconcile pass takes the queue for lost and enqueues every
	// message a second time (before 2026-12-06 every run measured that too).
	for _, m := range []*jobs.QueueMarker{jobs.NewQueueMarker(rdb), jobs.NewSequenceMarker(rdb), jobs.NewEnrichMarker(rdb)} {
		if _, err := m.Lost(ctx); err != nil {
			return r, fmt.Errorf("set the queue markers: %w", err)
		}
	}
	if probe.redisPID, err = redisPID(ctx, rdb); err != nil {
		return r, err
	}
	if err := sk.reset(ctx); err != nil {
		return r, err
	}

	// The engine, measured from the moment it has joined the queue: its
	// start-up is not part of sending.
	workers, workerDone, stop, err := startWorkers(o, env)
	if err != nil {
		return r, err
	}
	defer stop()
	probe.workerPIDs = workers
	if err := waitForWorker(ctx, rdb, len(workers), workerDone); err != nil {
		return r, err
	}
	var fanWatch *pgx.Conn
	if o.campaign {
		var pid int
		if fanWatch, pid, err = connectWatcher(ctx, o.dbURL); err != nil {
			return r, err
		}
		defer fanWatch.Close(ctx)
		probe.watchers = append(probe.watchers, pid)
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()

	st, err := sk.stats(ctx)
	if err != nil {
		return r, err
	}
	before := probe.read(st.CPU)
	start := time.Now()
	if !o.campaign {
		if _, err := jobs.NewEnqueuer(client).EnqueueSendBatch(ctx, fmt.Sprint("bench:", start.UnixNano()), jobs.QueueLow, ids); err != nil {
			return r, err
		}
	}
	r.enqueued = time.Since(start)
	var fannedOut atomic.Int64 // nanoseconds
	if o.campaign {
		// The fan-out's time: until every member has its message row.
		go func() {
			for {
				var n int
				if fanWatch.QueryRow(ctx, `SELECT count(*) FROM messages WHERE campaign_id IS NOT NULL`).Scan(&n) == nil && n >= o.n {
					fannedOut.Store(int64(time.Since(start)))
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	st, err = sk.waitFor(ctx, int64(o.n), workerDone, 30*time.Minute)
	if err != nil {
		return r, err
	}
	for {
		var sent int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'sent'`).Scan(&sent); err != nil {
			return r, err
		}
		if sent >= o.n {
			break
		}
		select {
		case <-workerDone:
			return r, fmt.Errorf("the worker ended with %d of %d rows recorded sent", sent, o.n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.recorded = time.Since(start)
	end, err := sk.stats(ctx)
	if err != nil {
		return r, err
	}
	r.cpu = probe.read(end.CPU).since(before)
	for _, pid := range workers {
		r.peakRSS = max(r.peakRSS, procstat.PeakRSS(pid))
	}
	r.fannedOut = time.Duration(fannedOut.Load())
	r.avgBytes = st.Bytes / st.Accepted
	r.firstToLast, r.toLast = st.LastAccepted.Sub(st.FirstAccepted), st.LastAccepted.Sub(start)
	r.sinkRate, r.enqueueRate = st.rate(), float64(o.n)/r.toLast.Seconds()
	return r, nil
}

// connectWatcher opens a connection for this tool's polling and returns
// the pid of its backend.
func connectWatcher(ctx context.Context, url string) (*pgx.Conn, int, error) {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	var pid int
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		_ = c.Close(ctx)
		return nil, 0, err
	}
	return c, pid, nil
}

// startWorkers starts o.workers `nurture worker` processes; done is closed
// when one of them ends, and stop ends them all and waits for them.
func startWorkers(o options, env []string) (pids []int, done <-chan struct{}, stop func(), err error) {
	anyDone := make(chan struct{})
	var once sync.Once
	var all []chan struct{}
	var cmds []*exec.Cmd
	stop = func() {
		for i, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
			<-all[i]
		}
	}
	for range o.workers {
		c := exec.Command(o.bin, "worker")
		c.Env, c.Stderr = env, os.Stderr
		if err := c.Start(); err != nil {
			stop()
			return nil, nil, nil, err
		}
		ended := make(chan struct{})
		go func() {
			_ = c.Wait()
			close(ended)
			once.Do(func() { close(anyDone) })
		}()
		cmds, all, pids = append(cmds, c), append(all, ended), append(pids, c.Process.Pid)
	}
	return pids, anyDone, stop, nil
}

// waitForWorker waits until every worker's asynq servers (two a process:
// email and enrichment) have announced themselves in Redis, and a little
// more for their first passes.
func waitForWorker(ctx context.Context, rdb redis.UniversalClient, workers int, done <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := rdb.ZCard(ctx, "asynq:servers").Result()
		if err != nil {
			return err
		}
		if n >= int64(2*workers) {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the worker has not joined the queue after 30 s")
		}
		select {
		case <-done:
			return errors.New("the worker ended as it started")
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond)
	return nil
}

func printResult(o options, r result) {
	if o.workers > 1 {
		fmt.Printf("  %d worker processes; CPU and RSS below are their sum and their largest\n", o.workers)
	}
	fmt.Printf("  emails/s: %.0f first to last message at the sink (%s); %.0f from the enqueue to the last (%s); all recorded sent after %s; enqueue took %s\n",
		r.sinkRate, r.firstToLast.Round(time.Millisecond), r.enqueueRate, r.toLast.Round(time.Millisecond), r.recorded.Round(time.Millisecond), r.enqueued.Round(time.Millisecond))
	if o.campaign {
		fmt.Printf("  as a campaign: every message row created by the fan-out after %s\n", r.fannedOut.Round(time.Millisecond))
	}
	c := r.cpu
	fmt.Printf("  CPU-s per 1,000 emails, enqueue to all recorded sent: engine+PostgreSQL+Redis %.3f = worker %.3f + PostgreSQL %.3f (this database's backends %.3f) + Redis %.3f; sink %.3f\n",
		perThousand(c.engine(), o.n), perThousand(c.worker, o.n), perThousand(c.postgres, o.n), perThousand(c.postgresDB, o.n), perThousand(c.redis, o.n), perThousand(c.sink, o.n))
	fmt.Printf("  %d bytes on the wire on average; worker peak RSS %d MB; the machine was busy %.2f of %d cores; load average %s\n",
		r.avgBytes, r.peakRSS>>20, c.machine.Seconds()/r.recorded.Seconds(), runtime.NumCPU(), procstat.LoadAvg())
}

// printTable prints the runs as rows of a markdown table, with the medians
// when there are several.
func printTable(o options, results []result, limitAtSink float64) {
	fmt.Println("| template | DKIM | recipients | bytes on the wire | emails/s first to last | emails/s enqueue to last | CPU-s per 1,000: engine+PostgreSQL+Redis | worker | PostgreSQL | Redis | sink | machine busy | worker peak RSS | bare go-mail emails/s first to last |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	limit := "-"
	if limitAtSink > 0 {
		limit = fmt.Sprintf("%.0f", limitAtSink)
	}
	column := func(get func(result) float64) []float64 {
		v := make([]float64, 0, len(results))
		for _, r := range results {
			v = append(v, get(r))
		}
		return v
	}
	cols := [][]float64{
		column(func(r result) float64 { return r.sinkRate }),
		column(func(r result) float64 { return r.enqueueRate }),
		column(func(r result) float64 { return perThousand(r.cpu.engine(), o.n) }),
		column(func(r result) float64 { return perThousand(r.cpu.worker, o.n) }),
		column(func(r result) float64 { return perThousand(r.cpu.postgres, o.n) }),
		column(func(r result) float64 { return perThousand(r.cpu.redis, o.n) }),
		column(func(r result) float64 { return perThousand(r.cpu.sink, o.n) }),
		column(func(r result) float64 { return r.cpu.machine.Seconds() / r.recorded.Seconds() }),
		column(func(r result) float64 { return float64(r.peakRSS >> 20) }),
		column(func(r result) float64 { return float64(r.avgBytes) }),
	}
	line := func(name string, at func([]float64) float64) {
		v := make([]float64, len(cols))
		for i, c := range cols {
			v[i] = at(c)
		}
		fmt.Printf("| %s | %s | %d | %.0f | %.0f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f of %d cores | %.0f MB | %s |\n",
			name, o.dkim, o.n, v[9], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], runtime.NumCPU(), v[8], limit)
	}
	for i := range results {
		line(o.template, func(c []float64) float64 { return c[i] })
	}
	if len(results) > 1 {
		line(o.template+", median", median)
	}
}

// median is the middle value (the mean of the two middle ones).
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fill empties the tables and creates n contacts and n queued campaign
// messages with COPY.
func fill(ctx context.Context, pool *pgxpool.Pool, o options) ([]int64, error) {
	if _, err := pool.Exec(ctx, `TRUNCATE contacts, messages, message_status_history, suppressions, topic_optouts, campaigns, campaign_audience RESTART IDENTITY CASCADE`); err != nil {
		return nil, err
	}
	first := []string{"Ada", "Grace", "Katherine", "Barbara", "Margaret", "Frances", ""}
	companies := []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", ""}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "company", "role", "time_zone"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == o.n {
					return nil, nil
				}
				i++
				return []any{fmt.Sprintf("person%d@bench.example", i), first[i%len(first)], companies[i%len(companies)], "Engineering", "Europe/Paris"}, nil
			}
		}()))
	if err != nil {
		return nil, fmt.Errorf("copy contacts: %w", err)
	}
	// The sign-ups' enrichment requests (migration 00016's triggers) would
	// run beside the sends in the worker: this measures sending alone.
	if _, err := pool.Exec(ctx, `TRUNCATE contact_enrichment`); err != nil {
		return nil, err
	}
	if o.campaign {
		// A campaign to all of them, due now: the worker's campaign poller
		// freezes the audience and creates the messages itself.
		_, err := pool.Exec(ctx, `INSERT INTO campaigns (name, template, topic, filter, status, send_at, starts_at)
			VALUES ('bench', $1, 'product', '{"traits.email": {"exists": true}}', 'scheduled', now(), now())`, o.template)
		return nil, err
	}
	now := time.Now()
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"dedupe_key", "contact_id", "template", "queue", "send_at", "enqueued_at"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == o.n {
					return nil, nil
				}
				i++
				return []any{fmt.Sprintf("camp:bench:%d", i), int64(i), o.template, jobs.QueueLow, now, now}, nil
			}
		}()))
	if err != nil {
		return nil, fmt.Errorf("copy messages: %w", err)
	}
	ids := make([]int64, o.n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return ids, nil
}

// baseline pushes the same emails, rendered beforehand (1,000 distinct
// ones, cycled), with bare go-mail clients over o.conns connections: no
// database, no queue, no signing. It returns emails per second.
func baseline(ctx context.Context, o options, addr string) (float64, error) {
	set, err := templates.Default()
	if err != nil {
		return 0, err
	}
	const distinct = 1000
	msgs := make([]*gomail.Msg, distinct)
	for i := range msgs {
		r, err := set.Render(o.template, templates.Data{
			Contact: nurture.Contact{ID: int64(i), Email: fmt.Sprintf("person%d@bench.example", i), FirstName: "Ada", Company: "Acme"},
			Message: templates.MessageInfo{ID: int64(i)},
			Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.example"},
			Links:   templates.Links{Unsubscribe: "https://links.acme.example/u/x", Preferences: "https://links.acme.example/u/x"},
			Track: &templates.Tracking{Click: func(n int, t string) string { return fmt.Sprintf("https://links.acme.example/c/%d-%d", i, n) },
				OpenPixel: "https://links.acme.example/o/x"},
		})
		if err != nil {
			return 0, err
		}
		m := gomail.NewMsg()
		_ = m.From("news@acme.example")
		_ = m.To(fmt.Sprintf("person%d@bench.example", i))
		m.Subject(r.Subject)
		m.SetBodyString(gomail.TypeTextPlain, r.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
		msgs[i] = m
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.conns)
	start := time.Now()
	for range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithHELO("bench.localhost"))
			if err != nil {
				errs <- err
				return
			}
			if err := c.DialWithContext(ctx); err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for {
				i := next.Add(1)
				if i > int64(o.n) {
					return
				}
				if err := c.Send(msgs[i%distinct]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(o.n) / time.Since(start).Seconds(), nil
}

func writeKey(kind string) (string, error) {
	var der []byte
	var err error
	switch kind {
	case "ed25519":
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(priv)
	case "rsa":
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, err = x509.MarshalPKCS8PrivateKey(key)
	default:
		return "", fmt.Errorf("unknown DKIM key kind %q", kind)
	}
	if err != nil {
		return "", err
	}
	f := filepath.Join(os.TempDir(), fmt.Sprintf("sendload-dkim-%d.pem", os.Getpid()))
	return f, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
