package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// BenchmarkPixel requests the open pixel through the handler, 50 at a time,
// each answered after its hit is committed to the real database.
func BenchmarkPixel(b *testing.B) {
	signer, _ := nurture.NewSigner(strings.Repeat("p", 32))
	bn := setup(b, func(c *api.Config) {
		c.Recipients.Signer = signer
		c.Recipients.Hits = c.Recipients.Store.(api.HitStore)
	})
	b.Cleanup(bn.api.Close)
	ctx := context.Background()
	c, _, err := bn.store.UpsertContact(ctx, &nurture.Contact{Email: "p@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	m, _, err := bn.store.CreateMessage(ctx, nurture.Message{DedupeKey: "k", ContactID: c.ID, Template: "welcome", SendAt: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	path := "/o/" + signer.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.ID, ContactID: c.ID, IssuedAt: time.Now().Add(-time.Hour)})
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0")
			w := httptest.NewRecorder()
			bn.api.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}
