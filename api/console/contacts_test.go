package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
)

// erasureKey keys the hash erasure keeps of an address, in these tests.
var erasureKey = []byte("erasure-key-of-the-console-tests-0123456789")

// contactPages is the contacts pages on the harness's store, which can
// erase.
func contactPages(h *harness) *console.Contacts {
	h.store.ErasureKey = erasureKey
	return &console.Contacts{Store: h.store}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// visible is the text of a page as a person reads it: no tags, entities
// decoded, spaces folded.
func visible(page string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(page, " "))), " ")
}

// seedAda makes Ada Lovelace: a profile partly enriched, a company set by
// a group call and by research, a consent withdrawn, an enrollment, and a
// timeline (events, a welcome email sent, opened and clicked).
func seedAda(t *testing.T, h *harness) int64 {
	t.Helper()
	ctx := context.Background()
	var company int64
	require.NoError(t, h.pool.QueryRow(ctx, `INSERT INTO companies (name, domain, industry, trait_times, enriched)
		VALUES ('Analytical Engines', 'engines.example', 'Computing', '{"name": "2026-02-01T10:00:00Z"}',
		'[{"field": "industry", "value": "Computing", "source": "https://engines.example/about", "method": "meta description", "at": "2026-02-02T10:00:00Z"}]')
		RETURNING id`).Scan(&company))
	c, _, err := h.store.UpsertContact(ctx, &nurture.Contact{ExternalID: "u-ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Title: "Analyst", Attributes: map[string]any{"plan": "pro", "seats": float64(3)}})
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `UPDATE contacts SET company_id = $2, department = 'Research' WHERE id = $1`, c.ID, company)
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `INSERT INTO contact_enrichment (contact_id, status, fields, enriched_at)
		VALUES ($1, 'ok', '[{"field": "department", "value": "Research", "source": "title: Analyst", "method": "title rules", "at": "2026-02-03T10:00:00Z"}]', now())
		ON CONFLICT (contact_id) DO UPDATE SET status = excluded.status, fields = excluded.fields, enriched_at = excluded.enriched_at`, c.ID)
	require.NoError(t, err)
	require.NoError(t, h.store.ChangeConsents(ctx, nurture.ConsentChange{ContactID: c.ID, OptOut: []nurture.Topic{nurture.TopicMarketing},
		Source: nurture.ConsentPreferencePage}))
	_, reason, err := h.store.Enroll(ctx, nurture.Enrollment{ContactID: c.ID, Sequence: "onboarding", Version: "v3", Topic: nurture.TopicOnboarding,
		State: []byte(`{}`), NextRun: now.Add(time.Hour), Started: now.Add(-time.Hour)}, func([]nurture.Enrollment) (bool, string) { return true, "" })
	require.NoError(t, err)
	require.Empty(t, reason)
	t0 := now.Add(-10 * time.Hour)
	for i, name := range []string{"Signed Up", "Created Project"} {
		_, err := h.pool.Exec(ctx, `INSERT INTO events (contact_id, message_id, type, name, occurred_at) VALUES ($1, $2, 'track', $3, $4)`,
			c.ID, fmt.Sprintf("ada-%d", i), name, t0.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
	}
	m, _, err := h.store.CreateMessage(ctx, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(c.ID), ContactID: c.ID, Template: "welcome",
		SendAt: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = $2 WHERE id = $1`, m.ID, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.NoError(t, h.store.RecordHits(ctx, []nurture.Hit{
		{Kind: nurture.HitOpen, MessageID: m.ID, ContactID: c.ID, At: t0.Add(3 * time.Hour), Class: nurture.ClassHuman},
		{Kind: nurture.HitClick, MessageID: m.ID, ContactID: c.ID, At: t0.Add(4 * time.Hour), URL: "https://app.example/start", Class: nurture.ClassHuman},
	}))
	return c.ID
}

// addContact adds a contact with an address and a name.
func addContact(t *testing.T, h *harness, email, first, last, company string) int64 {
	t.Helper()
	c, _, err := h.store.UpsertContact(context.Background(), &nurture.Contact{Email: email, FirstName: first, LastName: last, Company: company})
	require.NoError(t, err)
	return c.ID
}

func TestContactsSearch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	ada := seedAda(t, h)
	addContact(t, h, "grace@navy.example", "Grace", "Hopper", "ADA Systems")
	addContact(t, h, "alan@bletchley.example", "Alan", "Turing", "Bletchley Park")

	for _, tc := range []struct {
		name, query string
		status      int
		shows       []string
		hides       []string
	}{
		{"no search yet", "", http.StatusOK, []string{"Find a contact"}, []string{"Contacts found", "No contact found"}},
		{"a name's beginning", "?q=ada", http.StatusOK, []string{"Ada Lovelace", "Grace Hopper", "company"}, []string{"Alan Turing"}},
		{"a last name", "?q=Tur", http.StatusOK, []string{"Alan Turing alan@bletchley.example"}, []string{"Ada Lovelace"}},
		{"a company", "?q=bletchley", http.StatusOK, []string{"Alan Turing"}, []string{"Grace"}},
		{"a whole address", "?q=ADA%40example.com", http.StatusOK, []string{"Ada Lovelace", "email"}, []string{"Grace"}},
		{"an address's beginning", "?q=grace%40", http.StatusOK, []string{"Grace Hopper"}, []string{"Ada Lovelace"}},
		{"nothing found", "?q=zed", http.StatusOK, []string{"No contact found", "Nothing matches “zed”"}, nil},
		{"blank", "?q=+++", http.StatusBadRequest, []string{"q: is empty"}, []string{"No contact found"}},
		{"too long", "?q=" + strings.Repeat("a", 300), http.StatusBadRequest, []string{"q: is longer than 254 bytes"}, nil},
		{"a control character", "?q=a%01b", http.StatusBadRequest, []string{"q: contains a control character"}, nil},
		{"a broken cursor", "?q=ada&after=%21%21", http.StatusBadRequest, []string{"after: is not a place in the results"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, res := h.get(t, c, "/admin/contacts"+tc.query)
			require.Equal(t, tc.status, res.StatusCode)
			text := visible(page)
			for _, s := range tc.shows {
				require.Contains(t, text, s)
			}
			for _, s := range tc.hides {
				require.NotContains(t, text, s)
			}
		})
	}
	page, _ := h.get(t, c, "/admin/contacts?q=ada")
	require.Contains(t, page, fmt.Sprintf(`href="/admin/contacts/%d"`, ada))
}

// Results come 50 a page, with a link to the next.
func TestContactsSearchPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	for i := range 62 {
		addContact(t, h, fmt.Sprintf("sam%02d@example.com", i), "Sam", fmt.Sprintf("S%02d", i), "")
	}
	page, res := h.get(t, c, "/admin/contacts?q=sam")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 50, strings.Count(page, "<tr>\n  <td><a href=\"/admin/contacts/"))
	require.Contains(t, visible(page), "Sam S49")
	require.NotContains(t, visible(page), "Sam S50")
	next := regexp.MustCompile(`href="(/admin/contacts\?q=sam&amp;after=[^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, next, "a link to the next page")
	page, res = h.get(t, c, html.UnescapeString(next[1]))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 12, strings.Count(page, "<tr>\n  <td><a href=\"/admin/contacts/"))
	require.Contains(t, visible(page), "Sam S50")
	require.Contains(t, visible(page), "Sam S61")
	require.NotContains(t, page, "after=", "the last page links to no next one")
	require.Contains(t, visible(page), "First page")
}

func TestContactPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	ada := seedAda(t, h)

	page, res := h.get(t, c, fmt.Sprintf("/admin/contacts/%d", ada))
	require.Equal(t, http.StatusOK, res.StatusCode)
	text := visible(page)
	for _, s := range []string{
		"Ada Lovelace", "user id u-ada",
		// The source of each value.
		"First name Ada Product",
		"Department Research Enriched from title: Analyst (title rules) 2026-02-03 10:00 UTC",
		"plan pro Product", "seats 3 Product",
		"Company: Analytical Engines",
		"Name Analytical Engines Group call 2026-02-01 10:00 UTC",
		"Industry Computing Enriched from https://engines.example/about (meta description)",
		"Domain engines.example Product",
		// Consents and subscriptions.
		"The address is not suppressed.",
		"marketing No: opted out preference_page", "onboarding Yes (by default)",
		"History of consent (1 changes)",
		// Enrollments.
		"onboarding version v3 — active",
		// The timeline, newest first.
		"Clicked a link in “welcome” https://app.example/start · by the person",
		"Opened “welcome” by the person",
		"Email “welcome” sent",
		"Track Created Project", "Track Signed Up",
	} {
		require.Contains(t, text, s)
	}
	require.Less(t, strings.Index(text, "Clicked a link"), strings.Index(text, "Track Signed Up"), "newest first")
	require.NotContains(t, text, "Older")

	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/admin/contacts/999999", http.StatusNotFound, "There is no contact with this id"},
		{"/admin/contacts/abc", http.StatusBadRequest, "id: must be a contact's id"},
		{"/admin/contacts/0", http.StatusBadRequest, "id: must be a contact's id"},
		{fmt.Sprintf("/admin/contacts/%d?before=yesterday", ada), http.StatusBadRequest, "before: is not a place in the timeline"},
	} {
		page, res := h.get(t, c, tc.path)
		require.Equal(t, tc.status, res.StatusCode, tc.path)
		require.Contains(t, visible(page), tc.says, tc.path)
	}
}

// A long timeline comes 50 lines a page, the older ones behind a link.
func TestContactTimelinePages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	id := addContact(t, h, "busy@example.com", "Busy", "Bee", "")
	for i := range 55 {
		_, err := h.pool.Exec(context.Background(), `INSERT INTO events (contact_id, message_id, type, name, occurred_at) VALUES ($1, $2, 'track', $3, $4)`,
			id, fmt.Sprintf("busy-%d", i), fmt.Sprintf("Step %02d", i), now.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	page, _ := h.get(t, c, fmt.Sprintf("/admin/contacts/%d", id))
	require.Equal(t, 50, strings.Count(page, `<li class="tl-event">`))
	require.Contains(t, visible(page), "Step 54")
	require.NotContains(t, visible(page), "Step 04")
	older := regexp.MustCompile(`href="([^"]+before=[^"]+)">Older`).FindStringSubmatch(page)
	require.NotNil(t, older)
	page, res := h.get(t, c, html.UnescapeString(older[1]))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 5, strings.Count(page, `<li class="tl-event">`))
	require.Contains(t, visible(page), "Step 04")
	require.Contains(t, visible(page), "Step 00")
	require.NotContains(t, visible(page), "Step 05")
	require.Contains(t, visible(page), "Back to the newest")
}

// auditLines lists the audit log's lines as "action target by key".
func auditLines(t *testing.T, h *harness) []string {
	t.Helper()
	entries, err := h.store.AuditLog(context.Background(), time.Time{}, 100)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+" "+e.Target+" by "+e.KeyName)
	}
	return out
}

func TestContactExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	ada := seedAda(t, h)
	path := fmt.Sprintf("/admin/contacts/%d", ada)

	// Without the form's token: refused, and nothing audited.
	res := h.post(t, c, path+"/export", url.Values{})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.NotContains(t, strings.Join(auditLines(t, h), "\n"), "contact.export")

	page, _ := h.get(t, c, path)
	res, err := c.PostForm(h.srv.URL+path+"/export", url.Values{"csrf": {csrfOf(t, page)}})
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, fmt.Sprintf(`attachment; filename="contact-%d-export.json"`, ada), res.Header.Get("Content-Disposition"))
	want, err := h.store.ExportContact(context.Background(), ada)
	require.NoError(t, err)
	var got, same map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.NoError(t, json.Unmarshal(want, &same))
	delete(got, "exportedAt")
	delete(same, "exportedAt")
	require.Equal(t, same, got, "the document of GET /v1/contacts/{id}/export")
	require.Contains(t, auditLines(t, h), fmt.Sprintf("contact.export contact:%d by ops admin", ada))

	res = h.submit(t, c, path, "/admin/contacts/999999/export", url.Values{})
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestContactErase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	ada := seedAda(t, h)
	path := fmt.Sprintf("/admin/contacts/%d", ada)

	page, res := h.get(t, c, path+"/erase")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, visible(page), "Erase Ada Lovelace?")
	require.Contains(t, visible(page), "Type ada@example.com to confirm")

	for _, tc := range []struct {
		name   string
		form   url.Values
		csrf   bool
		status int
		says   string
	}{
		{"without the form's token", url.Values{"confirm": {"ada@example.com"}}, false, http.StatusForbidden, "This form has expired"},
		{"without the confirmation", url.Values{}, true, http.StatusBadRequest, "confirm: type ada@example.com exactly"},
		{"with another address", url.Values{"confirm": {"grace@example.com"}}, true, http.StatusBadRequest, "confirm: type ada@example.com exactly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.csrf {
				page, _ := h.get(t, c, path+"/erase")
				tc.form.Set("csrf", csrfOf(t, page))
			}
			res, err := c.PostForm(h.srv.URL+path+"/erase", tc.form)
			require.NoError(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, tc.status, res.StatusCode)
			require.Contains(t, visible(string(body)), tc.says)
			_, res = h.get(t, c, path)
			require.Equal(t, http.StatusOK, res.StatusCode, "the contact is still there")
		})
	}
	require.NotContains(t, strings.Join(auditLines(t, h), "\n"), "contact.erase")

	res = h.submit(t, c, path+"/erase", path+"/erase", url.Values{"confirm": {" ADA@example.com "}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/admin/contacts?done="), loc)
	page, _ = h.get(t, c, loc)
	require.Contains(t, visible(page), fmt.Sprintf("Contact %d was erased.", ada))

	_, res = h.get(t, c, path)
	require.Equal(t, http.StatusNotFound, res.StatusCode, "the erased contact's page")
	page, _ = h.get(t, c, "/admin/contacts?q=ada")
	require.NotContains(t, visible(page), "Ada Lovelace")
	page, _ = h.get(t, c, "/admin/contacts?q=ada%40example.com")
	require.Contains(t, visible(page), "No contact found")
	require.Contains(t, auditLines(t, h), fmt.Sprintf("contact.erase contact:%d by ops admin", ada))
	var actor string
	var keyID int64
	require.NoError(t, h.pool.QueryRow(context.Background(), `SELECT actor, api_key_id FROM erasure_audit WHERE contact_id = $1`, ada).Scan(&actor, &keyID))
	require.Equal(t, "api_key", actor, "erased on behalf of the signed-in key")
	var named string
	require.NoError(t, h.pool.QueryRow(context.Background(), `SELECT name FROM api_keys WHERE id = $1`, keyID).Scan(&named))
	require.Equal(t, "ops admin", named)

	// A second erasure finds no one.
	res = h.submit(t, c, "/admin/contacts", path+"/erase", url.Values{"confirm": {"ada@example.com"}})
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}
