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

// What research records wakes the enrollments waiting on traits: the
// contact's own, and, when the company's research is new, those of the
// company's other contacts; the same research again wakes no one else.
func TestRecordEnrichmentWakesWaitingEnrollments(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	at := time.Now()
	var ids []int64
	for _, e := range []string{"ada@initech.de", "bob@initech.de", "carol@initech.de"} {
		c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: e, Title: "VP Sales"})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	companyID, err := db.CompanyForDomain(ctx, ids[0], "initech.de")
	require.NoError(t, err)
	for _, id := range ids[1:] {
		_, err := db.CompanyForDomain(ctx, id, "initech.de")
		require.NoError(t, err)
	}
	// Ada and Bob have an enrollment waiting on their traits; Carol not.
	for i, id := range ids[:2] {
		_, err := db.Pool().Exec(ctx, `INSERT INTO enrollment_wakes (enrollment_id, contact_id, key) VALUES ($1, $2, $3)`,
			100+i, id, nurture.WakeTraits)
		require.NoError(t, err)
	}
	signalled := func() map[int64]int {
		rows, err := db.Pool().Query(ctx, `SELECT contact_id, count(*) FROM sequence_signals WHERE kind = 'traits' GROUP BY 1`)
		require.NoError(t, err)
		out := map[int64]int{}
		var id int64
		var n int
		for rows.Next() {
			require.NoError(t, rows.Scan(&id, &n))
			out[id] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	record := func(id int64) {
		t.Helper()
		e, err := db.Enrichment(ctx, id)
		require.NoError(t, err)
		ok, err := db.RecordEnrichment(ctx, &nurture.EnrichmentOutcome{ContactID: id, Revision: e.Revision, Status: nurture.EnrichmentOK,
			Domain: "initech.de", CompanyID: companyID, At: at,
			ContactFields: []nurture.EnrichedField{{Field: "seniority", Value: "VP", Source: `title "VP Sales"`, Method: "classifier:title", At: at}},
			CompanyFields: []nurture.EnrichedField{{Field: "industry", Value: "Software", Source: "https://initech.de/", Method: "classifier:industry", At: at}}})
		require.NoError(t, err)
		require.True(t, ok)
	}
	record(ids[2])
	require.Equal(t, map[int64]int{ids[0]: 1, ids[1]: 1}, signalled(), "Carol waits on nothing; the company's new research wakes Ada and Bob")
	record(ids[0])
	require.Equal(t, map[int64]int{ids[0]: 2, ids[1]: 1}, signalled(), "the same research again wakes only its own contact")
}

// A group call changes what company.* reads for its caller: it wakes the
// caller's enrollments waiting on traits, as an identify call does.
func TestGroupCallWakesTheCallersWaitingEnrollment(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@initech.de"})
	require.NoError(t, err)
	_, err = db.Pool().Exec(ctx, `INSERT INTO enrollment_wakes (enrollment_id, contact_id, key) VALUES (7, $1, $2)`, c.ID, nurture.WakeTraits)
	require.NoError(t, err)
	_, err = db.Ingest(ctx, []nurture.Call{group("g1", "u1", "acct-1", nurture.Company{Industry: "Software"})}, readTraits, t0)
	require.NoError(t, err)
	var n int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM sequence_signals WHERE contact_id = $1 AND kind = 'traits'`, c.ID).Scan(&n))
	require.Equal(t, 1, n)
}

// A request put off while its task was being queued (the job ran at once,
// found its domain being researched by another, and deferred itself before
// the poller marked the task queued) is not marked queued: it comes due
// again when it said, not a grace period later.
func TestADeferredEnrichmentIsNotMarkedQueued(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ada, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "ada", Email: "ada@initech.de"})
	require.NoError(t, err)
	now := time.Now()
	due, err := db.DueEnrichments(ctx, now.Add(time.Second), now.Add(-time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)

	require.NoError(t, db.DeferEnrichment(ctx, ada.ID, due[0].Revision, now.Add(5*time.Second)))
	require.NoError(t, db.MarkEnrichmentsQueued(ctx, []int64{ada.ID}, now.Add(time.Second)))
	again, err := db.DueEnrichments(ctx, now.Add(6*time.Second), now.Add(-time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, again, 1, "due again 5 s later, not held as queued")
}
