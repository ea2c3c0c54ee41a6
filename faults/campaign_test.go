package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

// The campaign scenario (issue 14): a campaign to every contact, throttled
// so that its fan-out lasts a minute or so, while the worker is killed
// twice and Redis flushed once. Every contact must get its email once
// (within delivery's outcome window after each kill), none more than one
// message row, and the campaign must end sent.

// campaignContacts is how many contacts the campaign scenario mails:
// FAULTS_CAMPAIGN_CONTACTS, else 5,000.
func campaignContacts(e *env) int {
	return envInt(e.t, "FAULTS_CAMPAIGN_CONTACTS", 5000)
}

// campaignThrottle spreads the fan-out over about a minute.
func campaignThrottle(n int) int { return max(60, n) }

// beginCampaign creates n contacts on plan pro and a campaign to them,
// scheduled for now, and starts a worker.
func (e *env) beginCampaign(n int) (int64, time.Time) {
	e.t.Helper()
	ctx := context.Background()
	i := 0
	_, err := e.pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"email", "first_name", "attributes"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{smtpsink.Address(smtpsink.TagNone, fmt.Sprintf("k%d", i), mailDomain), "Ada", map[string]any{"plan": "pro"}}, nil
		}))
	require.NoError(e.t, err, "copy contacts")
	var id int64
	err = e.pool.QueryRow(ctx, `INSERT INTO campaigns (name, template, topic, filter, status, send_at, starts_at, throttle_per_minute)
		VALUES ('faults', $1, 'product', '{"traits.plan": "pro"}', 'scheduled', now(), now(), $2) RETURNING id`,
		template, campaignThrottle(n)).Scan(&id)
	require.NoError(e.t, err, "create campaign")
	start := time.Now()
	e.startWorker()
	return id, start
}

// campaignTotals is what the database says of the campaign.
type campaignTotals struct {
	status             string
	audience, messages int
	repeated           int // contacts with more than one message
}

func (e *env) campaignTotals(ctx context.Context, id int64) (campaignTotals, error) {
	var t campaignTotals
	err := e.pool.QueryRow(ctx, `SELECT status, (SELECT coalesce(sum(audience), 0) FROM campaign_lanes WHERE campaign_id = $1),
			(SELECT count(*) FROM messages WHERE campaign_id = $1),
			(SELECT count(*) FROM (SELECT 1 FROM messages WHERE campaign_id = $1 GROUP BY contact_id HAVING count(*) > 1) r)
		FROM campaigns WHERE id = $1`, id).Scan(&t.status, &t.audience, &t.messages, &t.repeated)
	return t, err
}

// campaignFaults kills the worker twice and flushes Redis once during the
// fan-out.
func campaignFaults(e *env, _ string) *Row {
	row := &Row{}
	n := campaignContacts(e)
	id, start := e.beginCampaign(n)
	for i, at := range [][2]float64{{0.1, 0.3}, {0.4, 0.55}, {0.65, 0.85}} {
		point := e.randomPoint(n, at[0], at[1])
		e.waitAccepted(point, 3*time.Minute)
		if i == 1 {
			require.NoError(e.t, e.rdb.FlushAll(context.Background()).Err(), "FLUSHALL")
			row.note("FLUSHALL at %d accepted", e.sink.Stats().Accepted)
			continue
		}
		e.worker.kill()
		row.note("kill -9 at %d accepted", e.sink.Stats().Accepted)
		e.startWorker()
	}
	finished := e.waitCampaignSent(id, start.Add(e.s.deadline))
	tl := e.stopAndCountAll(start, finished)
	ctx := context.Background()
	t, err := e.campaignTotals(ctx, id)
	require.NoError(e.t, err, "campaign totals")

	out := sendRow("", "", "", tl)
	lost := tl.lost + max(0, n-t.messages)
	out.Emails, out.Lost = num(n), num(lost)
	allowed := 2 * outcomeWindow(e)
	out.Notes = append(out.Notes, row.Notes...)
	out.note("campaign %s, audience %s, %s messages, %d contacts with two; throttle %d a minute; duplicate emails allowed: %s (2 kills × delivery's outcome window)",
		t.status, num(t.audience), num(t.messages), t.repeated, campaignThrottle(n), num(allowed))
	checkCampaign(out, t, n, lost, tl.dupInside+tl.dupOther, allowed)
	return out
}

// checkCampaign fails out for the first promise a campaign to n contacts
// broke: sent, to the whole audience, one message each, nothing lost, at
// most allowed duplicates. It reports whether every promise held.
func checkCampaign(out *Row, t campaignTotals, n, lost, dups, allowed int) bool {
	switch {
	case t.status != "sent":
		out.fail("the campaign is %s, not sent", t.status)
	case t.audience != n:
		out.fail("audience %d of %d contacts", t.audience, n)
	case t.repeated > 0 || t.messages > n:
		out.fail("%d messages for %d contacts", t.messages, n)
	case lost > 0:
		out.fail("lost: %d emails", lost)
	case dups > allowed && allowed == 0:
		out.fail("%d duplicate emails", dups)
	case dups > allowed:
		out.fail("%d duplicate emails, more than %d", dups, allowed)
	default:
		return true
	}
	return false
}

// waitCampaignSent waits until campaign id is sent and every message is
// final, or until deadline, and returns when it stopped waiting.
func (e *env) waitCampaignSent(id int64, deadline time.Time) time.Time {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t, err := e.campaignTotals(ctx, id)
		var open int
		if err == nil {
			err = e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status NOT IN ('sent', 'bounced', 'skipped', 'failed')`).Scan(&open)
		}
		cancel()
		now := time.Now()
		if (err == nil && t.status == "sent" && open == 0) || now.After(deadline) {
			return now
		}
		time.Sleep(250 * time.Millisecond)
	}
}
