package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/postgres"
)

// The examples of Segment's HTTP Tracking API, posted one call at a time as
// a server library would, end up as one contact with its events, anonymous
// ids and engagement.
func TestSegmentSpecExamples(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// identify: the clock of the sender runs a minute behind ours.
	requireSuccess(t, b.post(t, "/v1/identify", fixture(t, "identify.json")))
	c := b.contactByUser(t, "019mr8mf4r")
	require.Equal(t, "peter@initech.com", *c.Email)
	require.Equal(t, "Peter", c.FirstName)
	require.Equal(t, "Gibbons", c.LastName)
	require.Equal(t, "Initech", c.Company)
	require.Equal(t, "120", c.TeamSize)
	require.Equal(t, "America/Chicago", c.TimeZone, "from context.timezone")
	require.Equal(t, "en-US", c.Locale, "from context.locale")
	require.Equal(t, "24.5.68.47", c.LastIP)
	require.True(t, strings.HasPrefix(c.UserAgent, "Mozilla/5.0 (Macintosh"), c.UserAgent)
	require.Equal(t, "premium", c.Attributes["plan"])
	require.EqualValues(t, 5, c.Attributes["logins"])
	require.Equal(t, map[string]any{"city": "Austin", "country": "USA"}, c.Attributes["address"])

	ev := b.event(t, "022bb90c-bbac-11e4-8dfc-aa07a5b093db")
	require.Equal(t, c.ID, *ev.ContactID)
	require.Equal(t, "507f191e810c19729de860ea", *ev.AnonymousID)
	require.Equal(t, "identify", ev.Type)
	require.Equal(t, "Peter Gibbons", ev.Properties["name"], "the traits are the identify event's properties")
	require.Equal(t, map[string]any{"All": true, "Mixpanel": false}, ev.Raw["integrations"], "the call is kept as sent")
	// timestamp + (receivedAt - sentAt) = 11:58:30 + (12:00:00 - 11:59:00)
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 30, 0, time.UTC), ev.OccurredAt.UTC())
	requireAnonymousIDs(t, b, c.ID, "507f191e810c19729de860ea")

	// track: 11:59:10.5 + (12:00:00 - 11:59:40)
	requireSuccess(t, b.post(t, "/v1/track", fixture(t, "track.json")))
	ev = b.event(t, "ajs-next-1709380000000-7f1c0a2e")
	require.Equal(t, c.ID, *ev.ContactID)
	require.Equal(t, "track", ev.Type)
	require.Equal(t, "Item Purchased", ev.Name)
	require.Equal(t, map[string]any{"name": "Leap to Conclusions Mat", "revenue": 14.99, "currency": "USD",
		"sku": "LTC-001", "quantity": float64(1)}, ev.Properties)
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 30, 500e6, time.UTC), ev.OccurredAt.UTC())

	// page, without sentAt: the timestamp as sent.
	requireSuccess(t, b.post(t, "/v1/page", fixture(t, "page.json")))
	ev = b.event(t, "ajs-next-1709380000001-0b9d55c1")
	require.Equal(t, c.ID, *ev.ContactID)
	require.Equal(t, "page", ev.Type)
	require.Equal(t, "Tracking HTTP API", ev.Name)
	require.Equal(t, "Segment HTTP Tracking API | Segment Documentation", ev.Properties["title"])
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 20, 0, time.UTC), ev.OccurredAt.UTC())

	// alias: the earlier id now belongs to the user.
	requireSuccess(t, b.post(t, "/v1/alias", fixture(t, "alias.json")))
	ev = b.event(t, "ajs-next-1709380000002-3e0f4d77")
	require.Equal(t, c.ID, *ev.ContactID)
	require.Equal(t, "alias", ev.Type)
	requireAnonymousIDs(t, b, c.ID, "39239-239239-239239-23923", "507f191e810c19729de860ea")

	require.Equal(t, counts{Contacts: 1, Events: 4, AnonymousIDs: 2, Engagement: 1}, b.counts(t))

	got := b.getContact(t, c.ID)
	require.Equal(t, "019mr8mf4r", got.UserID)
	require.Equal(t, "peter@initech.com", got.Email)
	require.Equal(t, map[string]string{
		"firstName": "Peter", "lastName": "Gibbons", "company": "Initech", "industry": "Technology",
		"teamSize": "120", "timezone": "America/Chicago", "locale": "en-US", "ip": "24.5.68.47",
		"userAgent": c.UserAgent,
	}, got.Profile)
	require.Equal(t, "premium", got.Attributes["plan"])
	require.EqualValues(t, 1, got.Engagement.PageViews)
	require.Equal(t, map[string]int64{"Item Purchased": 1}, got.Engagement.Actions)
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 20, 0, time.UTC), got.Engagement.FirstSeen.UTC())
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 30, 500e6, time.UTC), got.Engagement.LastSeen.UTC())
}

func requireAnonymousIDs(t *testing.T, b *bundle, contactID int64, want ...string) {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT anonymous_id FROM anonymous_ids WHERE contact_id = $1 ORDER BY anonymous_id`, contactID)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// Every endpoint takes the key by Basic (as Segment's libraries send it)
// or Bearer, and a gzipped body.
func TestEveryEndpointAcceptsBothAuthSchemesAndGzip(t *testing.T) {
	t.Parallel()
	calls := map[string]obj{
		"/v1/identify": {"userId": "u1", "traits": obj{"email": "u1@example.com"}},
		"/v1/track":    {"userId": "u1", "event": "Report Created"},
		"/v1/page":     {"userId": "u1", "name": "Pricing"},
		"/v1/screen":   {"userId": "u1", "name": "Home"},
		"/v1/alias":    {"previousId": "anon-1", "userId": "u1"},
		"/v1/group":    {"userId": "u1", "groupId": "g1", "traits": obj{"name": "Initech"}},
		"/v1/batch":    {"batch": []obj{{"type": "track", "userId": "u1", "event": "Report Created"}}},
		"/v1/import":   {"batch": []obj{{"type": "track", "userId": "u1", "event": "Report Created"}}},
	}
	for path, body := range calls {
		for _, mode := range []string{"basic", "bearer", "gzip"} {
			t.Run(strings.TrimPrefix(path, "/v1/")+"/"+mode, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				requireSuccess(t, b.do(t, request{path: path, body: body, key: b.ingest,
					bearer: mode == "bearer", gzip: mode == "gzip"}))
				require.Equal(t, 1, b.counts(t).Events)
			})
		}
	}
}

// Segment's batch example, with a batch-level context and sentAt: the
// context applies to every call, sentAt corrects every timestamp, screen is
// a page view and group links the user to its company.
func TestBatchSpecExample(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/batch", fixture(t, "batch.json")))

	require.Equal(t, counts{Contacts: 1, Events: 5, Engagement: 1}, b.counts(t))
	c := b.contactByUser(t, "97980cfea0067")
	require.Equal(t, "jake@example.com", *c.Email)
	require.Equal(t, "Jake", c.FirstName)
	require.Equal(t, "Europe/Paris", c.TimeZone)
	require.Equal(t, "fr-FR", c.Locale)
	require.Equal(t, "203.0.113.9", c.LastIP, "the last call's address")
	require.Equal(t, "Initech/3.1 CFNetwork/1410.0.3 Darwin/22.6.0", c.UserAgent)

	skew := 5 * time.Minute // received 12:00:00, sent 11:55:00
	for _, tt := range []struct {
		messageID, typ, name string
		at                   time.Time
	}{
		{"batch-example-1", "identify", "", time.Date(2026, 3, 2, 11, 50, 0, 0, time.UTC)},
		{"batch-example-2", "track", "Item Purchased", time.Date(2026, 3, 2, 11, 51, 0, 0, time.UTC)},
		{"batch-example-3", "page", "Shoes", time.Date(2026, 3, 2, 11, 52, 0, 0, time.UTC)},
		{"batch-example-4", "page", "Cart", time.Date(2026, 3, 2, 11, 53, 0, 0, time.UTC)},
	} {
		ev := b.event(t, tt.messageID)
		require.Equal(t, c.ID, *ev.ContactID, tt.messageID)
		require.Equal(t, tt.typ, ev.Type, tt.messageID)
		require.Equal(t, tt.name, ev.Name, tt.messageID)
		require.Equal(t, tt.at.Add(skew), ev.OccurredAt.UTC(), tt.messageID)
	}
	// A call's own context wins over the batch's, key by key.
	ctx := b.event(t, "batch-example-2").Raw["context"].(map[string]any)
	require.Equal(t, "24.5.68.47", ctx["ip"])
	require.Equal(t, map[string]any{"type": "phone", "name": "Apple iPhone 6"}, ctx["device"])

	got := b.getContact(t, c.ID)
	require.EqualValues(t, 2, got.Engagement.PageViews)
	require.Equal(t, map[string]int64{"Item Purchased": 1}, got.Engagement.Actions)
	require.Equal(t, time.Date(2026, 3, 2, 11, 55, 0, 0, time.UTC), got.Engagement.FirstSeen.UTC())
	require.Equal(t, time.Date(2026, 3, 2, 11, 59, 0, 0, time.UTC), got.Engagement.LastSeen.UTC(), "the group call's time")
	require.NotNil(t, got.Company)
	require.Equal(t, "0e8c78ea9d97a7b8185e8632", got.Company.GroupID)
	require.Equal(t, "Initech", got.Company.Name)
}

// hundredCalls is a batch of 100 calls of ten users: each is identified,
// views four pages, creates three reports and sends two invites, from an
// anonymous id of its own. sentAt says the sender's clock is 10 s behind.
func hundredCalls() obj {
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	calls := make([]obj, 100)
	for i := range calls {
		user := i % 10
		call := obj{
			"userId":      fmt.Sprintf("user-%02d", user),
			"anonymousId": fmt.Sprintf("anon-%02d", user),
			"messageId":   fmt.Sprintf("msg-%03d", i),
			"timestamp":   ts(base.Add(time.Duration(i) * time.Second)),
		}
		switch round := i / 10; {
		case round == 0:
			call["type"] = "identify"
			call["traits"] = obj{"email": fmt.Sprintf("user-%02d@example.com", user), "name": fmt.Sprintf("User %02d", user), "plan": "trial"}
		case round <= 4:
			call["type"], call["name"] = "page", "Dashboard"
			call["properties"] = obj{"url": "https://app.example.com/dashboard", "title": "Dashboard"}
		case round <= 7:
			call["type"], call["event"] = "track", "Report Created"
			call["properties"] = obj{"reportId": i, "format": "pdf"}
		default:
			call["type"], call["event"] = "track", "Invite Sent"
			call["properties"] = obj{"invitee": fmt.Sprintf("friend-%d@example.org", i)}
		}
		calls[i] = call
	}
	return obj{
		"batch":   calls,
		"context": obj{"library": obj{"name": "analytics-go", "version": "3.3.0"}, "ip": "198.51.100.7"},
		"sentAt":  ts(received.Add(-10 * time.Second)),
	}
}

func TestBatchOfHundredCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/batch", hundredCalls()))

	require.Equal(t, counts{Contacts: 10, Events: 100, AnonymousIDs: 10, Engagement: 10}, b.counts(t))
	var unowned int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE contact_id IS NULL`).Scan(&unowned))
	require.Zero(t, unowned)

	base := time.Date(2026, 3, 2, 10, 0, 10, 0, time.UTC) // with the 10 s of skew
	for user := range 10 {
		c := b.contactByUser(t, fmt.Sprintf("user-%02d", user))
		require.Equal(t, fmt.Sprintf("user-%02d@example.com", user), *c.Email)
		require.Equal(t, "198.51.100.7", c.LastIP, "from the batch's context")
		requireAnonymousIDs(t, b, c.ID, fmt.Sprintf("anon-%02d", user))
		got := b.getContact(t, c.ID)
		require.EqualValues(t, 4, got.Engagement.PageViews)
		require.Equal(t, map[string]int64{"Report Created": 3, "Invite Sent": 2}, got.Engagement.Actions)
		require.Equal(t, base.Add(time.Duration(user)*time.Second), got.Engagement.FirstSeen.UTC())
		require.Equal(t, base.Add(time.Duration(90+user)*time.Second), got.Engagement.LastSeen.UTC())
	}
}

// A replayed batch (same messageIds) changes nothing: not the rows, not the
// engagement, not the profiles.
func TestReplayedBatchChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	batch := hundredCalls()
	requireSuccess(t, b.post(t, "/v1/batch", batch))
	snapshot := func() (counts, string) {
		var state string
		err := b.pool.QueryRow(context.Background(), `SELECT
			(SELECT jsonb_agg(e ORDER BY contact_id) FROM engagement e)::text ||
			(SELECT jsonb_agg(c ORDER BY id) FROM contacts c)::text`).Scan(&state)
		require.NoError(t, err)
		return b.counts(t), state
	}
	wantCounts, wantState := snapshot()

	b.clock.Advance(time.Hour) // a retry, an hour later
	requireSuccess(t, b.post(t, "/v1/batch", batch))
	requireSuccess(t, b.post(t, "/v1/track", batch["batch"].([]obj)[50])) // and one of its calls alone
	gotCounts, gotState := snapshot()
	require.Equal(t, wantCounts, gotCounts)
	require.Equal(t, wantState, gotState)
}

// A signed_up event creates no email in ingestion any more: it leaves a
// signal for the sequence engine (whose onboarding sequence sends the
// welcome, once per contact), one per stored call, none for a replay.
func TestSignedUpSignalsTheSequenceEngine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store.WatchSequences(postgres.SequenceTriggers{Events: []string{nurture.EventKey("signed_up")}})
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "signed_up", "messageId": "m1"}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "signed_up", "messageId": "m2"}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "signed_up", "messageId": "m1"}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "Page Liked", "messageId": "m3"}))
	require.Equal(t, 0, b.counts(t).Messages)
	var signals int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sequence_signals WHERE contact_id = $1 AND name = 'signed_up'`,
		b.contactByUser(t, "u1").ID).Scan(&signals))
	require.Equal(t, 2, signals)
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sequence_signals`).Scan(&signals))
	require.Equal(t, 2, signals, "an event no sequence starts on or waits for leaves none")
}

// sentAt corrects the timestamps of the request by the difference between
// our clock and the sender's, as Segment does.
func TestClockSkewCorrectedWithSentAt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		call      obj
		batchSent string // sentAt of a batch holding the call; "" to post the call alone
		want      time.Time
	}{
		{"no sentAt: the timestamp as sent", obj{"timestamp": "2026-03-02T11:00:00Z"}, "", time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)},
		{"no timestamp: when it arrived", obj{}, "", received},
		{"sender behind", obj{"timestamp": "2026-03-02T09:59:00Z", "sentAt": "2026-03-02T10:00:00Z"}, "", time.Date(2026, 3, 2, 11, 59, 0, 0, time.UTC)},
		{"sender ahead", obj{"timestamp": "2026-03-02T12:30:00+01:00", "sentAt": "2026-03-02T12:31:00.250Z"}, "", time.Date(2026, 3, 2, 10, 58, 59, 750e6, time.UTC)},
		{"originalTimestamp", obj{"originalTimestamp": "2026-03-02T11:59:50Z", "sentAt": "2026-03-02T11:59:55Z"}, "", time.Date(2026, 3, 2, 11, 59, 55, 0, time.UTC)},
		{"batch sentAt", obj{"timestamp": "2026-03-02T11:00:00Z"}, "2026-03-02T11:30:00Z", time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC)},
	}
	for i, tt := range tests {
		call := obj{"userId": "u1", "event": "Clock Checked", "messageId": fmt.Sprintf("skew-%d", i)}
		for k, v := range tt.call {
			call[k] = v
		}
		if tt.batchSent == "" {
			requireSuccess(t, b.post(t, "/v1/track", call))
		} else {
			call["type"] = "track"
			requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": []obj{call}, "sentAt": tt.batchSent}))
		}
		require.Equal(t, tt.want, b.event(t, call["messageId"].(string)).OccurredAt.UTC(), tt.name)
	}
}

// goodCalls returns n valid batch calls.
func goodCalls(n int) []obj {
	calls := make([]obj, n)
	for i := range calls {
		calls[i] = obj{"type": "track", "userId": fmt.Sprintf("u%d", i%7), "event": "Report Created",
			"messageId": fmt.Sprintf("good-%d", i), "properties": obj{"n": i}}
	}
	return calls
}

// withCall returns a batch of 100 good calls where the call at i is bad.
func withCall(i int, bad obj) obj {
	calls := goodCalls(100)
	calls[i] = bad
	return obj{"batch": calls}
}

// Bad requests get a 400 or 413 whose error names the field, and store
// nothing at all: a batch is stored whole or not at all.
func TestInvalidRequestsStoreNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := strings.Repeat("x", 33<<10)
	tests := []struct {
		name    string
		path    string
		body    any
		gzip    bool
		chunked bool // no Content-Length
		status  int
		field   string
	}{
		{"malformed JSON", "/v1/identify", `{"userId": "u1", "traits": {"email": `, false, false, 400, ""},
		{"malformed batch", "/v1/batch", `{"batch": [{"type": "track", "userId": "u1", "event": "x"},`, false, false, 400, ""},
		{"trailing garbage", "/v1/track", `{"userId": "u1", "event": "x"} {"userId": "u2"}`, false, false, 400, ""},
		{"trailing brace", "/v1/track", `{"userId": "u1", "event": "x"}}`, false, false, 400, ""},
		{"batch trailing garbage", "/v1/batch", `{"batch": []} x`, false, false, 400, ""},
		{"empty body", "/v1/track", ``, false, false, 400, ""},
		{"not an object", "/v1/track", `["u1", "x"]`, false, false, 400, "body"},
		{"batch body not an object", "/v1/batch", `[{"type": "track", "userId": "u1", "event": "x"}]`, false, false, 400, "body"},
		{"batch not an array", "/v1/batch", obj{"batch": obj{"type": "track"}}, false, false, 400, "batch"},
		{"batch missing", "/v1/batch", obj{"calls": goodCalls(2)}, false, false, 400, "batch"},
		{"batch context not an object", "/v1/batch", obj{"batch": goodCalls(2), "context": "web"}, false, false, 400, "context"},
		{"batch sentAt not a date", "/v1/batch", obj{"batch": goodCalls(2), "sentAt": "yesterday"}, false, false, 400, "sentAt"},
		{"userId an object", "/v1/track", obj{"userId": obj{"id": 1}, "event": "x"}, false, false, 400, "userId"},
		{"anonymousId a bool", "/v1/page", obj{"anonymousId": true}, false, false, 400, "anonymousId"},
		{"traits a string", "/v1/identify", obj{"userId": "u1", "traits": "ada@example.com"}, false, false, 400, "traits"},
		{"properties an array", "/v1/track", obj{"userId": "u1", "event": "x", "properties": []int{1}}, false, false, 400, "properties"},
		{"context a number", "/v1/page", obj{"userId": "u1", "context": 5}, false, false, 400, "context"},
		{"event a number", "/v1/track", obj{"userId": "u1", "event": 5}, false, false, 400, "event"},
		{"messageId a number", "/v1/track", obj{"userId": "u1", "event": "x", "messageId": 5}, false, false, 400, "messageId"},
		{"timestamp a number", "/v1/track", obj{"userId": "u1", "event": "x", "timestamp": 1709380000}, false, false, 400, "timestamp"},
		{"timestamp not ISO 8601", "/v1/track", obj{"userId": "u1", "event": "x", "timestamp": "02/03/2026"}, false, false, 400, "timestamp"},
		{"sentAt not ISO 8601", "/v1/track", obj{"userId": "u1", "event": "x", "sentAt": "now"}, false, false, 400, "sentAt"},
		{"trait name an object", "/v1/identify", obj{"userId": "u1", "traits": obj{"name": obj{"first": "Ada"}}}, false, false, 400, "traits.name"},
		{"no user", "/v1/track", obj{"event": "x"}, false, false, 400, "userId"},
		{"no event", "/v1/track", obj{"userId": "u1"}, false, false, 400, "event"},
		{"alias without previousId", "/v1/alias", obj{"userId": "u1"}, false, false, 400, "previousId"},
		{"alias without userId", "/v1/alias", obj{"previousId": "anon"}, false, false, 400, "userId"},
		{"userId too long", "/v1/track", obj{"userId": strings.Repeat("u", 256), "event": "x"}, false, false, 400, "userId"},
		{"batch[2].userId wrong type", "/v1/batch", withCall(2, obj{"type": "track", "userId": obj{"id": 1}, "event": "x"}), false, false, 400, "batch[2].userId"},
		{"batch[99] bad email", "/v1/batch", withCall(99, obj{"type": "identify", "userId": "u1", "traits": obj{"email": "not-an-address"}}), false, false, 400, "batch[99].traits.email"},
		{"batch[50] not an object", "/v1/batch", withCall(50, nil), false, false, 400, "batch[50]"},
		{"batch[0] without type", "/v1/batch", withCall(0, obj{"userId": "u1", "event": "x"}), false, false, 400, "batch[0].type"},
		{"batch[1] unknown type", "/v1/batch", withCall(1, obj{"type": "purchase", "userId": "u1"}), false, false, 400, "batch[1].type"},
		{"33 KB call", "/v1/track", obj{"userId": "u1", "event": "x", "properties": obj{"notes": big}}, false, false, 413, ""},
		{"33 KB call without length", "/v1/track", obj{"userId": "u1", "event": "x", "properties": obj{"notes": big}}, false, true, 413, ""},
		{"33 KB call gzipped", "/v1/track", obj{"userId": "u1", "event": "x", "properties": obj{"notes": big}}, true, false, 413, ""},
		{"33 KB call in a batch", "/v1/batch", withCall(1, obj{"type": "track", "userId": "u1", "event": "x", "properties": obj{"notes": big}}), false, false, 413, "batch[1]"},
		{"600 KB batch", "/v1/batch", obj{"batch": bigBatch(600 << 10)}, false, false, 413, ""},
		{"600 KB batch without length", "/v1/batch", obj{"batch": bigBatch(600 << 10)}, false, true, 413, ""},
		{"600 KB batch gzipped", "/v1/batch", obj{"batch": bigBatch(600 << 10)}, true, false, 413, ""},
		{"unsupported encoding", "/v1/track", obj{"userId": "u1", "event": "x"}, false, false, 400, "Content-Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request{path: tt.path, body: tt.body, key: b.ingest, gzip: tt.gzip, chunked: tt.chunked}
			if tt.name == "unsupported encoding" {
				r.headers = map[string]string{"Content-Encoding": "br"}
			}
			res := b.do(t, r)
			requireError(t, res, tt.status, tt.field)
			require.Equal(t, counts{}, b.counts(t), "nothing may be stored")
		})
	}
}

// bigBatch returns good calls that add up to about size bytes of JSON, each
// of them well under the limit of a call.
func bigBatch(size int) []obj {
	var calls []obj
	for n := 0; n < size; n += 10 << 10 {
		calls = append(calls, obj{"type": "track", "userId": "u1", "event": "Report Created",
			"messageId": fmt.Sprintf("big-%d", n), "properties": obj{"notes": strings.Repeat("y", 10<<10)}})
	}
	return calls
}

// Limits are Segment's: a call of 32 KB and a batch of 500 KB pass.
func TestLimitsAreSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	call := obj{"userId": "u1", "event": "x", "messageId": "at-limit", "properties": obj{"notes": ""}}
	data, err := json.Marshal(call)
	require.NoError(t, err)
	call["properties"] = obj{"notes": strings.Repeat("x", api.MaxCallBytes-len(data))}
	data, err = json.Marshal(call)
	require.NoError(t, err)
	require.Len(t, data, api.MaxCallBytes)
	requireSuccess(t, b.post(t, "/v1/track", data))

	batch := obj{"batch": bigBatch(480 << 10)}
	data, err = json.Marshal(batch)
	require.NoError(t, err)
	require.Less(t, len(data), api.MaxBatchBytes)
	requireSuccess(t, b.post(t, "/v1/batch", data))
	require.Equal(t, 1+len(batch["batch"].([]obj)), b.counts(t).Events)
}

func TestGzip(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// A gzipped batch of 100 calls.
	requireSuccess(t, b.do(t, request{path: "/v1/batch", body: hundredCalls(), key: b.ingest, gzip: true}))
	require.Equal(t, 100, b.counts(t).Events)

	valid := gzipped(t, []byte(`{"batch": [{"type": "track", "userId": "u1", "event": "x"}]}`))
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)/2] ^= 0xff // damage the deflate stream
	badSum := bytes.Clone(valid)
	badSum[len(badSum)-6] ^= 0xff // damage the CRC-32
	zeros := make([]byte, 10<<20)
	bomb := gzipped(t, zeros)
	require.Less(t, len(bomb), 32<<10, "the bomb is small on the wire")
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
	}{
		{"bomb: 10 MB of zeros", "/v1/batch", bomb, 413},
		{"bomb on a single call", "/v1/identify", bomb, 413},
		{"not gzip", "/v1/batch", []byte(`{"batch": []}`), 400},
		{"truncated", "/v1/batch", valid[:len(valid)/2], 400},
		{"corrupt deflate stream", "/v1/batch", corrupt, 400},
		{"reserved deflate block type", "/v1/batch", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x07, 0, 0, 0}, 400},
		{"bad checksum", "/v1/batch", badSum, 400},
		{"empty", "/v1/track", nil, 400},
		{"trailing garbage", "/v1/batch", append(bytes.Clone(valid), "garbage"...), 400},
	}
	t.Run("bad", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, request{path: tt.path, body: tt.body, key: b.ingest,
					headers: map[string]string{"Content-Encoding": "gzip"}})
				requireError(t, res, tt.status, "")
			})
		}
	})
	require.Equal(t, 100, b.counts(t).Events, "bad bodies store nothing")
}

// Values Postgres cannot store are refused with a 400 naming the field,
// not a 500 after the fact.
func TestUnstorableValuesAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		path  string
		body  string
		field string
	}{
		{"NUL in an id", "/v1/track", `{"userId": "u\u00001", "event": "x"}`, "userId"},
		{"NUL in a property", "/v1/track", `{"userId": "u1", "event": "x", "properties": {"note": "a\u0000b"}}`, "properties.note"},
		{"NUL in a key", "/v1/track", `{"userId": "u1", "event": "x", "properties": {"a\u0000": 1}}`, "properties"},
		{"NUL in a trait", "/v1/identify", `{"userId": "u1", "traits": {"name": "Ada\u0000"}}`, "traits.name"},
		{"NUL in a batch context", "/v1/batch", `{"batch": [{"type": "page", "userId": "u1"}], "context": {"page": {"title": "\u0000"}}}`, "context.page.title"},
		{"number too large", "/v1/track", `{"userId": "u1", "event": "x", "properties": {"n": 1e999999}}`, "properties.n"},
		{"number too small", "/v1/track", `{"userId": "u1", "event": "x", "properties": {"n": 1e-999999}}`, "properties.n"},
		{"number too long", "/v1/track", `{"userId": "u1", "event": "x", "properties": {"n": 0.` + strings.Repeat("0", 20000) + `1}}`, "properties.n"},
		{"year 0", "/v1/track", `{"userId": "u1", "event": "x", "timestamp": "0000-06-01T00:00:00Z"}`, "timestamp"},
		{"skew beyond year 9999", "/v1/track", `{"userId": "u1", "event": "x", "timestamp": "9999-06-01T00:00:00Z", "sentAt": "2000-01-01T00:00:00Z"}`, "timestamp"},
		{"skew before year 1", "/v1/track", `{"userId": "u1", "event": "x", "timestamp": "0001-06-01T00:00:00Z", "sentAt": "9999-01-01T00:00:00Z"}`, "sentAt"},
		{"NUL in a batch call", "/v1/batch", `{"batch": [{"type": "page", "userId": "u1"}, {"type": "track", "userId": "u1", "event": "x", "properties": {"list": ["a", "\u0000"]}}]}`, "batch[1].properties.list[1]"},
		{"number too large in a batch call", "/v1/batch", `{"batch": [{"type": "identify", "userId": "u1", "traits": {"seats": -1e400}}]}`, "batch[0].traits.seats"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireError(t, b.post(t, tt.path, tt.body), http.StatusBadRequest, tt.field)
			})
		}
	})
	require.Equal(t, counts{}, b.counts(t))
}

// FuzzIngestBody feeds arbitrary bytes to /v1/batch and /v1/identify, plain
// and as gzip: the API answers 200 or a 4xx error in the documented shape,
// never a 500 or a panic. The seed corpus is in testdata/fuzz.
func FuzzIngestBody(f *testing.F) {
	b := setup(f) // one store for the whole run
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range []request{
			{path: "/v1/batch", body: body, key: b.ingest},
			{path: "/v1/identify", body: body, key: b.ingest},
			{path: "/v1/batch", body: body, key: b.ingest, headers: map[string]string{"Content-Encoding": "gzip"}},
		} {
			res := b.do(t, r)
			if res.status == http.StatusOK {
				var ok struct {
					Success bool `json:"success"`
				}
				require.NoError(t, json.Unmarshal(res.body, &ok), "%s: %s", r.path, res.body)
				require.True(t, ok.Success, "%s: %s", r.path, res.body)
				continue
			}
			require.True(t, res.status == http.StatusBadRequest || res.status == http.StatusRequestEntityTooLarge,
				"%s answered %d: %s", r.path, res.status, res.body)
			var e apiError
			require.NoError(t, json.Unmarshal(res.body, &e), "%s: %s", r.path, res.body)
			require.NotEmpty(t, e.Error.Code)
			require.NotEmpty(t, e.Error.Message)
		}
	})
}
