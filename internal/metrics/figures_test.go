package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/metrics"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// execSQL runs SQL statements on the test's schema.
func execSQL(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// seed writes two contacts, their messages and enrollments, a sending
// campaign with its lanes and a draft one.
func seed(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	execSQL(t, pool, `INSERT INTO contacts (id) OVERRIDING SYSTEM VALUE VALUES (1), (2)`)
	execSQL(t, pool, `INSERT INTO campaigns (id, name, template, topic, filter, status, send_at) OVERRIDING SYSTEM VALUE VALUES
		(10, 'December news', 'newsletter', 'marketing', '{}', 'sending', now()),
		(11, 'Draft', 'newsletter', 'marketing', '{}', 'draft', now())`)
	execSQL(t, pool, `INSERT INTO campaign_lanes (campaign_id, lane, audience) VALUES (10, 0, 3), (10, 1, 2)`)
	execSQL(t, pool, `INSERT INTO messages (dedupe_key, contact_id, template, topic, status, send_at, enqueued_at, campaign_id) VALUES
		('welcome:1', 1, 'welcome', 'onboarding', 'sent', now() - interval '2 hours', now() - interval '2 hours', NULL),
		('welcome:2', 2, 'welcome', 'onboarding', 'sent', now() - interval '2 hours', now() - interval '2 hours', NULL),
		('camp:10:1', 1, 'newsletter', 'marketing', 'sent', now() - interval '1 hour', now() - interval '1 hour', 10),
		('camp:10:2', 2, 'newsletter', 'marketing', 'bounced', now() - interval '1 hour', now() - interval '1 hour', 10),
		-- due 90 s ago and never queued: the reconciler's lag
		('seq:1:nudge', 1, 'nudge', 'onboarding', 'queued', now() - interval '90 seconds', NULL, NULL),
		-- due long ago but queued: the queue has it, no lag
		('seq:2:nudge', 2, 'nudge', 'onboarding', 'deferred', now() - interval '1 hour', now() - interval '1 minute', NULL),
		-- not due yet
		('seq:2:later', 2, 'later', 'onboarding', 'queued', now() + interval '1 hour', NULL, NULL)`)
	execSQL(t, pool, `INSERT INTO enrollments (contact_id, sequence_id, version, topic, state, started_at, status, next_run) VALUES
		(1, 'onboarding', 'v1', 'onboarding', '{}', now(), 'active', now() + interval '1 day'),
		(2, 'onboarding', 'v1', 'onboarding', '{}', now(), 'active', now() + interval '1 day'),
		(2, 'trial', 'v1', 'onboarding', '{}', now(), 'completed', NULL)`)
}

// The figures collector reports what PostgreSQL holds: messages not yet
// final by status and topic (the sent, bounced and skipped are not counted
// there), enrollments and campaigns by status, the sending campaigns'
// progress, and the age of the oldest due message never queued.
func TestFiguresFromPostgres(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t)
	seed(t, pool)
	reg := metrics.New()
	reg.WatchFigures(metrics.FiguresConfig{Read: postgres.New(pool).Figures})

	err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(`
# HELP nurture_messages_pending Messages not yet final (queued, deferred, sending) by status and topic: the backlog in PostgreSQL.
# TYPE nurture_messages_pending gauge
nurture_messages_pending{status="deferred",topic="onboarding"} 1
nurture_messages_pending{status="queued",topic="onboarding"} 2
# HELP nurture_enrollments Sequence enrollments by status.
# TYPE nurture_enrollments gauge
nurture_enrollments{status="active"} 2
nurture_enrollments{status="completed"} 1
# HELP nurture_campaigns Campaigns by status.
# TYPE nurture_campaigns gauge
nurture_campaigns{status="draft"} 1
nurture_campaigns{status="sending"} 1
# HELP nurture_campaign_audience_contacts Contacts frozen so far into the audience of each campaign that is sending.
# TYPE nurture_campaign_audience_contacts gauge
nurture_campaign_audience_contacts{campaign="10"} 5
# HELP nurture_campaign_sent_messages Emails sent so far by each campaign that is sending.
# TYPE nurture_campaign_sent_messages gauge
nurture_campaign_sent_messages{campaign="10"} 1
# HELP nurture_figures_up 1 when the figures above could be read from PostgreSQL at this scrape (or within the cache's time), 0 when not.
# TYPE nurture_figures_up gauge
nurture_figures_up 1
`), "nurture_messages_pending", "nurture_enrollments", "nurture_campaigns", "nurture_campaign_audience_contacts",
		"nurture_campaign_sent_messages", "nurture_figures_up")
	require.NoError(t, err)

	lag := gauge(t, reg, "nurture_reconciler_lag_seconds")
	require.GreaterOrEqual(t, lag, 90.0, "the message due 90 s ago and never queued")
	require.Less(t, lag, 90.0+60, "not the one due an hour ago, which is queued")
}

// With nothing due, the lag is 0, not absent: an alert on it stays quiet
// rather than undefined.
func TestFiguresOfAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	reg := metrics.New()
	reg.WatchFigures(metrics.FiguresConfig{Read: postgres.New(testkit.DB(t)).Figures})
	require.Zero(t, gauge(t, reg, "nurture_reconciler_lag_seconds"))
	require.InDelta(t, 1.0, gauge(t, reg, "nurture_figures_up"), 0)
	n, err := testutil.GatherAndCount(reg.Gatherer(), "nurture_messages_pending", "nurture_campaign_audience_contacts")
	require.NoError(t, err)
	require.Zero(t, n)
}

// Scrapes within the TTL reuse the figures read: the database is asked
// once however often Prometheus (or several of them) scrapes.
func TestFiguresAreCached(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	reads := 0
	read := func(context.Context) (*nurture.Figures, error) {
		reads++
		return &nurture.Figures{Enrollments: map[nurture.EnrollmentStatus]int64{nurture.EnrollmentActive: int64(reads)}}, nil
	}
	reg := metrics.New()
	reg.WatchFigures(metrics.FiguresConfig{Read: read, TTL: 10 * time.Second, Clock: clock})

	require.InDelta(t, 1.0, gauge(t, reg, "nurture_enrollments"), 0)
	clock.Advance(9 * time.Second)
	require.InDelta(t, 1.0, gauge(t, reg, "nurture_enrollments"), 0, "within the TTL")
	require.Equal(t, 1, reads)
	clock.Advance(time.Second)
	require.InDelta(t, 2.0, gauge(t, reg, "nurture_enrollments"), 0, "read again after the TTL")
}

// A database that fails or is too slow costs the scrape no more than the
// timeout and says so in nurture_figures_up 0, without stale figures.
func TestFiguresUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		read metrics.FiguresFunc
	}{
		{"failing", func(context.Context) (*nurture.Figures, error) { return nil, errors.New("connection refused") }},
		{"hanging", func(ctx context.Context) (*nurture.Figures, error) { <-ctx.Done(); return nil, ctx.Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := metrics.New()
			reg.WatchFigures(metrics.FiguresConfig{Read: tc.read, Timeout: 50 * time.Millisecond, Logger: discard()})
			require.Zero(t, gauge(t, reg, "nurture_figures_up"))
			n, err := testutil.GatherAndCount(reg.Gatherer(), "nurture_messages_pending", "nurture_reconciler_lag_seconds")
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}
