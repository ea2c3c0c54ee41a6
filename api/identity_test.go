package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// at is a time of the morning of the tests, before they are received.
func at(hour, min int) string { return ts(time.Date(2026, 3, 2, hour, min, 0, 0, time.UTC)) }

// Anonymous page views and an anonymous identify, then an identify with the
// userId and the same anonymousId: the history is the contact's, whether it
// came in separate requests or one batch.
func TestAnonymousHistoryJoinsTheContactOnIdentify(t *testing.T) {
	t.Parallel()
	calls := []obj{
		{"type": "page", "anonymousId": "anon-1", "name": "Home", "messageId": "p1", "timestamp": at(11, 0)},
		{"type": "page", "anonymousId": "anon-1", "name": "Pricing", "messageId": "p2", "timestamp": at(11, 1)},
		{"type": "track", "anonymousId": "anon-1", "event": "Demo Requested", "messageId": "t1", "timestamp": at(11, 2)},
		{"type": "identify", "anonymousId": "anon-1", "messageId": "i1", "timestamp": at(11, 3),
			"traits": obj{"name": "Ada Lovelace", "plan": "trial", "teamSize": "11-50"}},
		{"type": "page", "anonymousId": "anon-1", "name": "Sign up", "messageId": "p3", "timestamp": at(11, 4)},
		{"type": "identify", "userId": "u1", "anonymousId": "anon-1", "messageId": "i2", "timestamp": at(11, 5),
			"traits": obj{"email": "ada@example.com"}},
	}
	for _, oneBatch := range []bool{false, true} {
		t.Run(fmt.Sprintf("one batch %v", oneBatch), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if oneBatch {
				requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": calls}))
			} else {
				for _, call := range calls[:5] {
					requireSuccess(t, b.post(t, "/v1/"+call["type"].(string), call))
				}
				require.Equal(t, counts{Events: 5}, b.counts(t), "an anonymous visitor is no contact yet")
				requireSuccess(t, b.post(t, "/v1/identify", calls[5]))
			}

			c := b.contactByUser(t, "u1")
			require.Equal(t, counts{Contacts: 1, Events: 6, AnonymousIDs: 1, Engagement: 1}, b.counts(t))
			for _, id := range []string{"p1", "p2", "t1", "i1", "p3", "i2"} {
				ev := b.event(t, id)
				require.NotNil(t, ev.ContactID, id)
				require.Equal(t, c.ID, *ev.ContactID, id)
			}
			require.Equal(t, "Ada", c.FirstName, "traits of the anonymous identify fill the profile"+map[bool]string{true: " (BUG, root ingest.go, IngestPlan.link: it merges the traits of anonymous identify calls stored before, " +
				"not of those earlier in the same batch)"}[oneBatch])
			require.Equal(t, "Lovelace", c.LastName)
			require.Equal(t, "11-50", c.TeamSize)
			require.Equal(t, "trial", c.Attributes["plan"])
			require.Equal(t, "ada@example.com", *c.Email)

			got := b.getContact(t, c.ID)
			require.EqualValues(t, 3, got.Engagement.PageViews)
			require.Equal(t, map[string]int64{"Demo Requested": 1}, got.Engagement.Actions)
			require.Equal(t, at(11, 0), ts(*got.Engagement.FirstSeen))
			require.Equal(t, at(11, 5), ts(*got.Engagement.LastSeen))

			// Later anonymous calls of the id count for the contact at once.
			requireSuccess(t, b.post(t, "/v1/page", obj{"anonymousId": "anon-1", "name": "Docs", "messageId": "p4", "timestamp": at(11, 6)}))
			require.Equal(t, c.ID, *b.event(t, "p4").ContactID)
			require.EqualValues(t, 4, b.getContact(t, c.ID).Engagement.PageViews)
		})
	}
}

// A visitor who left an address anonymously (a newsletter form) and signs up
// later with an identify that carries the same anonymousId but no email is
// one person: one contact, with the address and the history.
func TestAnonymousEmailThenSignUpIsOneContact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/page", obj{"anonymousId": "anon-2", "name": "Blog", "messageId": "p1", "timestamp": at(10, 0)}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"anonymousId": "anon-2", "messageId": "i1", "timestamp": at(10, 1),
		"traits": obj{"email": "grace@example.com", "name": "Grace Hopper"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u2", "anonymousId": "anon-2", "messageId": "i2", "timestamp": at(10, 5),
		"traits": obj{"plan": "pro"}}))

	require.Equal(t, 1, b.counts(t).Contacts,
		"BUG (root ingest.go, resolve): an identify with a userId never looks at the contact its anonymousId already belongs to; "+
			"a second contact is created and the anonymous history and address stay on the first")
	c := b.contactByUser(t, "u2")
	require.Equal(t, "grace@example.com", *c.Email)
	require.Equal(t, "pro", c.Attributes["plan"])
	require.EqualValues(t, 1, b.getContact(t, c.ID).Engagement.PageViews)
}

// alias ties an anonymous id to a user, new or known: its history counts for
// the user, and so do its later calls.
func TestAliasLinksAnonymousID(t *testing.T) {
	t.Parallel()
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("known user %v", known), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if known {
				requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u3", "traits": obj{"email": "u3@example.com"}, "timestamp": at(9, 0)}))
			}
			requireSuccess(t, b.post(t, "/v1/page", obj{"anonymousId": "anon-3", "name": "Home", "messageId": "p1", "timestamp": at(10, 0)}))
			requireSuccess(t, b.post(t, "/v1/track", obj{"anonymousId": "anon-3", "event": "Video Played", "messageId": "t1", "timestamp": at(10, 1)}))
			requireSuccess(t, b.post(t, "/v1/alias", obj{"previousId": "anon-3", "userId": "u3", "messageId": "a1", "timestamp": at(10, 2)}))

			c := b.contactByUser(t, "u3")
			requireAnonymousIDs(t, b, c.ID, "anon-3")
			for _, id := range []string{"p1", "t1", "a1"} {
				require.Equal(t, c.ID, *b.event(t, id).ContactID, id)
			}
			requireSuccess(t, b.post(t, "/v1/page", obj{"anonymousId": "anon-3", "name": "Docs", "messageId": "p2", "timestamp": at(10, 3)}))
			require.Equal(t, c.ID, *b.event(t, "p2").ContactID)
			got := b.getContact(t, c.ID)
			require.EqualValues(t, 2, got.Engagement.PageViews)
			require.Equal(t, map[string]int64{"Video Played": 1}, got.Engagement.Actions)
			require.Equal(t, 1, b.counts(t).Contacts)
		})
	}
}

// warnings is the body of a 200 that left part of a call out.
type warnings struct {
	Success  bool `json:"success"`
	Warnings []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"warnings"`
}

func requireWarning(t *testing.T, res response, field string) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var w warnings
	require.NoError(t, json.Unmarshal(res.body, &w))
	require.True(t, w.Success)
	require.Len(t, w.Warnings, 1, "body: %s", res.body)
	require.Equal(t, field, w.Warnings[0].Field)
	require.NotEmpty(t, w.Warnings[0].Message)
}

// Two different users never merge: not by an address, an alias or an
// anonymous id. The call is stored; the part that would merge is left out
// with a warning that names it.
func TestTwoUsersNeverMerge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "anonymousId": "anon-u1", "timestamp": at(9, 0),
		"traits": obj{"email": "shared@example.com", "name": "Ada Lovelace"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u2", "timestamp": at(9, 1), "traits": obj{"email": "u2@example.com"}}))

	res := b.post(t, "/v1/identify", obj{"userId": "u2", "messageId": "claim", "timestamp": at(9, 2),
		"traits": obj{"email": "Shared@EXAMPLE.com", "name": "Grace Hopper"}})
	requireWarning(t, res, "traits.email")
	u1, u2 := b.contactByUser(t, "u1"), b.contactByUser(t, "u2")
	require.NotEqual(t, u1.ID, u2.ID)
	require.Equal(t, "shared@example.com", *u1.Email, "u1 keeps the address")
	require.Equal(t, "Ada", u1.FirstName)
	require.Equal(t, "u2@example.com", *u2.Email)
	require.Equal(t, "Grace", u2.FirstName, "the rest of the call is applied")
	require.Equal(t, u2.ID, *b.event(t, "claim").ContactID, "the call is stored")

	// A new user claiming the address in a batch: the warning names the call.
	res = b.post(t, "/v1/batch", obj{"batch": []obj{
		{"type": "track", "userId": "u1", "event": "Report Created"},
		{"type": "identify", "userId": "u3", "timestamp": at(9, 3), "traits": obj{"email": "shared@example.com"}},
	}})
	requireWarning(t, res, "batch[1].traits.email")
	u3 := b.contactByUser(t, "u3")
	require.Nil(t, u3.Email)

	// An alias between two known users.
	requireWarning(t, b.post(t, "/v1/alias", obj{"previousId": "u1", "userId": "u2"}), "previousId")

	// Another user's anonymous id stays theirs.
	requireSuccess(t, b.post(t, "/v1/page", obj{"userId": "u2", "anonymousId": "anon-u1", "messageId": "p-u2"}))
	require.Equal(t, u2.ID, *b.event(t, "p-u2").ContactID)
	requireAnonymousIDs(t, b, u1.ID, "anon-u1")

	require.Equal(t, 3, b.counts(t).Contacts)
	require.Equal(t, "shared@example.com", *b.contactByUser(t, "u1").Email)
	require.Equal(t, "Ada", b.contactByUser(t, "u1").FirstName)
	require.Zero(t, b.counts(t).EmailChanges)
}

// Traits merge field by field, newer wins: an identify with an older
// timestamp that arrives later fills what is missing and changes nothing
// newer.
func TestTraitsMergeNewerWinsPerField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(10, 0),
		"traits": obj{"name": "Ada Lovelace", "title": "CTO", "plan": "pro"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(9, 0), // older, arriving later
		"traits": obj{"name": "Ada Byron", "title": "Engineer", "plan": "trial", "company": "Analytical Engines", "seats": 3}}))

	c := b.contactByUser(t, "u1")
	require.Equal(t, "Ada", c.FirstName)
	require.Equal(t, "Lovelace", c.LastName)
	require.Equal(t, "pro", c.Attributes["plan"])
	require.Equal(t, "Analytical Engines", c.Company, "a field not set before is filled")
	require.EqualValues(t, 3, c.Attributes["seats"])
	profile := b.getContact(t, c.ID).Profile
	require.Equal(t, "CTO", profile["title"])

	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(11, 0),
		"traits": obj{"plan": "enterprise", "lastName": "King"}}))
	c = b.contactByUser(t, "u1")
	require.Equal(t, "enterprise", c.Attributes["plan"])
	require.Equal(t, "King", c.LastName)
	require.Equal(t, "Ada", c.FirstName, "fields the call does not name are kept")
	require.Equal(t, "Analytical Engines", c.Company)
}

// A repeated value is as new as its latest call: an older call arriving
// after the repeat does not overwrite it.
func TestRepeatedTraitStillBlocksOlderValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(9, 0), "traits": obj{"plan": "trial"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(11, 0), "traits": obj{"plan": "trial"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(10, 0), "traits": obj{"plan": "pro"}}))
	require.Equal(t, "trial", b.contactByUser(t, "u1").Attributes["plan"],
		"BUG (root contact.go, Contact.Merge): a repeated value moves its time forward only in memory, "+
			"so the 10:00 call overwrites the value the 11:00 call said (a trade-off documented on Merge, "+
			"against the issue's newer-wins rule)")
}

// A new address replaces the old one and the change is recorded; an older
// call's address does not come back.
func TestEmailChangeIsRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(9, 0), "traits": obj{"email": "ada@old.example"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(10, 0), "traits": obj{"email": "ada@new.example"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(8, 0), "traits": obj{"email": "ada@older.example"}}))

	c := b.contactByUser(t, "u1")
	require.Equal(t, "ada@new.example", *c.Email)
	require.Equal(t, "ada@new.example", b.getContact(t, c.ID).Email)
	var contactID int64
	var oldEmail, newEmail string
	var changedAt time.Time
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT contact_id, old_email, new_email, changed_at FROM contact_email_changes`).
		Scan(&contactID, &oldEmail, &newEmail, &changedAt))
	require.Equal(t, c.ID, contactID)
	require.Equal(t, "ada@old.example", oldEmail)
	require.Equal(t, "ada@new.example", newEmail)
	require.Equal(t, at(10, 0), ts(changedAt))
	require.Equal(t, 1, b.counts(t).EmailChanges)

	// The old address is free again for someone else.
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u2", "traits": obj{"email": "ada@old.example"}}))
	require.Equal(t, "ada@old.example", *b.contactByUser(t, "u2").Email)
}

// Traits are validated: a 400 names the trait as the caller wrote it, and
// valid values are stored in canonical form.
func TestTraitValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		traits obj
		field  string // "" when valid
		column string // for a valid call: the column and its stored value
		want   string
	}{
		{obj{"email": "ada@example.com"}, "", "email", "ada@example.com"},
		{obj{"email": " Grace@EXAMPLE.com "}, "", "email", "Grace@example.com"},
		{obj{"email": "ada"}, "traits.email", "", ""},
		{obj{"email": "ada@localhost"}, "traits.email", "", ""},
		{obj{"email": "Ada <ada@example.com>"}, "traits.email", "", ""},
		{obj{"email": "a@example.com, b@example.com"}, "traits.email", "", ""},
		{obj{"email": "ada@example.com\r\nBcc: all@example.com"}, "traits.email", "", ""},
		{obj{"email": true}, "traits.email", "", ""},
		{obj{"timezone": "Europe/Paris"}, "", "time_zone", "Europe/Paris"},
		{obj{"timezone": "America/Argentina/Buenos_Aires"}, "", "time_zone", "America/Argentina/Buenos_Aires"},
		{obj{"timezone": "UTC"}, "", "time_zone", "UTC"},
		{obj{"timezone": "CEST"}, "traits.timezone", "", ""},
		{obj{"timezone": "+02:00"}, "traits.timezone", "", ""},
		{obj{"timezone": "Local"}, "traits.timezone", "", ""},
		{obj{"timezone": "Mars/Olympus_Mons"}, "traits.timezone", "", ""},
		{obj{"timezone": 2}, "traits.timezone", "", ""},
		// The error names the time zone trait as it was sent.
		{obj{"timeZone": "Nowhere/City"}, "traits.timeZone", "", ""},
		{obj{"teamSize": "42"}, "", "team_size", "42"},
		{obj{"teamSize": 42}, "", "team_size", "42"},
		{obj{"teamSize": "11-50"}, "", "team_size", "11-50"},
		{obj{"teamSize": " 11 - 50 "}, "", "team_size", "11-50"},
		{obj{"teamSize": "1000+"}, "", "team_size", "1000+"},
		{obj{"employees": 250}, "", "team_size", "250"},
		{obj{"teamSize": "lots"}, "traits.teamSize", "", ""},
		{obj{"teamSize": "50-11"}, "traits.teamSize", "", ""},
		{obj{"teamSize": "11-"}, "traits.teamSize", "", ""},
		{obj{"teamSize": -5}, "traits.teamSize", "", ""},
		{obj{"teamSize": 11.5}, "traits.teamSize", "", ""},
		{obj{"teamSize": "11-50 people"}, "traits.teamSize", "", ""},
		{obj{"teamSize": []int{11, 50}}, "traits.teamSize", "", ""},
		// The error names the team size trait as it was sent.
		{obj{"team_size": "lots"}, "traits.team_size", "", ""},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%v", tt.traits), func(t *testing.T) {
			t.Parallel()
			user := fmt.Sprintf("user-%d", i)
			for _, batch := range []bool{false, true} {
				var res response
				field := tt.field
				if batch {
					res = b.post(t, "/v1/batch", obj{"batch": []obj{
						{"type": "track", "userId": user, "event": "x"},
						{"type": "identify", "userId": user, "traits": tt.traits},
					}})
					if field != "" {
						field = "batch[1]." + field
					}
				} else {
					res = b.post(t, "/v1/identify", obj{"userId": user, "traits": tt.traits})
				}
				if tt.field != "" {
					requireError(t, res, http.StatusBadRequest, field)
					var n int
					require.NoError(t, b.pool.QueryRow(context.Background(),
						`SELECT count(*) FROM contacts WHERE external_id = $1`, user).Scan(&n))
					require.Zero(t, n, "nothing stored")
					continue
				}
				requireSuccess(t, res)
				var got string
				require.NoError(t, b.pool.QueryRow(context.Background(),
					`SELECT `+tt.column+` FROM contacts WHERE external_id = $1`, user).Scan(&got))
				require.Equal(t, tt.want, got)
			}
		})
	}
}

// context.ip, userAgent, timezone and locale fill the profile where traits
// do not; a device's bad time zone is dropped, not an error.
func TestContextFillsProfileWhereTraitsDoNot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	device := obj{"ip": "192.0.2.10", "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
		"timezone": "America/New_York", "locale": "en-US"}

	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "timestamp": at(9, 0), "context": device,
		"traits": obj{"timezone": "Europe/Paris", "locale": "fr-FR"}}))
	u1 := b.contactByUser(t, "u1")
	require.Equal(t, "Europe/Paris", u1.TimeZone, "traits win")
	require.Equal(t, "fr-FR", u1.Locale)
	require.Equal(t, "192.0.2.10", u1.LastIP)
	require.Equal(t, device["userAgent"], u1.UserAgent)

	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u2", "event": "x", "timestamp": at(9, 0), "context": device}))
	u2 := b.contactByUser(t, "u2")
	require.Equal(t, "America/New_York", u2.TimeZone, "the device fills what traits did not say")
	require.Equal(t, "en-US", u2.Locale)
	require.Equal(t, "192.0.2.10", u2.LastIP)

	// A later device zone does not replace a known one; the address is the latest.
	requireSuccess(t, b.post(t, "/v1/page", obj{"userId": "u2", "timestamp": at(10, 0),
		"context": obj{"ip": "192.0.2.20", "timezone": "Asia/Tokyo", "locale": "ja-JP"}}))
	// An older call's address does not replace a newer one.
	requireSuccess(t, b.post(t, "/v1/page", obj{"userId": "u2", "timestamp": at(8, 0), "context": obj{"ip": "192.0.2.99"}}))
	u2 = b.contactByUser(t, "u2")
	require.Equal(t, "America/New_York", u2.TimeZone)
	require.Equal(t, "en-US", u2.Locale)
	require.Equal(t, "192.0.2.20", u2.LastIP)

	// A zone a device made up is left out; the call is stored.
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u3", "event": "x", "context": obj{"timezone": "Nowhere/City", "locale": "de-DE"}}))
	u3 := b.contactByUser(t, "u3")
	require.Empty(t, u3.TimeZone)
	require.Equal(t, "de-DE", u3.Locale)

	// A long user agent is cut at 512 bytes, not inside a character.
	long := strings.Repeat("a", 511) + "é and more"
	requireSuccess(t, b.post(t, "/v1/page", obj{"userId": "u4", "context": obj{"userAgent": long}}))
	ua := b.contactByUser(t, "u4").UserAgent
	require.True(t, utf8.ValidString(ua) && !strings.ContainsRune(ua, utf8.RuneError), "%q", ua)
	require.Equal(t, strings.Repeat("a", 511), ua)

	profile := b.getContact(t, u2.ID).Profile
	require.Equal(t, "America/New_York", profile["timezone"])
	require.Equal(t, "192.0.2.20", profile["ip"])
	require.Equal(t, device["userAgent"], profile["userAgent"])
}
