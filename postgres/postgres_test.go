package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

func setup(t *testing.T) (*postgres.DB, context.Context) {
	t.Helper()
	return postgres.New(testkit.DB(t)), context.Background()
}

func TestUpsertContactMergesByExternalIDThenEmail(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)

	c, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@example.com", FirstName: "Ada",
		Attributes: map[string]any{"plan": "trial"}})
	require.NoError(t, err)
	require.True(t, created)

	// Same user, new fields: merged, empty fields keep their value.
	c2, created, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Company: "Acme",
		Attributes: map[string]any{"seats": float64(3)}})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c2.ID)
	require.Equal(t, "Ada", c2.FirstName)
	require.Equal(t, "Acme", c2.Company)
	require.Equal(t, map[string]any{"plan": "trial", "seats": float64(3)}, c2.Attributes)

	// Found by email, whatever its case, and given the external id.
	c3, created, err := db.UpsertContact(ctx, &nurture.Contact{Email: "ADA@example.com", LastName: "Lovelace"})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, c3.ID)
	require.Equal(t, "Lovelace", c3.LastName)
	require.Equal(t, "ADA@example.com", c3.Email, "the newest address is kept")
}

func TestUpsertContactNeverMergesTwoUsers(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "shared@example.com"})
	require.NoError(t, err)

	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	// u2 exists on its own, then claims u1's address: refused as well.
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "u2@example.com"})
	require.NoError(t, err)
	_, _, err = db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "shared@example.com"})
	require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err))

	u1, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, "shared@example.com", u1.Email)
}

func TestUpsertContactConcurrentCreatesOneContact(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ids := make(chan int64, 8)
	for range 8 {
		go func() {
			c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "same", Email: "same@example.com"})
			if err != nil {
				t.Error(err)
				ids <- 0
				return
			}
			ids <- c.ID
		}()
	}
	first := <-ids
	for range 7 {
		require.Equal(t, first, <-ids)
	}
}

func TestSuppression(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, ok, err := db.Suppressed(ctx, "ada@example.com")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.Suppress(ctx, "Ada@Example.com", nurture.SuppressHardBounce, "550 5.1.1"))
	require.NoError(t, db.Suppress(ctx, "ada@example.com", nurture.SuppressComplaint, ""))
	reason, ok, err := db.Suppressed(ctx, "ada@EXAMPLE.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, nurture.SuppressHardBounce, reason, "the first reason is kept")
}

func TestMigrateTwiceConcurrently(t *testing.T) {
	t.Parallel()
	pool := testkit.DB(t) // migrated once already
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- postgres.Migrate(context.Background(), pool, nil) }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
}
