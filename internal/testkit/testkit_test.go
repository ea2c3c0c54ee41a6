package testkit_test

import (
	"context"
	"testing"

	"github.com/nurture-email/nurture/internal/testkit"
)

// cleanupTB runs the cleanups a test registers when the benchmark says, so
// that each iteration of BenchmarkDB gives its schema back as a test would
// when it ends.
type cleanupTB struct {
	testing.TB
	cleanups []func()
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *cleanupTB) end() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	c.cleanups = nil
}

// BenchmarkDB measures what a test pays for testkit.DB: a schema exactly as
// the migrations leave it. Each iteration then writes a contact, as a test
// would, and ends its test (outside the timer).
func BenchmarkDB(b *testing.B) {
	ctx := context.Background()
	tb := &cleanupTB{TB: b}
	for b.Loop() {
		pool := testkit.DB(tb)
		b.StopTimer()
		if _, err := pool.Exec(ctx, `INSERT INTO contacts (email) VALUES ('ada@example.com')`); err != nil {
			b.Fatal(err)
		}
		tb.end()
		b.StartTimer()
	}
}
