package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A request for a copy of one's data by email makes one email an hour:
// within the hour nothing is made and the answer says when the next may
// be asked; an hour later, a new one.
func TestRequestExportOncePerHour(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ask@example.com"})
	require.NoError(t, err)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

	m, next, err := db.RequestExport(ctx, c.ID, at)
	require.NoError(t, err)
	require.Zero(t, next)
	require.Equal(t, nurture.ExportTemplate, m.Template)
	require.Equal(t, "critical", m.Queue)
	require.Equal(t, nurture.StatusQueued, m.Status)
	require.Equal(t, c.ID, m.ContactID)

	for _, later := range []time.Duration{time.Second, 59 * time.Minute} {
		again, next, err := db.RequestExport(ctx, c.ID, at.Add(later))
		require.NoError(t, err)
		require.Nil(t, again, "within the hour")
		require.True(t, next.Equal(at.Add(time.Hour)), "next %s", next)
	}
	m2, next, err := db.RequestExport(ctx, c.ID, at.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, next)
	require.NotEqual(t, m.ID, m2.ID)

	var emails int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, c.ID).Scan(&emails))
	require.Equal(t, 2, emails)
}

// Requests made at once make one email.
func TestRequestExportConcurrentRequestsMakeOneEmail(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "twice@example.com"})
	require.NoError(t, err)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 8 {
		wg.Go(func() {
			m, _, err := db.RequestExport(ctx, c.ID, at.Add(time.Duration(i)*time.Millisecond))
			require.NoError(t, err)
			if m != nil {
				mu.Lock()
				made++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, made)
}

// An unknown contact, or one being erased, is not found, and nothing is
// written.
func TestRequestExportOfNoOne(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "gone@example.com"})
	require.NoError(t, err)
	_, err = db.Pool().Exec(ctx, `UPDATE contacts SET erased_at = now() WHERE id = $1`, c.ID)
	require.NoError(t, err)
	for _, id := range []int64{c.ID, c.ID + 1000} {
		m, _, err := db.RequestExport(ctx, id, time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
		require.Nil(t, m)
		require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err), "%v", err)
	}
	var rows int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM export_requests) + (SELECT count(*) FROM messages)`).Scan(&rows))
	require.Zero(t, rows)
}
