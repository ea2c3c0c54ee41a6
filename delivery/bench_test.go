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
	benchDeliver(b, false)
}

// BenchmarkDeliverBatchWithCompanies is BenchmarkDeliverBatch with every
// contact linked to one of 100 companies, each with research findings:
// the cost of loading and showing them.
func BenchmarkDeliverBatchWithCompanies(b *testing.B) {
	benchDeliver(b, true)
}

func benchDeliver(b *testing.B, companies bool) {
	bundle := setup(b)
	ctx := context.Background()
	ids := make([]int64, 0, b.N)
	for i := range b.N {
		contact, _, err := bundle.store.UpsertContact(ctx, &nurture.Contact{Email: fmt.Sprintf("p%d@example.com", i), FirstName: "Ada", Company: "Acme"})
		if err != nil {
			b.Fatal(err)
		}
		m, _, err := bundle.store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("camp:b:", i), ContactID: contact.ID, Template: "feature-integrations", SendAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if companies {
		_, err := bundle.pool.Exec(ctx, `INSERT INTO companies (domain, name, industry, team_size, enriched)
			SELECT 'c' || i || '.example', 'Company ' || i, 'Manufacturing', '51-200',
				'[{"field": "description", "value": "What the company does, in a sentence or two.", "source": "https://c.example/", "method": "meta", "at": "2026-12-01T00:00:00Z"},
				  {"field": "saas", "value": "Salesforce", "source": "TXT c.example", "method": "spf", "at": "2026-12-01T00:00:00Z"}]'
			FROM generate_series(1, 100) AS i`)
		if err != nil {
			b.Fatal(err)
		}
		_, err = bundle.pool.Exec(ctx, `UPDATE contacts SET company_id = (SELECT id FROM companies ORDER BY id OFFSET contacts.id % 100 LIMIT 1)`)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < len(ids); i += 250 {
		if err := bundle.d.Deliver(ctx, delivery.Request{IDs: ids[i:min(i+250, len(ids))]}); err != nil {
			b.Fatal(err)
		}
	}
}
