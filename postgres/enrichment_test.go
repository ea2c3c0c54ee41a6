package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Writes to contacts request enrichment by themselves, in their own
// transaction: a new contact with an address, an address at another
// domain, a new job title. Nothing else does, and a deleted contact takes
// its request with it.
func TestContactWritesRequestEnrichment(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	revision := func(id int64) int64 {
		t.Helper()
		e, err := db.Enrichment(ctx, id)
		if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
			return 0
		}
		require.NoError(t, err)
		return e.Revision
	}
	anon, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "anon"})
	require.NoError(t, err)
	require.Zero(t, revision(anon.ID), "no address, nothing to research")

	ada, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "ada", Email: "ada@initech.de", Title: "Engineer"})
	require.NoError(t, err)
	require.EqualValues(t, 1, revision(ada.ID))

	for _, step := range []struct {
		name    string
		change  nurture.Contact
		revised bool
	}{
		{"another name", nurture.Contact{FirstName: "Ada"}, false},
		{"another address at the same domain", nurture.Contact{Email: "ada.l@Initech.de"}, false},
		{"another title", nurture.Contact{Title: "Engineering Manager"}, true},
		{"an address at another domain", nurture.Contact{Email: "ada@globex.fr"}, true},
	} {
		before := revision(ada.ID)
		step.change.ExternalID = "ada"
		_, _, err := db.UpsertContact(ctx, &step.change)
		require.NoError(t, err, step.name)
		if step.revised {
			require.Equal(t, before+1, revision(ada.ID), step.name)
		} else {
			require.Equal(t, before, revision(ada.ID), step.name)
		}
	}

	anon2, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "anon", Email: "anon@umbrella.it"})
	require.NoError(t, err)
	require.Equal(t, anon.ID, anon2.ID)
	require.EqualValues(t, 1, revision(anon.ID), "an address given later requests it")

	e, err := db.RequestEnrichment(ctx, anon.ID, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 2, e.Revision, "asked by hand")

	_, err = db.Pool().Exec(ctx, `DELETE FROM contacts WHERE id = $1`, anon.ID)
	require.NoError(t, err)
	require.Zero(t, revision(anon.ID), "gone with its contact")
}
