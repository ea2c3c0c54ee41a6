// Command ingestload is a load generator for Nurture's /v1/batch endpoint:
// it posts batches of realistic Segment calls from many connections for a
// bounded time and reports accepted events per second and latency.
//
// It only targets loopback addresses: it is for measuring a Nurture running
// on the same machine, never a load test of anything else.
package main

import (
	"bytes"
	"encoding/json"
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
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080", "base URL of a Nurture API on this machine")
	key := flag.String("key", os.Getenv("NURTURE_BENCH_KEY"), "ingest API key ($NURTURE_BENCH_KEY)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("c", 8, "concurrent connections")
	size := flag.Int("batch", 100, "calls per batch")
	users := flag.Int("users", 5000, "distinct users the calls come from")
	flag.Parse()
	if err := run(*target, *key, *duration, *conns, *size, *users); err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		os.Exit(1)
	}
}

func run(target, key string, duration time.Duration, conns, size, users int) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address; this tool only loads a local Nurture", u.Hostname())
	}
	if key == "" {
		return fmt.Errorf("an ingest key is required (-key or NURTURE_BENCH_KEY)")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 30 * time.Second}
	var (
		events, requests, failures atomic.Int64
		mu                         sync.Mutex
		latencies                  []time.Duration
		wg                         sync.WaitGroup
		seq                        atomic.Int64
	)
	runID := time.Now().UnixNano()
	// Bodies are built before the clock starts, so that the generator's own
	// JSON work does not compete with the server for the two cores.
	bodies := make([][]byte, max(1, int(duration.Seconds()*400)))
	for i := range bodies {
		bodies[i] = batch(runID, int64(i), size, users, i%conns)
	}
	deadline := time.Now().Add(duration)
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				n := seq.Add(1)
				var body []byte
				if n <= int64(len(bodies)) {
					body = bodies[n-1]
				} else {
					body = batch(runID, n, size, users, w)
				}
				req, _ := http.NewRequest(http.MethodPost, target+"/v1/batch", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(key, "")
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t))
				requests.Add(1)
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					continue
				}
				events.Add(int64(size))
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
	fmt.Printf("connections %d, batch %d, duration %s\n", conns, size, elapsed.Round(time.Millisecond))
	fmt.Printf("requests %d (%.0f/s), failed %d\n", requests.Load(), float64(requests.Load())/elapsed.Seconds(), failures.Load())
	fmt.Printf("events accepted %d (%.0f/s)\n", events.Load(), float64(events.Load())/elapsed.Seconds())
	fmt.Printf("latency p50 %s p90 %s p99 %s max %s\n", pct(0.5), pct(0.9), pct(0.99), pct(1))
	if failures.Load() > 0 {
		return fmt.Errorf("%d requests failed", failures.Load())
	}
	return nil
}

// batch builds one /v1/batch body: a tenth identify calls, the rest page
// views and track events, as a product's traffic looks.
func batch(runID, n int64, size, users, worker int) []byte {
	calls := make([]map[string]any, size)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range calls {
		user := fmt.Sprintf("bench-%d-%d", worker, (int(n)*size+i)%users)
		call := map[string]any{
			"userId":    user,
			"messageId": fmt.Sprintf("%d-%d-%d", runID, n, i),
			"timestamp": now,
			"context":   map[string]any{"ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (bench)"},
		}
		switch {
		case i%10 == 0:
			call["type"] = "identify"
			call["traits"] = map[string]any{"email": user + "@example.com", "firstName": "Ada", "company": "Acme", "plan": "trial"}
		case i%2 == 0:
			call["type"] = "page"
			call["name"] = "Pricing"
			call["properties"] = map[string]any{"url": "https://example.com/pricing", "title": "Pricing"}
		default:
			call["type"] = "track"
			call["event"] = "Project Created"
			call["properties"] = map[string]any{"template": "kanban", "seats": 3}
		}
		calls[i] = call
	}
	body, _ := json.Marshal(map[string]any{"batch": calls, "sentAt": now})
	return body
}
