package campaign_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

// BenchmarkFanout measures the fan-out alone: freezing the audience of a
// campaign to every one of n contacts and creating their message rows,
// handed to a queue that keeps them (no sending). It reports the rows
// created per second.
func BenchmarkFanout(b *testing.B) {
	const n = 100_000
	f := setupFanoutB(b, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	ctx := context.Background()
	i := 0
	_, err := f.db.Pool().CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "attributes"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{fmt.Sprintf("b%d@example.com", i), map[string]any{"plan": "pro"}}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.db.Pool().Exec(ctx, `ANALYZE contacts`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rows int
	start := time.Now()
	for range b.N {
		c := &nurture.Campaign{Name: "bench", Template: "newsletter", Topic: "product", Status: "scheduled",
			Filter: map[string]any{"traits.plan": "pro"}, SendAt: f.clock.Now(), StartsAt: f.clock.Now()}
		if err := f.db.CreateCampaign(ctx, c); err != nil {
			b.Fatal(err)
		}
		d := f.dispatcher(campaign.DispatcherConfig{})
		for {
			created, err := d.Pass(ctx, c.ID)
			if err != nil {
				b.Fatal(err)
			}
			rows += created
			got, err := f.db.Campaign(ctx, c.ID)
			if err != nil {
				b.Fatal(err)
			}
			if got.Status == "sent" {
				break
			}
		}
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
