package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// A card number that comes in, as a trait, a property, a number, a context
// value, or inside a batch, is stored as "**** 4242" and nowhere whole.
func TestCardNumbersAreNeverStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "anonymousId": "anon-1",
		"traits": obj{"email": "ada@example.com", "card": "4242 4242 4242 4242", "billing": obj{"pan": 4242424242424242}}}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "Order Completed", "messageId": "order-1",
		"properties": obj{"card": "4242424242424242", "total": 30, "items": []any{obj{"sku": "A"}, 4242424242424242}},
		"context":    obj{"userAgent": "4242 4242 4242 4242", "traits": obj{"card": "4242-4242-4242-4242"}}}))
	requireSuccess(t, b.post(t, "/v1/page", obj{"anonymousId": "anon-2", "name": "4242 4242 4242 4242",
		"properties": obj{"search": "4242 4242 4242 4242"}}))
	requireSuccess(t, b.post(t, "/v1/batch", obj{
		"batch": []obj{
			{"type": "identify", "userId": "u2", "traits": obj{"card": 4242424242424242}},
			{"type": "track", "userId": "u2", "event": "Card Added", "properties": obj{"number": "4242 4242 4242 4242"},
				"context": obj{"ip": "192.0.2.1"}},
			{"type": "page", "userId": "u2"},
		},
		"context": obj{"userAgent": "4242424242424242", "traits": obj{"card": "4242 4242 4242 4242"}},
	}))
	requireSuccess(t, b.do(t, request{path: "/v1/batch", key: b.ingest, gzip: true, body: obj{
		"batch": []obj{{"type": "track", "userId": "u3", "event": "Card Added", "properties": obj{"card": "4242424242424242"}}},
	}}))

	u1 := b.contactByUser(t, "u1")
	require.Equal(t, "**** 4242", u1.Attributes["card"])
	require.Equal(t, map[string]any{"pan": "**** 4242"}, u1.Attributes["billing"])
	ev := b.event(t, "order-1")
	require.Equal(t, "**** 4242", ev.Properties["card"])
	require.Equal(t, []any{map[string]any{"sku": "A"}, "**** 4242"}, ev.Properties["items"])
	require.Equal(t, "**** 4242", b.contactByUser(t, "u2").Attributes["card"])

	requireNowhere(t, b, "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242")
}

// A card number written inside text (a note, an event name, a page URL, a
// key) is masked where it stands, whatever part of a call carries it.
func TestCardNumbersInTextAreNeverStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const text = "paid with 5555-5555-5555-4444, thanks"
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "messageId": "id-1",
		"traits": obj{"email": "ada@example.com", "note": text, "title": "card 5555 5555 5555 4444",
			"history": []any{obj{"said": text}}, "5555555555554444": "as a key"}}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u1", "event": "Paid 5555555555554444", "messageId": "track-1",
		"properties": obj{"note": text},
		"context":    obj{"page": obj{"url": "https://example.com/pay?card=5555555555554444&ok=1"}}}))
	requireSuccess(t, b.post(t, "/v1/batch", obj{
		"batch": []obj{{"type": "page", "userId": "u1", "name": text, "messageId": "page-1",
			"properties": obj{"search": text}}},
		"context": obj{"page": obj{"referrer": "https://example.com/?q=" + "5555-5555-5555-4444"}},
	}))

	u1 := b.contactByUser(t, "u1")
	require.Equal(t, "paid with **** 4444, thanks", u1.Attributes["note"])
	require.Equal(t, "as a key", u1.Attributes["**** 4444"])
	require.Equal(t, "Paid **** 4444", b.event(t, "track-1").Name)
	require.Equal(t, "paid with **** 4444, thanks", b.event(t, "page-1").Name)
	requireNowhere(t, b, "5555555555554444", "5555-5555-5555-4444", "5555 5555 5555 4444")
}

// requireNowhere fails when any text or JSON column of any table of the
// test's schema holds one of the values.
func requireNowhere(t *testing.T, b *bundle, values ...string) {
	t.Helper()
	ctx := context.Background()
	schema := testkit.SchemaOf(b.pool)
	require.NotEmpty(t, schema)
	rows, err := b.pool.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea')
		ORDER BY table_name, column_name`, schema)
	require.NoError(t, err)
	type column struct{ Table, Column string }
	columns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[column])
	require.NoError(t, err)
	require.Greater(t, len(columns), 20, "the schema's columns were found")
	searched := map[string]bool{}
	for _, c := range columns {
		searched[c.Table] = true
		for _, v := range values {
			var n int
			sql := fmt.Sprintf(`SELECT count(*) FROM %s WHERE strpos(%s::text, $1) > 0`,
				pgx.Identifier{schema, c.Table}.Sanitize(), pgx.Identifier{c.Column}.Sanitize())
			require.NoError(t, b.pool.QueryRow(ctx, sql, v).Scan(&n), sql)
			require.Zero(t, n, "%q is stored in %s.%s", v, c.Table, c.Column)
		}
	}
	for _, table := range []string{"contacts", "events", "anonymous_ids", "engagement_actions", "contact_email_changes"} {
		require.True(t, searched[table], table)
	}
}

// Ids are the product's, not card numbers: two users whose numeric ids
// happen to pass the Luhn check and end alike (Snowflake ids do, one in
// ten) stay two users, and two calls with such messageIds stay two events.
func TestIDsThatLookLikeCardNumbersStayDistinct(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Both ids are 18 digits, pass the Luhn check and end in 0077.
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": 117358495712090077, "messageId": "117358495712090077",
		"traits": obj{"email": "first@example.com"}}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "117358495712170077", "messageId": "117358495712170077",
		"traits": obj{"email": "second@example.com"}}))

	require.Equal(t, 2, b.counts(t).Contacts)
	require.Equal(t, 2, b.counts(t).Events)
	require.Equal(t, "first@example.com", *b.contactByUser(t, "117358495712090077").Email)
	require.Equal(t, "second@example.com", *b.contactByUser(t, "117358495712170077").Email)
	b.event(t, "117358495712090077")
	b.event(t, "117358495712170077")
}
