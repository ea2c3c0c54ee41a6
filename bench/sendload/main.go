// Command sendload measures delivery through Nurture's whole path: message
// rows in PostgreSQL, batch tasks in asynq, the worker (claim, checks,
// render, tracked links, DKIM, SMTP pool, bookkeeping) and a null SMTP sink
// on this machine. Then it pushes the same emails, pre-rendered, with a
// bare go-mail client over as many connections, which is the limit the
// engine is compared with.
//
// It talks only to loopback: the sink is in this process, the worker is a
// `nurture worker` child process, PostgreSQL and Redis are local.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	"github.com/nurture-email/nurture/jobs"
	"github.com/nurture-email/nurture/templates"
)

type options struct {
	campaign              bool
	n, conns, concurrency int
	template, dkim, bin   string
	dbURL, redisURL       string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "recipients")
	flag.IntVar(&o.conns, "conns", 4, "SMTP connections (NURTURE_SMTP_POOL, and the baseline's)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "worker tasks at once (NURTURE_CONCURRENCY)")
	flag.StringVar(&o.template, "template", "welcome", "template to send")
	flag.BoolVar(&o.campaign, "campaign", false, "send the emails as a campaign to every contact (the worker's fan-out creates the messages) instead of message rows made beforehand")
	flag.StringVar(&o.dkim, "dkim", "ed25519", "DKIM key: ed25519, rsa or none")
	flag.StringVar(&o.bin, "nurture", "bin/nurture", "the nurture binary")
	flag.StringVar(&o.dbURL, "db", "postgres://postgres@127.0.0.1:5432/nurture_sendload?sslmode=disable", "a database to fill (its tables are emptied)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/14", "a Redis database to use (it is emptied)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "sendload:", err)
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
	s, err := startSink()
	if err != nil {
		return err
	}
	defer s.close()
	sinkAddr := s.addr()

	// A secret of the run's own: the engine refuses a weak one outside --dev.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	env := append(os.Environ(),
		"NURTURE_DATABASE_URL="+o.dbURL, "NURTURE_REDIS_URL="+o.redisURL,
		"NURTURE_SMTP_URL=smtp://"+sinkAddr+"?tls=none", "NURTURE_SMTP_POOL="+strconv.Itoa(o.conns),
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
	pool, err := pgxpool.New(ctx, o.dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	ids, err := fill(ctx, pool, o)
	if err != nil {
		return err
	}
	redisOpt, err := asynq.ParseRedisURI(o.redisURL)
	if err != nil {
		return err
	}
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("empty the Redis database: %w", err)
	}
	// An installation's Redis has its markers: without them the worker's
	// first reconcile pass takes the queue for lost and enqueues every
	// message a second time (before 2026-12-06 every run measured that too).
	for _, m := range []*jobs.QueueMarker{jobs.NewQueueMarker(rdb), jobs.NewSequenceMarker(rdb), jobs.NewEnrichMarker(rdb)} {
		if _, err := m.Lost(ctx); err != nil {
			return fmt.Errorf("set the queue markers: %w", err)
		}
	}
	_ = rdb.Close()

	// The engine.
	worker := exec.Command(o.bin, "worker")
	worker.Env, worker.Stderr = env, os.Stderr
	if err := worker.Start(); err != nil {
		return err
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	start, machineBefore, selfBefore := time.Now(), machineCPU(), selfCPU()
	if !o.campaign {
		if _, err := jobs.NewEnqueuer(client).EnqueueSendBatch(ctx, fmt.Sprint("bench:", start.UnixNano()), jobs.QueueLow, ids); err != nil {
			return err
		}
	}
	enqueued := time.Since(start)
	var fannedOut atomic.Int64 // nanoseconds
	if o.campaign {
		// The fan-out's time: until every member has its message row.
		go func() {
			for {
				var n int
				if pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE campaign_id IS NOT NULL`).Scan(&n) == nil && n >= o.n {
					fannedOut.Store(int64(time.Since(start)))
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	for s.messages.Load() < int64(o.n) {
		time.Sleep(20 * time.Millisecond)
		if time.Since(start) > 30*time.Minute {
			return fmt.Errorf("only %d of %d delivered after 30 minutes", s.messages.Load(), o.n)
		}
	}
	elapsed := time.Since(start)
	machine, self := machineCPU()-machineBefore, selfCPU()-selfBefore
	var sent int
	for {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'sent'`).Scan(&sent); err != nil {
			return err
		}
		if sent >= o.n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	recorded := time.Since(start)
	rss := peakRSS(worker.Process.Pid)
	_ = worker.Process.Signal(syscall.SIGTERM)
	_ = worker.Wait()
	cpu := worker.ProcessState.UserTime() + worker.ProcessState.SystemTime()
	avg := s.bytes.Load() / int64(o.n)

	fmt.Printf("template %s (%d bytes on the wire on average), DKIM %s, %d recipients, %d SMTP connections, %d tasks of %d\n",
		o.template, avg, o.dkim, o.n, o.conns, (o.n+jobs.BatchSize-1)/jobs.BatchSize, jobs.BatchSize)
	fmt.Printf("engine:   %.0f emails/s delivered (%s), all recorded sent after %s; enqueue took %s\n",
		float64(o.n)/elapsed.Seconds(), elapsed.Round(time.Millisecond), recorded.Round(time.Millisecond), enqueued.Round(time.Millisecond))
	if o.campaign {
		fmt.Printf("          as a campaign: every message row created by the fan-out after %s\n", time.Duration(fannedOut.Load()).Round(time.Millisecond))
	}
	fmt.Printf("          worker CPU %s = %.0f µs per email; worker peak RSS %d MB\n",
		cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(o.n), rss>>20)
	fmt.Printf("          the machine was busy %.2f of %d cores meanwhile; the sink used %.0f µs per email\n",
		machine.Seconds()/elapsed.Seconds(), runtime.NumCPU(), float64(self.Microseconds())/float64(o.n))

	limit, err := baseline(ctx, o, sinkAddr)
	if err != nil {
		return err
	}
	fmt.Printf("baseline: %.0f emails/s (bare go-mail, pre-rendered, %d connections)\n", limit, o.conns)
	fmt.Printf("ratio:    %.2f of the limit\n", float64(o.n)/elapsed.Seconds()/limit)
	return nil
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

// machineCPU is the CPU time all processes of the machine have used, from
// /proc/stat: all but idle and iowait.
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// selfCPU is this process's CPU time: the sink's, while the engine runs.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads a process's high-water resident set size from /proc.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
