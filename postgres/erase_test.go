package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

var erasureKey = []byte("erasure-key-of-the-tests-0123456789abcdef")

// person is what fillContact wrote for one contact: the values that name
// them, which an export of anyone else and a dump after their erasure
// must not hold.
type person struct {
	id    int64
	email string
	names []string // first and last name, and markers written in their rows
}

// fillContact writes a contact with a row in every personal table of the
// data map, through the store where it has a way and by SQL where only a
// worker would write. Two contacts filled with the same company share it.
func fillContact(t *testing.T, db *postgres.DB, tag string, companyID int64) person {
	t.Helper()
	ctx := context.Background()
	email := tag + "@" + tag + "-mail.example"
	p := person{email: email, names: []string{"First" + tag, "Last" + tag, "anon-" + tag, "evt-" + tag, "ip-" + tag}}
	c, _, err := db.UpsertContact(ctx, &nurture.Contact{ExternalID: "user-" + tag, Email: email, FirstName: p.names[0], LastName: p.names[1],
		Title: "Engineer", Attributes: map[string]any{"plan": "trial-" + tag}})
	require.NoError(t, err)
	p.id = c.ID
	hash := nurture.EmailHash(email)
	stmts := []string{
		`UPDATE contacts SET company_id = $2 WHERE id = $1`,
		`INSERT INTO anonymous_ids (anonymous_id, contact_id) VALUES ('anon-' || $3, $1)`,
		`INSERT INTO events (contact_id, anonymous_id, message_id, type, name, properties, occurred_at)
			VALUES ($1, 'anon-' || $3, 'evt-' || $3, 'track', 'signed_up', jsonb_build_object('who', $3::text), now())`,
		`INSERT INTO contact_email_changes (contact_id, old_email, new_email, changed_at) VALUES ($1, 'old-' || $3 || '@example.com', $4, now())`,
		`INSERT INTO engagement (contact_id, page_views) VALUES ($1, 3)`,
		`INSERT INTO engagement_actions (contact_id, action, count) VALUES ($1, 'signed_up', 1)`,
		`INSERT INTO topic_optouts (contact_id, topic) VALUES ($1, 'marketing')`,
		`INSERT INTO topic_optins (contact_id, topic, via) VALUES ($1, 'product', 'api')`,
		`INSERT INTO consent_records (contact_id, topic, granted, source, ip) VALUES ($1, 'product', true, 'preference_page', 'ip-' || $3)`,
		`INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, sent_at, topic) VALUES ('welcome:' || $3, $1, 'welcome', now(), 'sent', now(), 'onboarding')`,
		`INSERT INTO message_status_history (message_id, status) SELECT id, 'sent' FROM messages WHERE contact_id = $1`,
		`INSERT INTO email_events (message_id, contact_id, kind, class, at, ip) SELECT id, $1, 'open', 'human', now(), 'ip-' || $3 FROM messages WHERE contact_id = $1`,
		`INSERT INTO enrollments (contact_id, sequence_id, version, topic, state, started_at, next_run) VALUES ($1, 'onboarding', 'v1', 'onboarding', '{}', now(), now())`,
		`INSERT INTO enrollment_history (enrollment_id, kind, at) SELECT id, 'entered', now() FROM enrollments WHERE contact_id = $1`,
		`INSERT INTO enrollment_wakes (contact_id, key, enrollment_id) SELECT $1, 'traits', id FROM enrollments WHERE contact_id = $1`,
		`INSERT INTO message_reasons (message_id, enrollment_id, sequence_id, version, step)
			SELECT m.id, e.id, 'onboarding', 'v1', 'welcome' FROM messages m, enrollments e WHERE m.contact_id = $1 AND e.contact_id = $1`,
		`INSERT INTO sequence_signals (contact_id, kind, name, at) VALUES ($1, 'event', 'signed_up', now())`,
		`INSERT INTO campaign_audience (campaign_id, contact_id, due_at, bucket) SELECT id, $1, now(), now() FROM campaigns ORDER BY id LIMIT 1`,
		`UPDATE contact_enrichment SET fields = '[{"field":"seniority","value":"Individual contributor","source":"title","method":"title","at":"2026-01-02T03:04:05Z"}]' WHERE contact_id = $1`,
		`INSERT INTO export_requests (contact_id, requested_at) VALUES ($1, now())`,
		`INSERT INTO suppressions (email_hash, email, reason) VALUES ($5, $4, 'hard_bounce')`,
		`INSERT INTO bounces (email_hash, type, provider, event_key, at) VALUES ($5, 'hard', 'ses', 'b-' || $3, now())`,
		`INSERT INTO soft_bounces (email_hash, count, last_at) VALUES ($5, 1, now())`,
	}
	for _, s := range stmts {
		// Every statement gets every argument; each casts those it uses.
		_, err := db.Pool().Exec(ctx, `WITH args AS (SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::bytea) `+s, c.ID, companyID, tag, email, hash)
		require.NoError(t, err, s)
	}
	return p
}

// world is a schema with two people, ada and bob, at the same company,
// with a campaign to both.
func world(t *testing.T) (*postgres.DB, person, person) {
	t.Helper()
	db, ctx := setup(t)
	db.ErasureKey = erasureKey
	var company int64
	require.NoError(t, db.Pool().QueryRow(ctx, `INSERT INTO companies (name, domain) VALUES ('Shared Co', 'shared.example') RETURNING id`).Scan(&company))
	_, err := db.Pool().Exec(ctx, `INSERT INTO campaigns (name, template, topic, filter, send_at) VALUES ('launch', 'welcome', 'marketing', '{}', now())`)
	require.NoError(t, err)
	return db, fillContact(t, db, "ada", company), fillContact(t, db, "bob", company)
}

// rowCounts counts, in each personal table, the rows of p.
func rowCounts(t *testing.T, db *postgres.DB, p person, emails ...string) map[string]int {
	t.Helper()
	personal, _ := postgres.DataMap()
	var hashes [][]byte
	for _, e := range append(emails, p.email, "old-"+strings.Split(p.email, "@")[0]+"@example.com") {
		hashes = append(hashes, nurture.EmailHash(e))
	}
	out := map[string]int{}
	for table := range personal {
		var n int
		err := db.Pool().QueryRow(context.Background(), `WITH args AS (SELECT $1::bigint, $2::bytea[]) SELECT count(*) FROM `+table+` WHERE `+postgres.RowsOf(table), p.id, hashes).Scan(&n)
		require.NoError(t, err, table)
		out[table] = n
	}
	return out
}

// The map names every table of the schema: a new table without export
// and erasure support fails here.
func TestDataMapCoversEveryTable(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	rows, err := db.Pool().Query(ctx, `SELECT relname FROM pg_class
		WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY 1`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)
	personal, impersonal := postgres.DataMap()
	for _, table := range tables {
		_, isPersonal := personal[table]
		_, isNot := impersonal[table]
		require.NotEqualf(t, isPersonal, isNot, "table %s: add it to postgres/datamap.go, as personal (how its rows belong to a contact) or impersonal (why it holds none)", table)
	}
	for table := range personal {
		require.Contains(t, tables, table, "the data map names a table the schema does not have")
	}
	for table := range impersonal {
		if table == "goose_lock" && !slices.Contains(tables, table) {
			continue // made only by a migration run through pgbouncer (postgres.Migrate)
		}
		require.Contains(t, tables, table, "the data map names a table the schema does not have")
	}
}

func TestExportHoldsEveryTableOfTheContactAndNoOneElse(t *testing.T) {
	t.Parallel()
	db, ada, bob := world(t)
	ctx := context.Background()

	raw, err := db.ExportContact(ctx, ada.id)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	requireMatchesSchema(t, doc)
	require.InDelta(t, float64(nurture.ExportVersion), doc["version"], 0)

	personal, _ := postgres.DataMap()
	for table, n := range rowCounts(t, db, ada) {
		require.Positive(t, n, "fillContact writes a row of %s", table)
		section := personal[table]
		if table == "contacts" {
			require.Equal(t, ada.email, doc["contact"].(map[string]any)["email"])
			continue
		}
		list, ok := doc[section].([]any)
		if in := map[string]string{"topic_optouts": "optOuts", "topic_optins": "optIns", "consent_records": "history"}[table]; in != "" {
			list, ok = doc["consents"].(map[string]any)[in].([]any)
		}
		require.Truef(t, ok, "section %s of table %s is a list", section, table)
		require.Lenf(t, list, n, "every row of %s, in %s", table, section)
	}
	for _, s := range append([]string{bob.email, "user-bob", "trial-bob"}, bob.names...) {
		require.NotContains(t, string(raw), s, "nothing of anyone else")
	}

	// The source of each field.
	sources := map[string]string{}
	for _, f := range doc["profile"].([]any) {
		f := f.(map[string]any)
		sources[f["field"].(string)] = f["source"].(string)
	}
	require.Equal(t, nurture.SourceProduct, sources["first_name"])
	require.Equal(t, nurture.SourceProduct, sources["email"])

	_, err = db.ExportContact(ctx, 1<<40)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

func TestEraseLeavesNoTraceAndIsIdempotent(t *testing.T) {
	t.Parallel()
	db, ada, bob := world(t)
	ctx := context.Background()
	bobBefore := rowCounts(t, db, bob)

	require.NoError(t, db.EraseContact(ctx, ada.id, nurture.ErasedBy{APIKeyID: 7}))

	for table, n := range rowCounts(t, db, ada) {
		require.Zerof(t, n, "no row of %s left", table)
	}
	require.Equal(t, bobBefore, rowCounts(t, db, bob), "the other contact keeps everything")
	var companies int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM companies`).Scan(&companies))
	require.Equal(t, 1, companies, "the shared company stays")

	audit, err := db.ErasureAudit(ctx, ada.id)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, "api_key", audit[0].Actor)
	require.Equal(t, int64(7), audit[0].APIKeyID)
	require.Equal(t, int64(1), audit[0].Rows["contacts"])

	dump := pgDump(t, db)
	for _, s := range append([]string{ada.email, strings.ToUpper(ada.email[:1]) + ada.email[1:], hex.EncodeToString(nurture.EmailHash(ada.email)), "user-ada", "trial-ada"}, ada.names...) {
		require.NotContains(t, dump, s, "the dump holds no trace of the erased person")
	}
	require.Contains(t, dump, bob.email, "the dump is of the right schema")

	// A second call finds no one and changes nothing.
	before := pgDump(t, db)
	err = db.EraseContact(ctx, ada.id, nurture.ErasedBy{})
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
	_, err = db.EraseContactByEmail(ctx, ada.email, nurture.ErasedBy{})
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
	require.Equal(t, dumpDigest(before), dumpDigest(pgDump(t, db)), "the second call changed nothing")
	_, err = db.ExportContact(ctx, ada.id)
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err))
}

// A contact marked erased by a call that stopped before deleting is
// finished by the next one.
func TestEraseFinishesAnInterruptedErasure(t *testing.T) {
	t.Parallel()
	db, ada, _ := world(t)
	ctx := context.Background()
	_, err := db.Pool().Exec(ctx, `UPDATE contacts SET erased_at = now() WHERE id = $1`, ada.id)
	require.NoError(t, err)
	id, err := db.EraseContactByEmail(ctx, strings.ToUpper(ada.email), nurture.ErasedBy{})
	require.NoError(t, err)
	require.Equal(t, ada.id, id)
	for table, n := range rowCounts(t, db, ada) {
		require.Zerof(t, n, "no row of %s left", table)
	}
}

func TestAnErasedAddressComingBackIsHeldUntilReleased(t *testing.T) {
	t.Parallel()
	db, ada, _ := world(t)
	ctx := context.Background()
	require.NoError(t, db.EraseContact(ctx, ada.id, nurture.ErasedBy{}))

	for name, write := range map[string]func(email string) (int64, error){
		"upsert": func(email string) (int64, error) {
			c, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: email})
			if err != nil {
				return 0, err
			}
			return c.ID, nil
		},
		"ingest": func(email string) (int64, error) {
			_, err := db.Ingest(ctx, []nurture.Call{{Type: nurture.EventIdentify, MessageID: "m-" + email, UserID: "again",
				Profile: &nurture.Contact{Email: email}, Timestamp: time.Now()}}, nil, time.Now())
			if err != nil {
				return 0, err
			}
			c, err := db.ContactByEmail(ctx, email)
			if err != nil {
				return 0, err
			}
			return c.ID, nil
		},
	} {
		id, err := write(strings.ToUpper(ada.email))
		require.NoError(t, err, name)
		c, err := db.Contact(ctx, id)
		require.NoError(t, err)
		require.False(t, c.HeldSince.IsZero(), "%s: held", name)
		reason, suppressed, err := db.Suppressed(ctx, ada.email)
		require.NoError(t, err)
		require.True(t, suppressed, "%s: suppressed again, as before its erasure", name)
		require.Equal(t, nurture.SuppressHardBounce, reason)

		other, _, err := db.UpsertContact(ctx, &nurture.Contact{Email: "someone-new@example.com"})
		require.NoError(t, err)
		require.True(t, other.HeldSince.IsZero(), "an address never erased is not held")

		if name == "ingest" {
			// A new opt-in, as the person's or the operator's consent.
			require.NoError(t, db.ChangeConsents(ctx, nurture.ConsentChange{ContactID: id, OptIn: []nurture.Topic{nurture.TopicProduct},
				Source: nurture.ConsentAPI}))
		} else {
			require.NoError(t, db.ReleaseHold(ctx, id))
		}
		c, err = db.Contact(ctx, id)
		require.NoError(t, err)
		require.True(t, c.HeldSince.IsZero(), "%s: released", name)
		// Written again: not held again, the opt-in stands.
		_, _, err = db.UpsertContact(ctx, &nurture.Contact{Email: ada.email, FirstName: "Ada"})
		require.NoError(t, err)
		c, err = db.Contact(ctx, id)
		require.NoError(t, err)
		require.True(t, c.HeldSince.IsZero(), "%s: the opt-in stands", name)

		// Erased again for the next way of coming back.
		require.NoError(t, db.EraseContact(ctx, id, nurture.ErasedBy{}))
		_, err = db.Pool().Exec(ctx, `DELETE FROM contacts WHERE email = 'someone-new@example.com'`)
		require.NoError(t, err)
	}
}

// pgDump dumps the test's schema as plain SQL.
func pgDump(t *testing.T, db *postgres.DB) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Skip("pg_dump is not installed")
	}
	var schema string
	require.NoError(t, db.Pool().QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema))
	cfg := db.Pool().Config().ConnConfig
	cmd := exec.Command(bin, "-h", cfg.Host, "-p", fmt.Sprint(cfg.Port), "-U", cfg.User, "-n", schema, cfg.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+cfg.Password)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	return out.String()
}

// dumpDigest is a digest of a dump without its \restrict lines, which
// pg_dump draws at random for each run.
func dumpDigest(dump string) string {
	var kept []string
	for _, line := range strings.Split(dump, "\n") {
		if !strings.HasPrefix(line, `\restrict`) && !strings.HasPrefix(line, `\unrestrict`) {
			kept = append(kept, line)
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(kept, "\n")))
	return hex.EncodeToString(sum[:])
}

// requireMatchesSchema checks doc against docs/export.schema.json: the
// types, required keys and item shapes it declares (the subset of JSON
// Schema the file uses).
func requireMatchesSchema(t *testing.T, doc any) {
	t.Helper()
	raw, err := os.ReadFile("../docs/export.schema.json")
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	for _, p := range validate(schema, doc, "$") {
		t.Error(p)
	}
}

func validate(schema map[string]any, v any, at string) []string {
	var problems []string
	types := schemaTypes(schema["type"])
	if slices.Contains(types, "number") {
		types = append(types, "integer")
	}
	if len(types) > 0 && !slices.Contains(types, jsonType(v)) {
		return []string{fmt.Sprintf("%s: is %s, the schema wants %v", at, jsonType(v), types)}
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		problems = append(problems, fmt.Sprintf("%s: is %v, the schema wants %v", at, v, c))
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		problems = append(problems, fmt.Sprintf("%s: is %v, the schema wants one of %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		required, _ := schema["required"].([]any)
		for _, k := range required {
			if _, ok := v[k.(string)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: lacks %s", at, k))
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, sub := range props {
			if val, ok := v[k]; ok {
				problems = append(problems, validate(sub.(map[string]any), val, at+"."+k)...)
			}
		}
		if extra, ok := schema["additionalProperties"].(bool); ok && !extra {
			for k := range v {
				if _, ok := props[k]; !ok {
					problems = append(problems, fmt.Sprintf("%s: has %s, which the schema does not describe", at, k))
				}
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range v {
				problems = append(problems, validate(items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

func schemaTypes(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = s.(string)
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}
