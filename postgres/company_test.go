package postgres_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func group(msgID, userID, groupID string, co nurture.Company) nurture.Call {
	return nurture.Call{Type: nurture.EventGroup, MessageID: msgID, UserID: userID, GroupID: groupID, Name: groupID,
		Company: &co, Properties: map[string]any{}, Timestamp: t0}
}

// Batches from several users of one new company, at once: one company,
// every user linked, every batch's trait kept.
func TestIngestConcurrentGroupCallsForTheSameNewCompany(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			_, err := db.Ingest(ctx, []nurture.Call{group(fmt.Sprintf("g%d", i), fmt.Sprintf("u%d", i), "acme",
				nurture.Company{Name: "Acme", Domain: "acme.example", Traits: map[string]any{fmt.Sprintf("t%d", i): true}})},
				readTraits, t0)
			errs <- err
		}()
	}
	for range 6 {
		require.NoError(t, <-errs)
	}
	var companies int64
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM companies`).Scan(&companies))
	require.EqualValues(t, 1, companies)
	c, err := db.ContactByExternalID(ctx, "u0")
	require.NoError(t, err)
	co, err := db.Company(ctx, c.CompanyID)
	require.NoError(t, err)
	require.Equal(t, "acme.example", co.Domain)
	require.Len(t, co.Traits, 6)
	members, total, err := db.CompanyContacts(ctx, co.ID, 100)
	require.NoError(t, err)
	require.Equal(t, 6, total)
	require.Len(t, members, 6)
}

// A company not found says so with its code, which the API turns into a 404.
func TestCompanyNotFound(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	_, err := db.Company(ctx, 42)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}
