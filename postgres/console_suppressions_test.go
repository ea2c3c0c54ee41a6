package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestSuppressionListPagesNewestFirstWithoutRepeats(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	// Seven suppressions, three of them at the same instant: the pages
	// must neither repeat nor skip one of those.
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 7 {
		at := base.Add(time.Duration(min(i, 4)) * time.Hour)
		_, err := db.Pool().Exec(ctx, `INSERT INTO suppressions (email_hash, email, reason, detail, created_at) VALUES ($1, $2, 'manual', '', $3)`,
			nurture.EmailHash(fmt.Sprintf("p%d@example.com", i)), fmt.Sprintf("p%d@example.com", i), at)
		require.NoError(t, err)
	}
	var seen []string
	var at time.Time
	var hash []byte
	for range 4 {
		page, err := db.SuppressionList(ctx, at, hash, 3)
		require.NoError(t, err)
		for _, s := range page {
			seen = append(seen, s.Email)
		}
		if len(page) < 3 {
			break
		}
		at, hash = page[len(page)-1].Since, page[len(page)-1].EmailHash
	}
	require.Len(t, seen, 7, "every suppression once: %v", seen)
	require.ElementsMatch(t, []string{"p0@example.com", "p1@example.com", "p2@example.com", "p3@example.com",
		"p4@example.com", "p5@example.com", "p6@example.com"}, seen)
	require.Equal(t, "p3@example.com", seen[3], "newest first")
	require.Equal(t, "p0@example.com", seen[6], "the oldest last")
}

func TestSuppressionByHash(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	require.NoError(t, db.Suppress(ctx, "Ada@Example.com", nurture.SuppressComplaint, "complaint from ses"))

	s, err := db.SuppressionByHash(ctx, nurture.EmailHash("ada@example.com"))
	require.NoError(t, err)
	require.Equal(t, "Ada@Example.com", s.Email)
	require.Equal(t, nurture.SuppressComplaint, s.Reason)
	require.Equal(t, "complaint from ses", s.Detail)

	_, err = db.SuppressionByHash(ctx, nurture.EmailHash("bob@example.com"))
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

// Removing a suppression lets the address be mailed again, and nothing
// suppresses it again by itself: its soft bounce count restarts, and
// the reason kept from an erasure is dropped. A complaint's opt-outs stay.
func TestRemoveSuppressionLetsTheAddressBeMailedAgain(t *testing.T) {
	t.Parallel()
	db, ada, _ := world(t) // ada: hard bounced, one soft bounce, opted out of marketing
	ctx := context.Background()
	hash := nurture.EmailHash(ada.email)

	removed, err := db.RemoveSuppression(ctx, hash)
	require.NoError(t, err)
	require.Equal(t, ada.email, removed.Email)
	require.Equal(t, nurture.SuppressHardBounce, removed.Reason)
	_, suppressed, err := db.Suppressed(ctx, ada.email)
	require.NoError(t, err)
	require.False(t, suppressed)

	// One soft bounce under a limit of two does not suppress it: the count
	// started again.
	n, err := db.RecordBounces(ctx, []nurture.Bounce{{Type: nurture.BounceSoft, Email: ada.email, Provider: "ses", EventID: "s1"}}, 2)
	require.NoError(t, err)
	require.Zero(t, n, "the soft bounce count restarted")
	_, suppressed, err = db.Suppressed(ctx, ada.email)
	require.NoError(t, err)
	require.False(t, suppressed)

	var bounces int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM bounces WHERE email_hash = $1`, hash).Scan(&bounces))
	require.Equal(t, 2, bounces, "the bounces stay as history")
	optOuts, err := db.ContactOptOuts(ctx, ada.id)
	require.NoError(t, err)
	require.Len(t, optOuts, 1, "the person's opt-outs stay")

	_, err = db.RemoveSuppression(ctx, hash)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err), "removed once")
}

func TestRemoveSuppressionDropsTheReasonKeptFromAnErasure(t *testing.T) {
	t.Parallel()
	db, ada, _ := world(t) // ada is hard bounced
	ctx := context.Background()
	require.NoError(t, db.EraseContact(ctx, ada.id, nurture.ErasedBy{}))

	// Back: held, and suppressed again as before the erasure.
	back, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: ada.email})
	require.NoError(t, err)
	_, suppressed, err := db.Suppressed(ctx, ada.email)
	require.NoError(t, err)
	require.True(t, suppressed)

	_, err = db.RemoveSuppression(ctx, nurture.EmailHash(ada.email))
	require.NoError(t, err)
	// Erased and back once more: held again (consent), not suppressed.
	require.NoError(t, db.EraseContact(ctx, back.ID, nurture.ErasedBy{}))
	again, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: ada.email})
	require.NoError(t, err)
	require.False(t, again.HeldSince.IsZero(), "the hold is a matter of consent and stays")
	_, suppressed, err = db.Suppressed(ctx, ada.email)
	require.NoError(t, err)
	require.False(t, suppressed, "the removed suppression does not come back")
}
