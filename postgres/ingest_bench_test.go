package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// benchBatch is a realistic batch of 100 calls from 20 users: a fifth
// identify, the rest page views and track events.
func benchBatch(b int) []nurture.Call {
	calls := make([]nurture.Call, 0, 100)
	for i := range 100 {
		user := fmt.Sprintf("user-%d-%d", b, i%20)
		id := fmt.Sprintf("m-%d-%d", b, i)
		at := t0.Add(time.Duration(i) * time.Second)
		switch {
		case i < 20:
			calls = append(calls, identify(id, user, "", at, nurture.Contact{Email: user + "@example.com", FirstName: "Ada", Company: "Acme"}))
		case i%2 == 0:
			calls = append(calls, page(id, user, "", at))
		default:
			c := track(id, user, "", "Project Created", at)
			c.Properties = map[string]any{"plan": "pro", "seats": 3}
			calls = append(calls, c)
		}
	}
	return calls
}

func BenchmarkIngestBatch100(b *testing.B) {
	db := postgres.New(testkit.DB(b))
	ctx := context.Background()
	batches := make([][]nurture.Call, b.N)
	for i := range batches {
		batches[i] = benchBatch(i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := db.Ingest(ctx, batches[i], readTraits, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkIngestBatch100Parallel(b *testing.B) {
	db := postgres.New(testkit.DB(b))
	ctx := context.Background()
	b.SetParallelism(4)
	var n int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(time.Now().UnixNano()) // distinct users and ids per batch
			if _, err := db.Ingest(ctx, benchBatch(i), readTraits, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	_ = n
	b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
}
