package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// Overview is what the overview page needs: how the mail did over the
// last 24 hours, 7 or 30 days, with the complaint and bounce rates beside
// the mailbox providers' thresholds.
type Overview struct {
	Activity ActivityStore
}

// ActivityStore counts what happened to the mail, bucket by bucket.
type ActivityStore interface {
	// Activity returns n buckets of step from from on, each with its
	// figures (see nurture.ActivityBucket), empty buckets included.
	Activity(ctx context.Context, from time.Time, step time.Duration, n int) ([]nurture.ActivityBucket, error)
}

// overviewRoutes adds the overview pages to g.
func (k *Console) overviewRoutes(g *gin.RouterGroup) {
	g.GET("/overview", k.overviewPage)
}

// period is a span the overview shows, as the period switch names it.
type period struct {
	Key, Label string
	Step       time.Duration // one bucket: an hour or a day
	Buckets    int
}

// overviewPeriods are the spans the overview offers, the first by default.
func overviewPeriods() []period {
	return []period{
		{Key: "24h", Label: "24 hours", Step: time.Hour, Buckets: 24},
		{Key: "7d", Label: "7 days", Step: 24 * time.Hour, Buckets: 7},
		{Key: "30d", Label: "30 days", Step: 24 * time.Hour, Buckets: 30},
	}
}

// parsePeriod finds the period named key ("" is the default).
func parsePeriod(key string) (period, error) {
	ps := overviewPeriods()
	if key == "" {
		return ps[0], nil
	}
	for _, p := range ps {
		if p.Key == key {
			return p, nil
		}
	}
	return period{}, nurture.FieldError("period", "must be 24h, 7d or 30d, not %q", key)
}

// start is where p's first bucket begins when it ends with the bucket
// holding now: whole hours, or whole days in UTC.
func (p period) start(now time.Time) time.Time {
	return now.UTC().Truncate(p.Step).Add(-time.Duration(p.Buckets-1) * p.Step)
}

// overviewPage is GET /admin/overview?period=24h|7d|30d.
func (k *Console) overviewPage(c *gin.Context) {
	p, err := parsePeriod(c.Query("period"))
	if err != nil {
		k.fail(c, err)
		return
	}
	now := k.cfg.Clock.Now().UTC()
	from := p.start(now)
	buckets, err := k.cfg.Overview.Activity.Activity(c.Request.Context(), from, p.Step, p.Buckets)
	if err != nil {
		k.fail(c, err)
		return
	}
	k.show(c, http.StatusOK, "overview.html", "overview", "Overview", buildOverview(p, from, now, buckets))
}

// overviewView is the overview page's data.
type overviewView struct {
	Periods  []periodLink
	Period   period
	From, To time.Time
	Hourly   bool
	Rates    []rateView
	Metrics  []metricView
}

// periodLink is one entry of the period switch.
type periodLink struct {
	Key, Label string
	Current    bool
}

// metricView is one figure: its total, a chart over time and the same
// numbers as a table.
type metricView struct {
	ID, Name, Hint string
	Total          int64
	Detail         string // a split of the total, such as "3 hard, 1 soft"
	Chart          template.HTML
	Rows           []Point
}

// rateView is a rate beside its threshold.
type rateView struct {
	Name, Of, Source string
	Rate             float64
	RateText         string // the rate as a percentage, finer below 1%
	Known            bool   // false when nothing was sent: no rate
	Verdict          verdict
}

// buildOverview sums the buckets into totals, rates and charts.
func buildOverview(p period, from, now time.Time, buckets []nurture.ActivityBucket) overviewView {
	v := overviewView{Period: p, From: from, To: now, Hourly: p.Step < 24*time.Hour}
	for _, q := range overviewPeriods() {
		v.Periods = append(v.Periods, periodLink{Key: q.Key, Label: q.Label, Current: q.Key == p.Key})
	}
	var t nurture.ActivityBucket
	for _, b := range buckets {
		t.Add(b)
	}
	v.Rates = []rateView{
		complaintRate(t.Complaints, t.Delivered),
		bounceRate(t.Bounces(), t.Sent),
	}
	metric := func(id, name, hint string, total int64, value func(nurture.ActivityBucket) int64) metricView {
		m := metricView{ID: id, Name: name, Hint: hint, Total: total}
		for i, b := range buckets {
			tick, minor := bucketTick(b.Start, i, len(buckets), v.Hourly)
			m.Rows = append(m.Rows, Point{Label: bucketLabel(b.Start, v.Hourly), Tick: tick, Minor: minor, Value: value(b)})
		}
		if total > 0 {
			per := "day"
			if v.Hourly {
				per = "hour"
			}
			m.Chart = columnChart(fmt.Sprintf("%s per %s, last %s: %s in all", name, per, p.Label, formatInt(total)), m.Rows)
		}
		return m
	}
	bounced := metric("bounced", "Bounced", "Bounces providers reported in the period, by when their report reached us.",
		t.Bounces(), nurture.ActivityBucket.Bounces)
	bounced.Detail = fmt.Sprintf("%s hard, %s soft", formatInt(t.HardBounces), formatInt(t.SoftBounces))
	v.Metrics = []metricView{
		metric("sent", "Sent", "Emails our relay accepted in the period.", t.Sent,
			func(b nurture.ActivityBucket) int64 { return b.Sent }),
		metric("delivered", "Delivered", "Sent emails for which no bounce has been reported since: the relay took them and "+
			"nothing came back. We cannot see an inbox, so this is what we know, not a receipt. A bounce that comes "+
			"in up to 6 hours after the hour of the send takes the email out; a later one does not.", t.Delivered,
			func(b nurture.ActivityBucket) int64 { return b.Delivered }),
		bounced,
		metric("complaints", "Complaints", "People who reported an email as spam, as their provider told us (feedback "+
			"loops), by when the report reached us.",
			t.Complaints, func(b nurture.ActivityBucket) int64 { return b.Complaints }),
		metric("unsubscribes", "Unsubscribes", "Times a person opted out themselves, of one topic or more (one-click or "+
			"the preference page).", t.Unsubscribes, func(b nurture.ActivityBucket) int64 { return b.Unsubscribes }),
		metric("opens", "Human opens", "Times a person opened an email; mail privacy proxies, image prefetching "+
			"and scanners are left out. An email opened twice counts twice.", t.HumanOpens,
			func(b nurture.ActivityBucket) int64 { return b.HumanOpens }),
		metric("clicks", "Human clicks", "Times a person clicked a link in an email; link scanners are left out.", t.HumanClicks, func(b nurture.ActivityBucket) int64 { return b.HumanClicks }),
	}
	return v
}

// verdict is where a rate stands against its threshold.
type verdict struct {
	Over bool   // at or above the target: shown red
	Text string // says so in words, "above" or "below"
}

// judge places rate against the target to stay below and the limit never
// to reach.
func judge(rate, target, limit float64) verdict {
	switch {
	case rate >= limit:
		return verdict{Over: true, Text: fmt.Sprintf("At or above the %s limit", formatThreshold(limit))}
	case rate >= target:
		return verdict{Over: true, Text: fmt.Sprintf("At or above the %s target, below the %s limit",
			formatThreshold(target), formatThreshold(limit))}
	}
	return verdict{Text: fmt.Sprintf("Below the %s target", formatThreshold(target))}
}

// formatThreshold writes a threshold as short as it reads: 0.001 is "0.1%".
func formatThreshold(f float64) string {
	return fmt.Sprintf("%g%%", f*100)
}

// The bulk-sender thresholds. Gmail's sender guidelines: keep the spam
// rate below 0.1% and never reach 0.3%; Yahoo's sender requirements set
// the same 0.3% limit. Neither publishes a bounce rate; 2% is a common
// guideline among sending services, and Amazon SES reviews an account at 5%.
const (
	complaintTarget = 0.001
	complaintLimit  = 0.003
	bounceTarget    = 0.02
	bounceLimit     = 0.05
)

// complaintRate is complaints per email delivered, as mailbox providers
// count their spam rate.
func complaintRate(complaints, delivered int64) rateView {
	r := rateView{Name: "Complaint rate", Known: delivered > 0,
		Of: fmt.Sprintf("%s complaints of %s delivered", formatInt(complaints), formatInt(delivered)),
		Source: "Gmail's sender guidelines ask bulk senders to keep the spam rate below 0.1% and never to reach 0.3%; " +
			"Yahoo's sender requirements set the same 0.3% limit. Gmail measures its own rate (Postmaster Tools) " +
			"and reports no single complaints, so its figure may be higher than this one."}
	if r.Known {
		r.Rate = float64(complaints) / float64(delivered)
		r.RateText = formatRate(r.Rate)
		r.Verdict = judge(r.Rate, complaintTarget, complaintLimit)
	}
	return r
}

// bounceRate is bounces per email sent in the period.
func bounceRate(bounces, sent int64) rateView {
	r := rateView{Name: "Bounce rate", Known: sent > 0,
		Of: fmt.Sprintf("%s bounces of %s sent", formatInt(bounces), formatInt(sent)),
		Source: "Gmail and Yahoo publish no bounce-rate threshold; below 2% is a common guideline among sending " +
			"services, and Amazon SES reviews an account from 5%."}
	if r.Known {
		r.Rate = float64(bounces) / float64(sent)
		r.RateText = formatRate(r.Rate)
		r.Verdict = judge(r.Rate, bounceTarget, bounceLimit)
	}
	return r
}

// formatRate writes a rate as a percentage with the precision its
// threshold needs: complaint rates are read in hundredths of a percent,
// so a rate below 1% has three decimals (0.034%), others two (2.50%).
func formatRate(f float64) string {
	if f < 0.01 {
		return strconv.FormatFloat(f*100, 'f', 3, 64) + "%"
	}
	return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
}

// bucketLabel names a bucket in full, for the table and the bar's title.
func bucketLabel(start time.Time, hourly bool) string {
	if hourly {
		return start.UTC().Format("Mon 2 Jan 15:04")
	}
	return start.UTC().Format("Mon 2 Jan")
}

// bucketTick is the text under bucket i of n on the chart's axis: every
// third hour, every day of a week, every fifth day of a month, counted
// back from the last bucket (the current one) so that it has a label.
// Minor ticks (every other one of the hours and of a week's days) are left
// out on a phone's width, where they would overlap.
func bucketTick(start time.Time, i, n int, hourly bool) (tick string, minor bool) {
	back := n - 1 - i
	switch {
	case hourly:
		if back%3 != 0 {
			return "", false
		}
		return start.UTC().Format("15:04"), back%6 != 0
	case n <= 7:
		return start.UTC().Format("2 Jan"), back%2 != 0
	case back%5 != 0:
		return "", false
	}
	return start.UTC().Format("2 Jan"), false
}
