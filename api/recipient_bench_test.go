package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
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

// BenchmarkHitHandlers measures the API's own work for a pixel and a click
// (routing, token, classification, the recorder) over 10,000 messages, each
// batch committed by a store that takes about as long as a commit: the
// database and the network are left out, so that the handlers' CPU
// (cpu-ns/op, the process's CPU time per request) and allocations stand out.
func BenchmarkHitHandlers(b *testing.B) {
	signer, _ := nurture.NewSigner(strings.Repeat("p", 32))
	a, err := api.New(api.Config{
		Recipients: &api.Recipients{Store: unusedRecipientStore{}, Signer: signer, Hits: slowHits{commit: 500 * time.Microsecond}},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	sent := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		purpose nurture.Purpose
		code    int
	}{{"pixel", nurture.PurposeOpen, http.StatusOK}, {"click", nurture.PurposeClick, http.StatusFound}} {
		paths := make([]string, 10_000)
		for i := range paths {
			t := nurture.Token{Purpose: tc.purpose, MessageID: int64(100_000 + i), ContactID: int64(50_000 + i), IssuedAt: sent}
			if tc.purpose == nurture.PurposeClick {
				t.LinkIndex, t.URL = 3, "https://acme.example/pricing?utm_source=email"
			}
			paths[i] = "/" + string(tc.purpose) + "/" + signer.Sign(t)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(25)
			var next atomic.Int64
			cpu0 := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{}
				req := httptest.NewRequest(http.MethodGet, paths[0], nil)
				req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0")
				req.RemoteAddr = "192.0.2.1:41234"
				for pb.Next() {
					// One request, pointed at the next path each time:
					// net/http's own parsing is not the subject here.
					req.URL.Path, req.Body = paths[int(next.Add(1))%len(paths)], http.NoBody
					w.header, w.code = make(http.Header), 0
					a.ServeHTTP(w, req)
					if w.code != tc.code {
						b.Fatal(w.code)
					}
				}
			})
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// slowHits commits every batch after a pause, as long as a commit takes.
type slowHits struct{ commit time.Duration }

func (s slowHits) RecordHits(context.Context, []nurture.Hit) error {
	time.Sleep(s.commit)
	return nil
}

// unusedRecipientStore stands in for a store the pixel and the click never
// read.
type unusedRecipientStore struct{ api.RecipientStore }

// discardWriter is a ResponseWriter that keeps the status and drops the body.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
