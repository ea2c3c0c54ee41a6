package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// BenchmarkBatch100 posts /v1/batch bodies of 100 calls (a tenth identify)
// through the handler and the real store, from 8 goroutines. One op is one
// batch. The calls are dated by the API's clock, which stands still: a call
// dated by the wall clock may fall outside the window the API accepts.
func BenchmarkBatch100(b *testing.B) {
	bn := setup(b)
	var seq atomic.Int64
	body := func(n int64) []byte {
		calls := make([]map[string]any, 100)
		for i := range calls {
			user := fmt.Sprintf("u%d", (n*100+int64(i))%5000)
			c := map[string]any{"userId": user, "messageId": fmt.Sprintf("%d-%d", n, i),
				"timestamp": received.Format(time.RFC3339Nano), "context": map[string]any{"ip": "203.0.113.7"}}
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

// discardStore accepts every call and keeps none, so that a benchmark
// measures what the API does with a body, not what Postgres does.
type discardStore struct{}

func (discardStore) Ingest(_ context.Context, calls []nurture.Call, _ nurture.TraitsReader, _ time.Time) (*nurture.IngestResult, error) {
	return &nurture.IngestResult{Stored: len(calls)}, nil
}

// nestedCall returns a /v1/track body whose properties nest depth levels:
// an object, then arrays in arrays (two bytes a level, the cheapest way to
// nest deep within the size limit).
func nestedCall(depth int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"userId":"u1","event":"x","properties":{"a":`)
	b.WriteString(strings.Repeat("[", depth-1) + "1" + strings.Repeat("]", depth-1))
	b.WriteString(`}}`)
	return b.Bytes()
}

// wideCall returns a /v1/track body of about size bytes: properties with
// many keys, each an object four levels deep holding a list and a string.
func wideCall(size int) []byte {
	props := map[string]any{}
	for i := 0; ; i++ {
		props[fmt.Sprintf("key%d", i)] = map[string]any{"b": map[string]any{"c": map[string]any{
			"list": []any{1, "two", 3.5}, "text": "a few words of text"}}}
		data, _ := json.Marshal(map[string]any{"userId": "u1", "event": "x", "properties": props})
		if len(data) >= size {
			return data
		}
	}
}

// BenchmarkCallShape posts single calls of growing size through the handler
// (the store discards them): nested ever deeper, and wide with a fixed
// depth. Cost per byte (the MB/s column) should not fall as calls grow:
// what a call costs is linear in its size, whatever its shape.
func BenchmarkCallShape(b *testing.B) {
	bn := setup(b, func(c *api.Config) { c.Ingestion.Store = discardStore{} })
	bodies := []struct {
		name string
		body []byte
	}{}
	for _, d := range []int{8, 32, 128, 512, 2048, 9990} {
		bodies = append(bodies, struct {
			name string
			body []byte
		}{fmt.Sprintf("deep=%d", d), nestedCall(d)})
	}
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10, 30 << 10} {
		bodies = append(bodies, struct {
			name string
			body []byte
		}{fmt.Sprintf("wide=%dKB", size>>10), wideCall(size)})
	}
	for _, tt := range bodies {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/track", bytes.NewReader(tt.body))
				req.SetBasicAuth(bn.ingest, "")
				w := httptest.NewRecorder()
				bn.api.ServeHTTP(w, req)
				if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
