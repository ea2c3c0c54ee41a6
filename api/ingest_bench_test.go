package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBatch100 posts /v1/batch bodies of 100 calls (a tenth identify)
// through the handler and the real store, from 8 goroutines. One op is one
// batch.
func BenchmarkBatch100(b *testing.B) {
	bn := setup(b)
	var seq atomic.Int64
	body := func(n int64) []byte {
		calls := make([]map[string]any, 100)
		for i := range calls {
			user := fmt.Sprintf("u%d", (n*100+int64(i))%5000)
			c := map[string]any{"userId": user, "messageId": fmt.Sprintf("%d-%d", n, i),
				"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "context": map[string]any{"ip": "203.0.113.7"}}
			switch {
			case i%10 == 0:
				c["type"], c["traits"] = "identify", map[string]any{"email": user + "@example.com", "firstName": "Ada", "plan": "trial"}
			case i%2 == 0:
				c["type"], c["name"], c["properties"] = "page", "Pricing", map[string]any{"url": "https://example.com/pricing"}
			default:
				c["type"], c["event"], c["properties"] = "track", "Project Created", map[string]any{"seats": 3}
			}
			calls[i] = c
		}
		data, _ := json.Marshal(map[string]any{"batch": calls})
		return data
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body(int64(i))
	}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(bodies[seq.Add(1)-1]))
			req.SetBasicAuth(bn.ingest, "")
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			bn.api.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
