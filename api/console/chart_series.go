package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// Point is one bucket of a chart over time.
type Point struct {
	Label string // the bucket in full: "Mon 2 Mar 15:00"
	Tick  string // the text under its column on the axis; "" for none
	Minor bool   // the tick is left out on narrow screens
	Value int64
}

// columnChart draws a series over time as an accessible SVG: one column
// per bucket, oldest first, on a scale rounded up to a readable number
// with its gridlines labelled, every column titled with its bucket and
// number (a tooltip). The chart is an image with a title for a screen
// reader; the page shows the same numbers as a table. Labels are escaped;
// it is drawn on the server and needs no script.
func columnChart(title string, points []Point) template.HTML {
	const (
		width, height     = 480, 190
		left, right       = 48, 24
		top, bottom       = 10, 26
		plotW, plotH      = width - left - right, height - top - bottom
		baseline      int = top + plotH
	)
	var max int64
	for _, p := range points {
		max = maxOf(max, p.Value)
	}
	scale := niceCeil(max)
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart series" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet">`,
		template.HTMLEscapeString(title), width, height)
	fmt.Fprintf(&s, `<title>%s</title>`, template.HTMLEscapeString(title))
	for _, g := range []int64{0, scale / 2, scale} {
		y := baseline - int(float64(plotH)*float64(g)/float64(scale))
		fmt.Fprintf(&s, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"></line>`, left, y, width-right, y)
		fmt.Fprintf(&s, `<text class="chart-label" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+5, formatCompact(g))
	}
	if len(points) > 0 {
		slot := float64(plotW) / float64(len(points))
		barW := max1(slot * 0.7)
		for i, p := range points {
			h := float64(plotH) * float64(p.Value) / float64(scale)
			if p.Value > 0 && h < 2 {
				h = 2
			}
			x := float64(left) + slot*float64(i) + (slot-barW)/2
			fmt.Fprintf(&s, `<rect class="chart-bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
				x, float64(baseline)-h, barW, h, template.HTMLEscapeString(p.Label), formatInt(p.Value))
			if p.Tick != "" {
				class := "chart-label"
				if p.Minor {
					class += " minor"
				}
				fmt.Fprintf(&s, `<text class="%s" x="%.1f" y="%d" text-anchor="middle">%s</text>`,
					class, x+barW/2, height-6, template.HTMLEscapeString(p.Tick))
			}
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) //nolint:gosec // built here with every outside string escaped
}

// niceCeil rounds n up to a scale whose half is a whole number as well:
// 2, 4, 10, then 1, 2 or 5 times a power of ten (20, 50, 100, ...).
func niceCeil(n int64) int64 {
	switch {
	case n <= 2:
		return 2
	case n <= 4:
		return 4
	}
	for p := int64(10); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// formatCompact writes an axis value short: 900, 2.5k, 10k, 1M.
func formatCompact(n int64) string {
	switch {
	case n >= 1_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

func max1(f float64) float64 {
	if f < 1 {
		return 1
	}
	return f
}
