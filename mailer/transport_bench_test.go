package mailer_test

import (
	"context"
	"crypto"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nurture-email/nurture/internal/smtpsink"
	"github.com/nurture-email/nurture/mailer"
)

// BenchmarkTransport sends through internal/smtpsink (the fast relay of the
// load tests, which answers pipelined commands together) from more
// goroutines than connections, as a batch's Parallelism does: the pool and
// the transaction, with or without the signing before them. cpu-µs/op is
// the CPU of the whole process per message, the sink's included.
func BenchmarkTransport(b *testing.B) {
	for _, bm := range []struct {
		name string
		size int
		key  func() crypto.Signer
	}{
		{"2.5KB", 2500, nil},
		{"25KB", 25000, nil},
		{"2.5KB-ed25519", 2500, func() crypto.Signer { return ed25519Key() }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			sink, err := smtpsink.Start(smtpsink.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = sink.Close() })
			cfg := mailer.Config{URL: "smtp://" + sink.Addr() + "?tls=none", PoolSize: 4, Timeout: 10 * time.Second}
			if bm.key != nil {
				cfg.DKIM = &mailer.DKIM{Domain: "nurture.test", Selector: "bench", Key: bm.key()}
			}
			m, err := mailer.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = m.Close() })
			e := newEmail("bench")
			e.Text = strings.Repeat("Here is what to do first: (https://links.example.com/c/abcdef)\n", bm.size/64)
			e.HTML = ""
			b.SetParallelism(8) // 8 per P: more Sends than connections
			b.ReportAllocs()
			b.ResetTimer()
			before := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := m.Send(context.Background(), e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU()-before).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
