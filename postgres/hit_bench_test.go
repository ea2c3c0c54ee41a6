package postgres_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// BenchmarkRecordHits50 writes batches of 50 opens, the size a group
// commit reaches with 50 connections. One op is one batch.
func BenchmarkRecordHits50(b *testing.B) {
	db := postgres.New(testkit.DB(b))
	ctx := context.Background()
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "h@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	m, _, err := db.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	hits := make([]nurture.Hit, 50)
	for i := range hits {
		hits[i] = nurture.Hit{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID, Class: nurture.ClassHuman,
			IP: netip.MustParseAddr("198.51.100.7"), UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0", At: time.Now()}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := db.RecordHits(ctx, hits); err != nil {
			b.Fatal(err)
		}
	}
}
