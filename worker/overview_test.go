package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/worker"
)

// A pass counts the overview's 30 days ahead of any view: the settled
// hours are kept with their figures, and emails sent outside the 30 days
// are not counted.
func TestOverviewPassKeepsTheSettledHours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.DB(t)
	store := postgres.New(pool)
	now := time.Date(2026, 12, 6, 12, 30, 0, 0, time.UTC)
	c, _, err := store.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com"})
	require.NoError(t, err)
	for i, sent := range []time.Time{now.AddDate(0, 0, -2), now.AddDate(0, 0, -2), now.AddDate(0, 0, -20), now.AddDate(0, 0, -40)} {
		m, _, err := store.CreateMessage(ctx, nurture.Message{DedupeKey: fmt.Sprint("k", i), ContactID: c.ID, Template: "welcome", SendAt: sent})
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = $2 WHERE id = $1`, m.ID, sent)
		require.NoError(t, err)
	}

	job := &worker.OverviewJob{Store: store, Clock: testkit.NewClock(now)}
	require.NoError(t, job.Pass(ctx))
	var hours, sent int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(sent), 0) FROM activity_hours`).Scan(&hours, &sent))
	require.Greater(t, hours, 29*24, "the settled hours of the 30 days are kept")
	require.Equal(t, 3, sent, "the sends of the 30 days, each once")
}
