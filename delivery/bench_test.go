package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
)

// BenchmarkDeliverBatch sends welcome emails in batches of 250 through the
// real store, renderer and mailer to the in-process SMTP server.
func BenchmarkDeliverBatch(b *testing.B) {
	bundle := setup(b)
	ctx := context.Background()
	ids := make([]int64, 0, b.N)
	for i := range b.N {
		contact, _, err := bundle.store.UpsertContact(ctx, &nurture.Contact{Email: fmt.Sprintf("p%d@example.com", i), FirstName: "Ada", Company: "Acme"})
		if err != nil {
			b.Fatal(err)
		}
		m, _, err := bundle.store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("camp:b:", i), ContactID: contact.ID, Template: "welcome", SendAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	b.ResetTimer()
	for i := 0; i < len(ids); i += 250 {
		if err := bundle.d.Deliver(ctx, delivery.Request{IDs: ids[i:min(i+250, len(ids))]}); err != nil {
			b.Fatal(err)
		}
	}
}
