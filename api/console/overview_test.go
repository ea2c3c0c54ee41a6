package console_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// seedOverview gives the store a known history, relative to the harness's
// clock (Mon 2 Mar 2026 12:00 UTC):
//   - today 11:00: 1,000 emails sent, 10 of them since marked bounced;
//     8 hard and 2 soft bounces and 2 complaints reported at 11:30;
//     4 human opens of 3 emails at 10:xx (one of them opened twice), one
//     of them clicked at 10:50, and a machine open and a scanner's click of
//     a fourth; one person unsubscribed at 09:15 (from two topics).
//   - Sun 1 Mar 12:59 (just outside the last 24 hours): 1 email sent.
//   - Fri 27 Feb: 499 sent, 40 hard bounces and 3 complaints reported.
//   - Tue 10 Feb (within 30 days, not 7): 8,500 sent.
//   - 31 Jan (outside every period): 7 sent, 7 hard bounces.
func seedOverview(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	c, _, err := h.store.UpsertContact(ctx, &nurture.Contact{ExternalID: "ada", Email: "ada@example.com"})
	require.NoError(t, err)
	day := func(d int, hours float64) time.Time {
		return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC).Add(time.Duration(hours * float64(time.Hour)))
	}
	send := func(at time.Time, n, bounced int) []int64 {
		rows, err := h.pool.Query(ctx, `INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, sent_at)
			SELECT $5 || g, $1, 'welcome', $2, CASE WHEN g <= $4 THEN 'bounced' ELSE 'sent' END, $2
			FROM generate_series(1, $3) AS g ORDER BY g RETURNING id`, c.ID, at, n, bounced, fmt.Sprintf("seed:%d:", at.Unix()))
		require.NoError(t, err)
		var ids []int64
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Err())
		return ids
	}
	var bounces []nurture.Bounce
	report := func(typ nurture.BounceType, at time.Time, n int) {
		for range n {
			id := fmt.Sprint("seed-", len(bounces))
			bounces = append(bounces, nurture.Bounce{Email: id + "@example.net", Type: typ, At: at, Provider: "api", EventID: id})
		}
	}

	today := send(day(2, 11), 1000, 10)
	report(nurture.BounceHard, day(2, 11.5), 8)
	report(nurture.BounceSoft, day(2, 11.5), 2)
	report(nurture.BounceComplaint, day(2, 11.5), 2)
	send(day(1, 12.99), 1, 0)
	send(day(-1, 0), 499, 0) // 27 Feb
	report(nurture.BounceHard, day(-1, 3), 40)
	report(nurture.BounceComplaint, day(-1, 4), 3)
	send(day(-18, 0), 8500, 0) // 10 Feb
	send(day(-28, 0), 7, 0)    // 31 Jan
	report(nurture.BounceHard, day(-28, 1), 7)
	_, err = h.store.RecordBounces(ctx, bounces, 100)
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `UPDATE bounces SET received_at = at`) // each reached us when it happened
	require.NoError(t, err)

	hit := func(m int64, kind nurture.HitKind, class nurture.HitClass, at time.Time) nurture.Hit {
		return nurture.Hit{Kind: kind, MessageID: m, ContactID: c.ID, Class: class, At: at}
	}
	require.NoError(t, h.store.RecordHits(ctx, []nurture.Hit{
		hit(today[20], nurture.HitOpen, nurture.ClassHuman, day(2, 10.1)),
		hit(today[20], nurture.HitOpen, nurture.ClassHuman, day(2, 10.2)),
		hit(today[21], nurture.HitOpen, nurture.ClassHuman, day(2, 10.3)),
		hit(today[22], nurture.HitOpen, nurture.ClassHuman, day(2, 10.4)),
		hit(today[22], nurture.HitClick, nurture.ClassHuman, day(2, 10.8)),
		hit(today[23], nurture.HitOpen, nurture.ClassMachine, day(2, 10.1)),
		hit(today[23], nurture.HitClick, nurture.ClassBot, day(2, 10.1)),
	}))
	require.NoError(t, h.store.ChangeConsents(ctx, nurture.ConsentChange{ContactID: c.ID, Source: nurture.ConsentOneClick,
		OptOut: []nurture.Topic{nurture.TopicMarketing, nurture.TopicProduct}}))
	_, err = h.pool.Exec(ctx, `UPDATE consent_records SET at = $1`, day(2, 9.25))
	require.NoError(t, err)
}

// The overview's totals, rates and charts for each period, from a history
// whose every figure is known.
func TestOverviewShowsEachPeriod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedOverview(t, h)
	c := h.signedIn(t)

	type rate struct{ value, verdict string }
	for _, tc := range []struct {
		period          string
		bars            int
		totals          map[string]string
		complaint       rate
		bounce          rate
		bucketsWithSent map[string]string // a bar's title: the bucket's full label and its number
	}{
		{
			period: "24h", bars: 24,
			totals: map[string]string{"sent": "1,000", "delivered": "990", "bounced": "10", "complaints": "2",
				"unsubscribes": "1", "opens": "4", "clicks": "1"},
			complaint:       rate{"0.202%", "At or above the 0.1% target, below the 0.3% limit"},
			bounce:          rate{"1.00%", "Below the 2% target"},
			bucketsWithSent: map[string]string{"Mon 2 Mar 11:00": "1,000", "Mon 2 Mar 10:00": "0", "Sun 1 Mar 13:00": "0"},
		},
		{
			period: "7d", bars: 7,
			totals: map[string]string{"sent": "1,500", "delivered": "1,490", "bounced": "50", "complaints": "5",
				"unsubscribes": "1", "opens": "4", "clicks": "1"},
			complaint:       rate{"0.336%", "At or above the 0.3% limit"},
			bounce:          rate{"3.33%", "At or above the 2% target, below the 5% limit"},
			bucketsWithSent: map[string]string{"Mon 2 Mar": "1,000", "Sun 1 Mar": "1", "Fri 27 Feb": "499", "Tue 24 Feb": "0"},
		},
		{
			period: "30d", bars: 30,
			totals: map[string]string{"sent": "10,000", "delivered": "9,990", "bounced": "50", "complaints": "5",
				"unsubscribes": "1", "opens": "4", "clicks": "1"},
			complaint:       rate{"0.050%", "Below the 0.1% target"},
			bounce:          rate{"0.500%", "Below the 2% target"},
			bucketsWithSent: map[string]string{"Tue 10 Feb": "8,500", "Mon 2 Mar": "1,000", "Sun 1 Feb": "0"},
		},
	} {
		t.Run(tc.period, func(t *testing.T) {
			page, res := h.get(t, c, "/admin/overview?period="+tc.period)
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, page, `aria-current="page">Last `+periodLabel(tc.period)+`</a>`, "the period switch marks the period shown")
			for id, want := range tc.totals {
				sec := section(t, page, id)
				require.Contains(t, sec, ": "+want+"</h3>", "total of %s", id)
				if want == "0" {
					continue
				}
				require.Equal(t, tc.bars, strings.Count(sec, `<rect class="chart-bar"`), "bars of %s", id)
				require.Equal(t, tc.bars, strings.Count(sec, `<th scope="row">`), "table rows of %s", id)
			}
			sent := section(t, page, "sent")
			for label, n := range tc.bucketsWithSent {
				require.Contains(t, sent, "<title>"+label+": "+n+"</title>", "the bar of %s", label)
				require.Contains(t, sent, `<th scope="row">`+label+`</th><td class="num">`+n+`</td>`, "the table row of %s", label)
			}
			rates := ratesOf(t, page)
			require.Equal(t, []string{tc.complaint.value, tc.complaint.verdict, tc.bounce.value, tc.bounce.verdict}, rates)
			for _, r := range []rate{tc.complaint, tc.bounce} {
				over := strings.Contains(r.verdict, "above")
				require.Equal(t, over, strings.Contains(page, `<p class="stat over">`+r.value+`</p>`), "%s shown red", r.value)
			}
		})
	}
}

// The bounced total says how many were hard and soft.
func TestOverviewSplitsBounces(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedOverview(t, h)
	page, _ := h.get(t, h.signedIn(t), "/admin/overview")
	require.Contains(t, page, `<span class="muted">8 hard, 2 soft</span>`)
	page, _ = h.get(t, h.signedIn(t), "/admin/overview?period=7d")
	require.Contains(t, page, `<span class="muted">48 hard, 2 soft</span>`)
}

// With nothing sent, there is no rate to judge and no chart to draw, and
// /admin leads to the overview.
func TestOverviewWithNothingSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	_, res := h.get(t, c, "/admin")
	require.Equal(t, "/admin/overview", res.Header.Get("Location"))
	page, res := h.get(t, c, "/admin/overview")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, `aria-current="page">Last 24 hours</a>`, "24 hours by default")
	require.Equal(t, 2, strings.Count(page, "No rate: nothing was sent in this period."))
	require.Equal(t, 7, strings.Count(page, "None in this period."))
	require.NotContains(t, page, "<svg")
	require.NotContains(t, page, `class="stat over"`)
}

// A period the switch does not offer is refused, naming the field, and the
// page is for signed-in operators only.
func TestOverviewRefusesUnknownPeriodAndStrangers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page, res := h.get(t, h.signedIn(t), "/admin/overview?period=1y")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, page, "period: must be 24h, 7d or 30d, not &#34;1y&#34;")

	_, res = h.get(t, h.client(t), "/admin/overview")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Contains(t, res.Header.Get("Location"), "/admin/sign-in")
}

func periodLabel(key string) string {
	return map[string]string{"24h": "24 hours", "7d": "7 days", "30d": "30 days"}[key]
}

// section is the overview's section about one figure.
func section(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section class="card metric" id="` + id + `">.*?</section>`).FindString(page)
	require.NotEmpty(t, m, "no section %s", id)
	return m
}

var rateParts = regexp.MustCompile(`(?s)<section class="card rate">.*?<p class="stat[^"]*">([^<]*)</p>\s*<p class="verdict (?:over|under)">([^<]*)</p>`)

// ratesOf reads each rate and its verdict, in the page's order.
func ratesOf(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	for _, m := range rateParts.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1], m[2])
	}
	return out
}
