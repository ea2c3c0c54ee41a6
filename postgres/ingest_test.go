package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// identify is an identify call as the API builds it: the traits as the
// profile, and kept as the event's properties.
func identify(msgID, userID, anonID string, at time.Time, profile nurture.Contact) nurture.Call {
	traits := map[string]any{}
	if profile.Email != "" {
		traits["email"] = profile.Email
	}
	for _, f := range nurture.ProfileFields {
		if v := *f.Get(&profile); v != "" {
			traits[f.Name] = v
		}
	}
	return nurture.Call{Type: nurture.EventIdentify, MessageID: msgID, UserID: userID, AnonymousID: anonID,
		Profile: &profile, Properties: traits, Timestamp: at}
}

// readTraits reads traits as identify spells them here: the email and the
// profile fields by their own names. The API's reader knows more spellings.
func readTraits(traits map[string]any) (*nurture.Contact, error) {
	c := &nurture.Contact{Attributes: map[string]any{}}
	for k, v := range traits {
		s, _ := v.(string)
		if k == "email" {
			c.Email = s
			continue
		}
		i := slices.IndexFunc(nurture.ProfileFields, func(f nurture.ProfileField) bool { return f.Name == k })
		if i < 0 {
			c.Attributes[k] = v
			continue
		}
		*nurture.ProfileFields[i].Get(c) = s
	}
	return c, nil
}

func track(msgID, userID, anonID, event string, at time.Time) nurture.Call {
	return nurture.Call{Type: nurture.EventTrack, MessageID: msgID, UserID: userID, AnonymousID: anonID, Name: event, Timestamp: at}
}

func page(msgID, userID, anonID string, at time.Time) nurture.Call {
	return nurture.Call{Type: nurture.EventPage, MessageID: msgID, UserID: userID, AnonymousID: anonID, Name: "Pricing", Timestamp: at}
}

func ingest(t *testing.T, db *postgres.DB, calls ...nurture.Call) *nurture.IngestResult {
	t.Helper()
	res, err := db.Ingest(context.Background(), calls, readTraits, t0.Add(time.Hour))
	require.NoError(t, err)
	return res
}

func TestIngestAnonymousHistoryJoinsTheContact(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db,
		page("p1", "", "anon-1", t0),
		page("p2", "", "anon-1", t0.Add(time.Minute)),
		identify("i0", "", "anon-1", t0.Add(2*time.Minute), nurture.Contact{Company: "Acme"}),
	)
	var contacts int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&contacts))
	require.Zero(t, contacts, "an anonymous visitor is not a contact yet")

	res := ingest(t, db, identify("i1", "u1", "anon-1", t0.Add(3*time.Minute), nurture.Contact{Email: "ada@example.com", FirstName: "Ada"}),
		page("p3", "", "anon-1", t0.Add(4*time.Minute)))
	require.Equal(t, 2, res.Stored)

	c, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, "Acme", c.Company, "traits of the anonymous identify fill the profile")
	require.Equal(t, "Ada", c.FirstName)
	var owned int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE contact_id = $1`, c.ID).Scan(&owned))
	require.Equal(t, 5, owned, "all history, before and after, belongs to the contact")
	e, err := db.Engagement(ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 3, e.PageViews)
	require.Equal(t, t0, e.FirstSeen.UTC())
	require.Equal(t, t0.Add(4*time.Minute), e.LastSeen.UTC())
}

func TestIngestReplayChangesNothing(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.WatchSequences(postgres.SequenceTriggers{Events: []string{nurture.EventKey(nurture.EventSignedUp)}})
	batch := []nurture.Call{
		identify("i1", "u1", "", t0, nurture.Contact{Email: "ada@example.com"}),
		track("t1", "u1", "", nurture.EventSignedUp, t0),
		track("t2", "u1", "", "Project Created", t0),
		track("t2", "u1", "", "Project Created", t0), // repeated inside the batch too
	}
	first := ingest(t, db, batch...)
	require.Equal(t, 3, first.Stored)
	var messages int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&messages))
	require.Zero(t, messages, "the sequence engine sends the welcome, not ingestion")
	signals := func() int {
		var n int
		require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM sequence_signals`).Scan(&n))
		return n
	}
	require.Equal(t, 1, signals(), "signed_up starts a sequence: one signal")

	again := ingest(t, db, batch...)
	require.Zero(t, again.Stored)
	require.Equal(t, 4, again.Duplicates)
	require.Equal(t, 1, signals(), "a replay signals nothing")

	c, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	e, err := db.Engagement(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"Project Created": 1, nurture.EventSignedUp: 1}, e.Actions)
}

func TestIngestNewerTraitsWinFieldByField(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db, identify("i2", "u1", "", t0.Add(time.Hour), nurture.Contact{Company: "NewCo", Role: "CTO"}))
	// An older call arrives late: it may fill what is empty, not overwrite.
	ingest(t, db, identify("i1", "u1", "", t0, nurture.Contact{Company: "OldCo", Title: "Engineer"}))
	c, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, "NewCo", c.Company)
	require.Equal(t, "CTO", c.Role)
	require.Equal(t, "Engineer", c.Title)
}

func TestIngestNeverMergesTwoUsers(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db, identify("i1", "u1", "", t0, nurture.Contact{Email: "shared@example.com"}))
	res := ingest(t, db, identify("i2", "u2", "", t0.Add(time.Minute), nurture.Contact{Email: "shared@example.com", FirstName: "Eve"}))
	require.Len(t, res.Warnings, 1)
	require.Equal(t, "traits.email", res.Warnings[0].Field)
	require.Equal(t, "i2", res.Warnings[0].MessageID)

	u1, err := db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)
	u2, err := db.ContactByExternalID(ctx, "u2")
	require.NoError(t, err)
	require.NotEqual(t, u1.ID, u2.ID)
	require.Equal(t, "shared@example.com", u1.Email)
	require.Empty(t, u2.Email)
	require.Equal(t, "Eve", u2.FirstName, "the rest of the call is applied")
}

func TestIngestEmailChangeIsTracked(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db, identify("i1", "u1", "", t0, nurture.Contact{Email: "old@example.com"}))
	ingest(t, db, identify("i2", "u1", "", t0.Add(time.Minute), nurture.Contact{Email: "new@example.com"}))
	var oldAddr, newAddr string
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT old_email, new_email FROM contact_email_changes`).Scan(&oldAddr, &newAddr))
	require.Equal(t, "old@example.com", oldAddr)
	require.Equal(t, "new@example.com", newAddr)

	// The old address is free for someone else now.
	res := ingest(t, db, identify("i3", "u2", "", t0.Add(2*time.Minute), nurture.Contact{Email: "old@example.com"}))
	require.Empty(t, res.Warnings)
}

func TestIngestAlias(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	ingest(t, db, page("p1", "", "anon-9", t0))
	ingest(t, db, nurture.Call{Type: nurture.EventAlias, MessageID: "a1", PreviousID: "anon-9", UserID: "u9", Timestamp: t0.Add(time.Minute)})
	c, err := db.ContactByExternalID(ctx, "u9")
	require.NoError(t, err)
	e, err := db.Engagement(ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, e.PageViews)

	// A known user renamed keeps their contact.
	ingest(t, db, nurture.Call{Type: nurture.EventAlias, MessageID: "a2", PreviousID: "u9", UserID: "u9-new", Timestamp: t0.Add(2 * time.Minute)})
	renamed, err := db.ContactByExternalID(ctx, "u9-new")
	require.NoError(t, err)
	require.Equal(t, c.ID, renamed.ID)

	// Two existing users are not merged by an alias.
	ingest(t, db, identify("i1", "other", "", t0, nurture.Contact{}))
	res := ingest(t, db, nurture.Call{Type: nurture.EventAlias, MessageID: "a3", PreviousID: "other", UserID: "u9-new", Timestamp: t0.Add(3 * time.Minute)})
	require.Len(t, res.Warnings, 1)
}

func TestIngestConcurrentBatchesForTheSameNewUser(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			_, err := db.Ingest(ctx, []nurture.Call{
				identify("i"+string(rune('a'+i)), "same", "", t0, nurture.Contact{Email: "same@example.com"}),
				track("t"+string(rune('a'+i)), "same", "", "Clicked", t0),
			}, readTraits, t0)
			errs <- err
		}()
	}
	for range 6 {
		require.NoError(t, <-errs)
	}
	var contacts int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&contacts))
	require.Equal(t, 1, contacts)
	c, err := db.ContactByExternalID(ctx, "same")
	require.NoError(t, err)
	e, err := db.Engagement(ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 6, e.Actions["Clicked"])
}
