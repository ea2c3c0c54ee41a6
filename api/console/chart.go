package console

import (
	"fmt"
	"html/template"
	"strings"
)

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value int64
}

// barChart draws bars as an accessible SVG: horizontal bars scaled to the
// largest value, each with its label and its number written out, so the
// chart reads without colour and a screen reader reads it as a list. The
// labels are escaped; the SVG is drawn on the server and needs no script.
func barChart(title string, bars []Bar) template.HTML {
	const (
		width  = 640
		labelW = 200
		valueW = 90
		rowH   = 28
		barH   = 18
	)
	var max int64
	for _, b := range bars {
		max = maxOf(max, b.Value)
	}
	height := rowH*len(bars) + 4
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet">`,
		template.HTMLEscapeString(title), width, height)
	fmt.Fprintf(&s, `<title>%s</title>`, template.HTMLEscapeString(title))
	for i, b := range bars {
		y := i*rowH + 2
		w := 0
		if max > 0 {
			w = int(float64(width-labelW-valueW) * float64(b.Value) / float64(max))
		}
		if b.Value > 0 && w < 2 {
			w = 2
		}
		fmt.Fprintf(&s, `<g role="listitem"><text class="chart-label" x="0" y="%d">%s</text>`, y+barH-4, template.HTMLEscapeString(b.Label))
		fmt.Fprintf(&s, `<rect class="chart-bar" x="%d" y="%d" width="%d" height="%d" rx="3"></rect>`, labelW, y, w, barH)
		fmt.Fprintf(&s, `<text class="chart-value" x="%d" y="%d">%s</text></g>`, labelW+w+6, y+barH-4, formatInt(b.Value))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) //nolint:gosec // built here with every outside string escaped
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
