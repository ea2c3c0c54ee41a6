package templates

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkPass measures the one pass alone (stream.go: tokens, CSS
// inlining, tracked links, pixel, text body) over the HTML a starter's
// layout and body executed to, as a send does after executing it: the
// number to compare between two ways of reading the tokens.
func BenchmarkPass(b *testing.B) {
	for _, name := range []string{"welcome", "newsletter", "check-in"} {
		b.Run(name, func(b *testing.B) {
			s := setup(b)
			m := s.mails[name]
			d := full()
			d.Track = &Tracking{
				Click: func(i int, target string) string {
					return "https://links.acme.test/c/" + strconv.Itoa(i) + "/AQIDBAUGBwgJCgsMDQ4PEA"
				},
				OpenPixel: "https://links.acme.test/o/AQIDBAUGBwgJCgsMDQ4PEA",
			}
			if d.Message.Template == "" {
				d.Message.Template = name
			}
			fillCompany(&d)
			var src bytes.Buffer
			require.NoError(b, m.html.Execute(&src, newView(&d)))
			pass := func() string {
				t := newTracker(m.track, &d)
				t.record = m.text != nil
				pixel, err := t.pixel()
				require.NoError(b, err)
				var out strings.Builder
				out.Grow(src.Len() + 4096)
				_, err = renderHTML(src.Bytes(), &out, m.styles, &m.cascade, t, pixel, m.text == nil)
				require.NoError(b, err)

				return out.String()
			}
			b.SetBytes(int64(src.Len()))
			b.ReportAllocs()
			pass()
			cpu := processCPU()
			for b.Loop() {
				pass()
			}
			reportCPU(b, cpu)
		})
	}
}
