package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
)

// BenchmarkSendBatch sends welcome emails in batches of 250 through the
// real store, renderer and mailer to the in-process SMTP server.
func BenchmarkSendBatch(b *testing.B) {
	bundle := setupSendB(b)
	ctx := context.Background()
	c := make([]int64, 0, b.N)
	for i := range b.N {
		contact, _, err := bundle.store.UpsertContact(ctx, &nurture.Contact{Email: fmt.Sprintf("p%d@example.com", i), FirstName: "Ada", Company: "Acme"})
		if err != nil {
			b.Fatal(err)
		}
		m, _, err := bundle.store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("camp:b:", i), ContactID: contact.ID, Template: "welcome", SendAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		c = append(c, m.ID)
	}
	b.ResetTimer()
	for i := 0; i < len(c); i += 250 {
		if err := bundle.handler.Send(ctx, c[i:min(i+250, len(c))]...); err != nil {
			b.Fatal(err)
		}
	}
}
