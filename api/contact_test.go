package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// getContactAt reads GET path with the admin key and returns the answer.
func (b *bundle) getContactAt(t *testing.T, path string) response {
	t.Helper()
	return b.do(t, request{method: http.MethodGet, path: path, key: b.admin, bearer: true})
}

// A contact is found by Nurture's number, by the product's user id (also a
// numeric one, which never reads as Nurture's number) and by address; what
// finds no one is a 404 and what cannot name anyone a 400 naming the
// parameter.
func TestContactLookups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-ada", "traits": obj{"email": "Ada@Example.com", "firstName": "Ada"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "1", "traits": obj{"email": "one@example.com", "firstName": "Numeric"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "team/7 #1", "traits": obj{"email": "slash@example.com"}}))
	ada, numeric, slash := b.contactByUser(t, "u-ada"), b.contactByUser(t, "1"), b.contactByUser(t, "team/7 #1")
	require.Equal(t, int64(1), ada.ID, "the numeric user id 1 is not contact 1: the lookups below tell them apart")

	found := []struct {
		name, path string
		want       int64
	}{
		{"Nurture's number", "/v1/contacts/1", ada.ID},
		{"leading zeros", "/v1/contacts/0001", ada.ID},
		{"user id", "/v1/contacts/user:u-ada", ada.ID},
		{"numeric user id", "/v1/contacts/user:1", numeric.ID},
		{"numeric user id as a query", "/v1/contacts?userId=1", numeric.ID},
		{"user id with a slash as a query", "/v1/contacts?userId=" + url.QueryEscape("team/7 #1"), slash.ID},
		{"escaped user id in the path", "/v1/contacts/user:" + url.PathEscape("u-ada"), ada.ID},
		{"email", "/v1/contacts?email=ada@example.com", ada.ID},
		{"email in another case", "/v1/contacts?email=" + url.QueryEscape(" ADA@EXAMPLE.COM "), ada.ID},
	}
	for _, tt := range found {
		res := b.getContactAt(t, tt.path)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", tt.name, res.body)
		var c struct {
			ID int64 `json:"id"`
		}
		require.NoError(t, json.Unmarshal(res.body, &c))
		require.Equal(t, tt.want, c.ID, tt.name)
	}

	refused := []struct {
		name, path string
		status     int
		field      string
		message    string // part of the message
	}{
		{"unknown number", "/v1/contacts/999", 404, "", "no contact has this id"},
		{"unknown user id", "/v1/contacts/user:nobody", 404, "", "no contact has this userId"},
		{"unknown user id as a query", "/v1/contacts?userId=nobody", 404, "", "no contact has this userId"},
		{"unknown email", "/v1/contacts?email=nobody@example.com", 404, "", "no contact has this email"},
		{"bare user id", "/v1/contacts/u-ada", 400, "id", "user:{userId}"},
		{"zero", "/v1/contacts/0", 400, "id", "positive whole number"},
		{"negative", "/v1/contacts/-1", 400, "id", "positive whole number"},
		{"signed", "/v1/contacts/+1", 400, "id", "positive whole number"},
		{"too big", "/v1/contacts/99999999999999999999", 400, "id", "positive whole number"},
		{"empty user id", "/v1/contacts/user:", 400, "id", "user:{userId}"},
		{"user id not UTF-8", "/v1/contacts/user:%ff", 400, "id", "UTF-8"},
		{"user id with NUL", "/v1/contacts?userId=a%00b", 400, "userId", "NUL"},
		{"malformed email", "/v1/contacts?email=ada", 400, "email", "not a valid email address"},
		{"display name", "/v1/contacts?email=" + url.QueryEscape("Ada <ada@example.com>"), 400, "email", "not a valid email address"},
		{"empty email", "/v1/contacts?email=", 400, "email", "required"},
		{"email twice", "/v1/contacts?email=ada@example.com&email=one@example.com", 400, "email", "more than once"},
		{"both", "/v1/contacts?email=ada@example.com&userId=u-ada", 400, "userId", "with email"},
		{"neither", "/v1/contacts", 400, "email", "userId"},
		{"long user id", "/v1/contacts?userId=" + strings.Repeat("u", 1025), 400, "userId", "longer than 1024"},
	}
	for _, tt := range refused {
		e := requireError(t, b.getContactAt(t, tt.path), tt.status, tt.field)
		require.Contains(t, e.Error.Message, tt.message, tt.name)
	}

	t.Run("an ingest key may not look", func(t *testing.T) {
		res := b.do(t, request{method: http.MethodGet, path: "/v1/contacts?email=ada@example.com", key: b.ingest, bearer: true})
		requireError(t, res, http.StatusForbidden, "")
	})
}

// An erased contact is not found by any of the lookups.
func TestErasedContactIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-gone", "traits": obj{"email": "gone@example.com"}}))
	c := b.contactByUser(t, "u-gone")
	_, err := b.pool.Exec(context.Background(), `UPDATE contacts SET erased_at = now() WHERE id = $1`, c.ID)
	require.NoError(t, err)
	for _, path := range []string{fmt.Sprintf("/v1/contacts/%d", c.ID), "/v1/contacts/user:u-gone", "/v1/contacts?email=gone@example.com"} {
		e := requireError(t, b.getContactAt(t, path), http.StatusNotFound, "")
		require.Contains(t, e.Error.Message, "no contact has this", path)
	}
}

// The answer says, per topic, whether the contact still gets it and, when
// not, since when and how they opted out; and whether the address is
// suppressed, why and since when.
func TestContactShowsSubscriptionsAndSuppression(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{"email": "ada@example.com"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u2", "traits": obj{"email": "bob@example.com"}}))
	ada := b.contactByUser(t, "u1")

	fresh := b.getContact(t, ada.ID)
	for _, topic := range []string{"onboarding", "education", "product", "marketing"} {
		require.Equal(t, topicJSON{Subscribed: true}, fresh.Subscriptions[topic], topic)
	}
	require.Len(t, fresh.Subscriptions, 4, "transactional email cannot be opted out of, so it is not listed")
	require.Equal(t, suppressionJSON{}, fresh.Suppression)

	require.NoError(t, b.store.SetPreferences(ctx, ada.ID, []nurture.Topic{nurture.TopicMarketing, nurture.TopicEducation}, nil))
	require.NoError(t, b.store.Suppress(ctx, "ADA@example.com", nurture.SuppressHardBounce, "550 5.1.1 user unknown"))
	var optedOut, suppressed time.Time
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT created_at FROM topic_optouts WHERE contact_id = $1 AND topic = 'marketing'`, ada.ID).Scan(&optedOut))
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT created_at FROM suppressions`).Scan(&suppressed))

	got := b.getContact(t, ada.ID)
	require.Equal(t, topicJSON{Subscribed: true}, got.Subscriptions["onboarding"])
	require.Equal(t, topicJSON{Subscribed: true}, got.Subscriptions["product"])
	for _, topic := range []string{"marketing", "education"} {
		s := got.Subscriptions[topic]
		require.False(t, s.Subscribed, topic)
		require.NotNil(t, s.UnsubscribedAt, topic)
		require.Equal(t, "api", s.Via, topic) // SetPreferences speaks as an admin call
	}
	require.True(t, optedOut.Equal(*got.Subscriptions["marketing"].UnsubscribedAt))
	require.True(t, got.Suppression.Suppressed)
	require.Equal(t, "hard_bounce", got.Suppression.Reason)
	require.Equal(t, "550 5.1.1 user unknown", got.Suppression.Detail)
	require.NotNil(t, got.Suppression.Since)
	require.True(t, suppressed.Equal(*got.Suppression.Since))

	other := b.getContact(t, b.contactByUser(t, "u2").ID)
	require.Equal(t, suppressionJSON{}, other.Suppression, "another address is not suppressed")
	require.Equal(t, topicJSON{Subscribed: true}, other.Subscriptions["marketing"])

	// A subscribed topic and an unsuppressed address carry no empty fields.
	res := b.getContactAt(t, "/v1/contacts/user:u2")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(res.body, &raw))
	require.Equal(t, map[string]any{"subscribed": true}, raw["subscriptions"].(map[string]any)["marketing"])
	require.Equal(t, map[string]any{"suppressed": false}, raw["suppression"])
}

// The answer spells its fields as Segment's SDKs send them, camelCase: no
// snake_case key anywhere but in what the product named itself (custom
// attributes, event names).
func TestContactFieldsAreSpelledLikeSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1",
		"context": obj{"ip": "192.0.2.1", "userAgent": "Mozilla/5.0", "timezone": "Europe/Paris", "locale": "fr-FR"},
		"traits": obj{"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "company": "Engines", "industry": "Software",
			"title": "CTO", "role": "Engineering", "department": "R&D", "teamSize": "11-50", "region": "eu", "country": "FR",
			"phone": "+33 1 23 45 67 89", "plan_tier": "pro"}}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "report_created"}))
	res := b.getContactAt(t, "/v1/contacts/user:u1")
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var got map[string]any
	require.NoError(t, json.Unmarshal(res.body, &got))

	require.ElementsMatch(t, []string{"id", "userId", "email", "profile", "attributes", "engagement", "subscriptions", "suppression", "company", "enrichment", "createdAt", "updatedAt"}, keys(got))
	require.Equal(t, map[string]any{
		"firstName": "Ada", "lastName": "Lovelace", "company": "Engines", "industry": "Software", "title": "CTO", "role": "Engineering",
		"department": "R&D", "teamSize": "11-50", "region": "eu", "country": "FR", "timezone": "Europe/Paris", "locale": "fr-FR",
		"phone": "+33 1 23 45 67 89", "ip": "192.0.2.1", "userAgent": "Mozilla/5.0",
	}, got["profile"], "every profile field, as Segment spells it")
	require.Equal(t, map[string]any{"plan_tier": "pro"}, got["attributes"], "the product's own keys as it sent them")
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			if path == "attributes" || path == "engagement.actions" {
				continue
			}
			require.NotContains(t, k, "_", "%s.%s is not camelCase", path, k)
			walk(strings.TrimPrefix(path+"."+k, "."), child)
		}
	}
	walk("", got)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
