// Command hitload measures the recipient endpoints: it creates messages in
// a local Nurture database, signs their pixel and click links with the
// API's secret, and requests them from many connections for a bounded time,
// reporting requests per second and latency. Every hit is recorded before
// its answer (group commit), so the figure is of durable hits.
//
// It only targets loopback addresses.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-email/nurture"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:18081", "base URL of a Nurture API on this machine")
	db := flag.String("db", "postgres://postgres@127.0.0.1:5432/nurture_bench?sslmode=disable", "the API's database")
	secret := flag.String("secret", os.Getenv("NURTURE_SECRET"), "the API's NURTURE_SECRET")
	path := flag.String("path", "o", "o (pixel) or c (click)")
	conns := flag.Int("c", 50, "connections")
	duration := flag.Duration("duration", 10*time.Second, "how long")
	messages := flag.Int("messages", 10000, "distinct messages to hit")
	pathsFile := flag.String("paths", "", "only prepare: write the signed paths to this file, one a line, for wrk (bench/paths.lua)")
	flag.Parse()
	if *pathsFile != "" {
		if err := writePaths(*db, *secret, *path, *messages, *pathsFile); err != nil {
			fmt.Fprintln(os.Stderr, "hitload:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*target, *db, *secret, *path, *conns, *duration, *messages); err != nil {
		fmt.Fprintln(os.Stderr, "hitload:", err)
		os.Exit(1)
	}
}

func run(target, db, secret, path string, conns int, duration time.Duration, n int) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", u.Hostname())
	}
	signer, err := nurture.NewSigner(secret)
	if err != nil {
		return err
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	urls, err := prepare(ctx, pool, signer, target, path, n)
	if err != nil {
		return err
	}
	var before int64
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM email_events`).Scan(&before)

	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var (
		done, failed atomic.Int64
		mu           sync.Mutex
		latencies    []time.Duration
		wg           sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<16)
			for i := w; time.Now().Before(deadline); i += conns {
				req, _ := http.NewRequest(http.MethodGet, urls[i%len(urls)], nil)
				req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36")
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t))
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusFound {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	var after int64
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM email_events`).Scan(&after)
	fmt.Printf("/%s/: %d connections, %s\n", path, conns, elapsed.Round(time.Millisecond))
	fmt.Printf("requests %d ok (%.0f/s), failed %d\n", done.Load(), float64(done.Load())/elapsed.Seconds(), failed.Load())
	fmt.Printf("latency p50 %s p90 %s p99 %s max %s\n", pct(0.5), pct(0.9), pct(0.99), pct(1))
	fmt.Printf("hits recorded in the database: %d\n", after-before)
	return nil
}

// writePaths prepares n messages and writes their links' paths to file.
func writePaths(db, secret, path string, n int, file string) error {
	signer, err := nurture.NewSigner(secret)
	if err != nil {
		return err
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	urls, err := prepare(ctx, pool, signer, "", path, n)
	if err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	for _, u := range urls {
		fmt.Fprintln(f, u)
	}
	return f.Close()
}

// prepare makes n contacts and sent messages and returns a signed link for each.
func prepare(ctx context.Context, pool *pgxpool.Pool, signer *nurture.Signer, base, path string, n int) ([]string, error) {
	var start int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&start); err != nil {
		return nil, err
	}
	run := time.Now().UnixNano()
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email"}, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{fmt.Sprintf("hit%d-%d@bench.example", run, i)}, nil
	})); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `SELECT id FROM contacts WHERE id > $1 ORDER BY id`, start)
	if err != nil {
		return nil, err
	}
	contacts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	sent := time.Now().Add(-time.Hour)
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"dedupe_key", "contact_id", "template", "status", "send_at", "sent_at", "topic"},
		pgx.CopyFromSlice(len(contacts), func(i int) ([]any, error) {
			return []any{fmt.Sprintf("hitload:%d:%d", run, i), contacts[i], "newsletter", "sent", sent, sent, "marketing"}, nil
		})); err != nil {
		return nil, err
	}
	rows, err = pool.Query(ctx, `SELECT id, contact_id FROM messages WHERE dedupe_key LIKE $1`, fmt.Sprintf("hitload:%d:%%", run))
	if err != nil {
		return nil, err
	}
	var urls []string
	var id, contact int64
	_, err = pgx.ForEachRow(rows, []any{&id, &contact}, func() error {
		t := nurture.Token{Purpose: nurture.PurposeOpen, MessageID: id, ContactID: contact, IssuedAt: sent}
		if path == "c" {
			t.Purpose, t.URL, t.LinkIndex = nurture.PurposeClick, "https://acme.example/pricing?utm_source=email", 3
		}
		urls = append(urls, base+"/"+path+"/"+signer.Sign(t))
		return nil
	})
	return urls, err
}
