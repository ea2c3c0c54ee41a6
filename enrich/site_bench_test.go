package enrich

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkExtractPage measures the one-pass extraction on a realistic
// home page and on a page at the 1 MB read cap.
func BenchmarkExtractPage(b *testing.B) {
	home, err := os.ReadFile(filepath.Join("testdata", "site", "jsonld.html"))
	if err != nil {
		b.Fatal(err)
	}
	capped := []byte(clip(string(home)+strings.Repeat(`<p>More text about <a href="/x">things</a> we do.</p>`, DefaultMaxBytes/52), DefaultMaxBytes))
	base, _ := url.Parse("https://acme.test/")
	for _, bc := range []struct {
		name string
		body []byte
	}{{"home", home}, {"1MB", capped}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				p := extractPage(base, bc.body)
				if len(p.Orgs) != 1 {
					b.Fatalf("%d organisations", len(p.Orgs))
				}
			}
		})
	}
}
