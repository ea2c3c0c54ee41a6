package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
	"github.com/nurture-email/nurture/templates"
)

// campaignPages is the campaigns concern on the harness's store, with the
// starter templates.
func campaignPages(t *testing.T, h *harness) *console.Campaigns {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	return &console.Campaigns{Store: h.store, Counts: h.store, Segments: h.store, Audience: h.store, Templates: tmpl}
}

// seedContacts adds contacts with the given plans, and returns their ids.
func seedContacts(t *testing.T, h *harness, plans ...string) []int64 {
	t.Helper()
	ids := make([]int64, len(plans))
	for i, plan := range plans {
		c, _, err := h.store.UpsertContact(context.Background(), &nurture.Contact{
			Email: "person" + strconv.Itoa(i) + "-" + plan + "@example.com", Attributes: map[string]any{"plan": plan}})
		require.NoError(t, err)
		ids[i] = c.ID
	}
	return ids
}

// seedSegment saves a segment of the condition text.
func seedSegment(t *testing.T, h *harness, name, text string) *nurture.Segment {
	t.Helper()
	cond, err := nurture.ParseSegmentFilter(text)
	require.NoError(t, err)
	s := &nurture.Segment{Name: name, Filter: text, Condition: cond}
	require.NoError(t, h.store.CreateSegment(context.Background(), s))
	return s
}

// seedCampaign stores a draft campaign due at a moment a day from now.
func seedCampaign(t *testing.T, h *harness, name string, edit ...func(*nurture.Campaign)) *nurture.Campaign {
	t.Helper()
	cond, err := nurture.ParseSegmentFilter(`traits.plan == "pro"`)
	require.NoError(t, err)
	c := &nurture.Campaign{Name: name, Template: "welcome", Topic: "onboarding", Filter: `traits.plan == "pro"`, Condition: cond,
		Status: "draft", SendAt: now.Add(24 * time.Hour), StartsAt: now.Add(24 * time.Hour), FallbackZone: "UTC"}
	for _, e := range edit {
		e(c)
	}
	require.NoError(t, h.store.CreateCampaign(context.Background(), c))
	return c
}

// seedMessage stores a campaign's email to a contact in the given status.
func seedMessage(t *testing.T, h *harness, campaignID, contactID int64, status string) int64 {
	t.Helper()
	var id int64
	err := h.pool.QueryRow(context.Background(), `INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, campaign_id)
		VALUES ($1, $2, 'welcome', now(), $3, $4) RETURNING id`,
		nurture.CampaignDedupeKey(campaignID, contactID), contactID, status, campaignID).Scan(&id)
	require.NoError(t, err)
	return id
}

// seedHit stores an open or a click of a message.
func seedHit(t *testing.T, h *harness, messageID, contactID int64, kind, class, link string) {
	t.Helper()
	var u any
	if link != "" {
		u = link
	}
	_, err := h.pool.Exec(context.Background(), `INSERT INTO email_events (message_id, contact_id, kind, class, url, at)
		VALUES ($1, $2, $3, $4, $5, now())`, messageID, contactID, kind, class, u)
	require.NoError(t, err)
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

// auditActions are the audit log's campaign actions and their targets,
// newest first.
func campaignAuditActions(t *testing.T, h *harness) []string {
	t.Helper()
	entries, err := h.store.AuditLog(context.Background(), time.Time{}, 100)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "campaign.") {
			out = append(out, e.Action+" "+e.Target)
		}
	}
	return out
}

func TestCampaignListShowsCampaignsNewestFirstWithTheirFigures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)

	page, res := h.get(t, c, "/admin/campaigns")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "No campaigns yet")

	seg := seedSegment(t, h, "Pro customers", `traits.plan == "pro"`)
	older := seedCampaign(t, h, "March newsletter", func(c *nurture.Campaign) { c.SegmentID = seg.ID })
	newer := seedCampaign(t, h, "Spring offer", func(c *nurture.Campaign) {
		c.SendAt, c.LocalDate, c.LocalMinute, c.FallbackZone = time.Time{}, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 9*60, "Europe/Paris"
	})
	people := seedContacts(t, h, "pro", "pro", "pro")
	m0 := seedMessage(t, h, older.ID, people[0], "sent")
	m1 := seedMessage(t, h, older.ID, people[1], "sent")
	seedMessage(t, h, older.ID, people[2], "bounced")
	seedHit(t, h, m0, people[0], "open", "human", "")
	seedHit(t, h, m0, people[0], "click", "human", "https://example.com/a")
	seedHit(t, h, m1, people[1], "open", "machine", "")

	page, res = h.get(t, c, "/admin/campaigns")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Less(t, strings.Index(page, "Spring offer"), strings.Index(page, "March newsletter"), "newest first")
	require.Contains(t, page, "2026-03-05 09:00 in each recipient&#39;s zone (else Europe/Paris)")
	require.Contains(t, page, "Segment: Pro customers")
	require.Contains(t, page, `traits.plan == &#34;pro&#34;`)
	row := page[strings.Index(page, "March newsletter"):]
	row = row[:strings.Index(row, "</tr>")]
	require.Contains(t, row, `<td class="num">3</td><td class="num">1</td><td class="num">1</td>`,
		"sent (taken by the relay, bounces too), people who opened, people who clicked")
	require.Contains(t, page, `href="/admin/campaigns/`+idText(newer.ID)+`"`)
}

func TestNewCampaignCountsTheAudienceWithoutScripts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	seedContacts(t, h, "pro", "pro", "trial")
	seg := seedSegment(t, h, "Trials", `traits.plan == "trial"`)

	for _, tc := range []struct {
		name, segment, condition string
		want                     string
	}{
		{"a typed condition", "", `traits.plan == "pro"`, "2 contacts now"},
		{"a saved segment", idText(seg.ID), "", "1 contact now"},
		{"nobody", "", `traits.plan == "enterprise"`, "0 contacts now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"do": {"count"}, "name": {"Typed name"}, "segment": {tc.segment}, "condition": {tc.condition}}
			page, res := h.submitPage(t, c, "/admin/campaigns/new", "/admin/campaigns/new", form)
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, page, tc.want)
			require.Contains(t, page, `value="Typed name"`, "what was typed is kept")
		})
	}

	page, res := h.submitPage(t, c, "/admin/campaigns/new", "/admin/campaigns/new",
		url.Values{"do": {"count"}, "condition": {`traits.plan ==`}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, page, `id="condition-error"`)
	require.Contains(t, page, "want a value such as")
	require.Contains(t, page, `>traits.plan ==</textarea>`)
}

func TestAudienceCountAnswersTheScript(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	seedContacts(t, h, "pro", "pro", "trial")

	body, res := h.get(t, c, "/admin/campaigns/new/count?condition="+url.QueryEscape(`traits.plan == "pro"`))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.JSONEq(t, `{"count": 2, "text": "2 contacts"}`, body)

	body, res = h.get(t, c, "/admin/campaigns/new/count?condition="+url.QueryEscape(`traits.plan = "pro"`))
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	var refused struct{ Field, Error string }
	require.NoError(t, json.Unmarshal([]byte(body), &refused))
	require.Equal(t, "condition", refused.Field)
	require.Contains(t, refused.Error, "a single = does not compare")

	body, res = h.get(t, c, "/admin/campaigns/new/count?segment=999")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.JSONEq(t, `{"field": "segment", "error": "is not one of the saved segments"}`, body)
}

func TestNewCampaignCreatesADraftFromATemplateAndASegment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	seg := seedSegment(t, h, "Pro customers", `traits.plan == "pro"`)

	form := url.Values{"do": {"create"}, "name": {"Spring offer"}, "template": {"welcome"}, "subject": {"Spring is here"},
		"segment": {idText(seg.ID)}, "when": {"local"}, "localDate": {"2026-03-05"}, "localTime": {"09:30"},
		"fallbackZone": {"Europe/Paris"}}
	res := h.submit(t, c, "/admin/campaigns/new", "/admin/campaigns/new", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	list, err := h.store.CampaignPage(context.Background(), 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	got := list[0]
	require.Equal(t, "/admin/campaigns/"+idText(got.ID)+"?done=Draft+created.+Schedule+it+when+it+is+ready.", res.Header.Get("Location"))
	require.Equal(t, "draft", got.Status)
	require.Equal(t, "welcome", got.Template)
	require.Equal(t, nurture.Topic("onboarding"), got.Topic)
	require.Equal(t, "Spring is here", got.Subject)
	require.Equal(t, seg.ID, got.SegmentID)
	require.Equal(t, `traits.plan == "pro"`, got.Condition.String())
	require.Equal(t, "2026-03-05", got.LocalDate.Format("2006-01-02"))
	require.Equal(t, 9*60+30, got.LocalMinute)
	require.Equal(t, "Europe/Paris", got.FallbackZone)
	require.Equal(t, []string{"campaign.create campaign:" + idText(got.ID)}, campaignAuditActions(t, h)[:1])

	page, _ := h.get(t, c, res.Header.Get("Location"))
	require.Contains(t, page, "Draft created.")
	require.Contains(t, page, "Segment: Pro customers")
}

func TestNewCampaignRefusesInputByFieldAndKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	seg := seedSegment(t, h, "Pro customers", `traits.plan == "pro"`)
	good := func() url.Values {
		return url.Values{"do": {"create"}, "name": {"Spring offer"}, "template": {"welcome"}, "condition": {`traits.plan == "pro"`},
			"when": {"moment"}, "sendAt": {"2026-03-05T09:00"}}
	}
	for _, tc := range []struct {
		name, field, message string
		edit                 func(url.Values)
	}{
		{"no name", "name", "is required", func(f url.Values) { f.Set("name", "") }},
		{"a name of two lines", "name", "control character", func(f url.Values) { f.Set("name", "a\u2028b") }},
		{"no template", "template", "choose one of the templates", func(f url.Values) { f.Set("template", "") }},
		{"an unknown template", "template", "choose one of the templates", func(f url.Values) { f.Set("template", "nope") }},
		{"no audience", "condition", "is required, or a saved segment", func(f url.Values) { f.Set("condition", "") }},
		{"a wrong condition", "condition", "a single = does not compare", func(f url.Values) { f.Set("condition", `traits.plan = "pro"`) }},
		{"a segment and a condition", "segment", "cannot both be given", func(f url.Values) { f.Set("segment", idText(seg.ID)) }},
		{"an unknown segment", "segment", "is not one of the saved segments", func(f url.Values) { f.Set("segment", "999"); f.Del("condition") }},
		{"no way to send", "when", "choose when to send", func(f url.Values) { f.Del("when") }},
		{"a moment in the past", "sendAt", "is in the past", func(f url.Values) { f.Set("sendAt", "2026-03-01T09:00") }},
		{"not a moment", "sendAt", "is not a date and time", func(f url.Values) { f.Set("sendAt", "tomorrow") }},
		{"a moment over a year away", "sendAt", "more than a year away", func(f url.Values) { f.Set("sendAt", "2027-06-01T09:00") }},
		{"a local date passed everywhere", "localDate", "has passed everywhere", func(f url.Values) {
			f.Set("when", "local")
			f.Set("localDate", "2026-02-20")
			f.Set("localTime", "09:00")
		}},
		{"a local date over a year away", "localDate", "more than a year away", func(f url.Values) {
			f.Set("when", "local")
			f.Set("localDate", "2027-06-01")
			f.Set("localTime", "09:00")
		}},
		{"no local time", "localTime", "is not a time of day", func(f url.Values) { f.Set("when", "local"); f.Set("localDate", "2026-03-05") }},
		{"an unknown zone", "fallbackZone", "is not a time zone", func(f url.Values) {
			f.Set("when", "local")
			f.Set("localDate", "2026-03-05")
			f.Set("localTime", "09:00")
			f.Set("fallbackZone", "Mars/Olympus")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := good()
			tc.edit(form)
			page, res := h.submitPage(t, c, "/admin/campaigns/new", "/admin/campaigns/new", form)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			require.Contains(t, page, `id="`+tc.field+`-error"`)
			msg := page[strings.Index(page, `id="`+tc.field+`-error"`):]
			require.Contains(t, msg[:strings.Index(msg, "</p>")], tc.message)
			if n := form.Get("name"); n != "" && !strings.ContainsRune(n, '\u2028') {
				require.Contains(t, page, `value="`+n+`"`, "the name as typed")
			}
		})
	}
	list, err := h.store.CampaignPage(context.Background(), 0, 10)
	require.NoError(t, err)
	require.Empty(t, list, "nothing created")
}

func TestCampaignIsScheduledInLocalTimePausedResumedAndCancelledWithAudit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	seg := seedSegment(t, h, "Pro customers", `traits.plan == "pro"`)
	camp := seedCampaign(t, h, "Spring offer", func(c *nurture.Campaign) { c.SegmentID, c.Filter = seg.ID, "subscribed to product" })
	page := "/admin/campaigns/" + idText(camp.ID)
	target := "campaign:" + idText(camp.ID)
	status := func() *nurture.Campaign {
		got, err := h.store.Campaign(context.Background(), camp.ID)
		require.NoError(t, err)
		return got
	}

	// A schedule in the past is refused at its field, with what was typed.
	body, res := h.submitPage(t, c, page, page+"/schedule", url.Values{"when": {"local"}, "localDate": {"2026-02-01"}, "localTime": {"09:00"}, "fallbackZone": {"UTC"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, `id="localDate-error"`)
	require.Contains(t, body, `value="2026-02-01"`)
	require.Equal(t, "draft", status().Status)

	res = h.submit(t, c, page, page+"/schedule", url.Values{"when": {"local"}, "localDate": {"2026-03-05"}, "localTime": {"09:00"}, "fallbackZone": {"America/New_York"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got := status()
	require.Equal(t, "scheduled", got.Status)
	require.Equal(t, 9*60, got.LocalMinute)
	require.Equal(t, "America/New_York", got.FallbackZone)
	require.Equal(t, `traits.plan == "pro"`, got.Condition.String(), "the saved segment's audience as it stands")
	require.Equal(t, time.Date(2026, 3, 4, 19, 0, 0, 0, time.UTC), got.StartsAt.UTC(), "09:00 first comes at UTC+14")
	shown, _ := h.get(t, c, res.Header.Get("Location"))
	require.Contains(t, shown, "Scheduled for 2026-03-05 09:00 in each recipient&#39;s zone (else America/New_York).")

	for _, step := range []struct{ path, want string }{{"/pause", "paused"}, {"/resume", "scheduled"}} {
		res = h.submit(t, c, page, page+step.path, url.Values{})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, step.path)
		require.Equal(t, step.want, status().Status)
	}

	// Resuming what is not paused is refused, and says why.
	body, res = h.submitPage(t, c, page, page+"/resume", url.Values{})
	require.Equal(t, http.StatusConflict, res.StatusCode)
	require.Contains(t, body, "a scheduled campaign cannot be asked to resume")

	// Cancel asks first; without the confirmation nothing changes.
	body, res = h.get(t, c, page+"/cancel")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "cannot be resumed")
	body, res = h.submitPage(t, c, page+"/cancel", page+"/cancel", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Tick the box to confirm")
	require.Equal(t, "scheduled", status().Status)
	res = h.submit(t, c, page+"/cancel", page+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "cancelled", status().Status)

	// A cancelled campaign has no buttons left.
	body, _ = h.get(t, c, page)
	require.NotContains(t, body, `id="pause"`)
	require.NotContains(t, body, `id="resume"`)
	require.NotContains(t, body, `id="cancel"`)
	require.NotContains(t, body, `id="schedule-form"`)

	require.Equal(t, []string{"campaign.cancel " + target, "campaign.resume " + target, "campaign.pause " + target, "campaign.schedule " + target},
		campaignAuditActions(t, h))
}

func TestCampaignPageShowsStatisticsLinksAndTheABWinner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	camp := seedCampaign(t, h, "Spring offer", func(c *nurture.Campaign) {
		c.AB = &nurture.CampaignAB{Variants: []nurture.CampaignVariant{{Name: "A", Subject: "Spring <sale>"}, {Name: "B", Subject: "Save now"}},
			TestShare: 0.2, Metric: "clicks", Wait: 4 * time.Hour}
	})
	people := seedContacts(t, h, "pro", "pro", "pro", "pro")
	msgs := make([]int64, len(people))
	for i, p := range people {
		msgs[i] = seedMessage(t, h, camp.ID, p, []string{"sent", "sent", "sent", "bounced"}[i])
	}
	seedHit(t, h, msgs[0], people[0], "open", "human", "")
	seedHit(t, h, msgs[1], people[1], "open", "human", "")
	seedHit(t, h, msgs[0], people[0], "click", "human", "https://example.com/pricing?a=<b>")
	seedHit(t, h, msgs[1], people[1], "click", "human", "https://example.com/pricing?a=<b>")
	seedHit(t, h, msgs[1], people[1], "click", "human", "https://example.com/blog")
	seedHit(t, h, msgs[2], people[2], "click", "bot", "https://example.com/blog")
	_, err := h.pool.Exec(context.Background(), `UPDATE campaigns SET status = 'sending', started_at = $2 WHERE id = $1`, camp.ID, now)
	require.NoError(t, err)
	_, err = h.store.DecideWinner(context.Background(), camp.ID, 1, []nurture.VariantResult{
		{Variant: 0, Audience: 10, Sent: 10, HumanClicks: 1}, {Variant: 1, Audience: 10, Sent: 10, HumanClicks: 4}}, now)
	require.NoError(t, err)

	page, res := h.get(t, c, "/admin/campaigns/"+idText(camp.ID))
	require.Equal(t, http.StatusOK, res.StatusCode)
	stat := func(label string) string {
		i := strings.Index(page, `<div class="muted">`+label+`</div>`)
		require.GreaterOrEqual(t, i, 0, label)
		s := page[i:]
		s = s[strings.Index(s, `<div class="stat">`)+len(`<div class="stat">`):]
		return s[:strings.Index(s, "<")]
	}
	require.Equal(t, "4", stat("Sent"))
	require.Equal(t, "3", stat("Delivered"))
	require.Equal(t, "1", stat("Bounced"))
	require.Equal(t, "2", stat("Opened (people)"))
	require.Equal(t, "2", stat("Clicked (people)"))
	require.Equal(t, "0", stat("Unsubscribed"))
	require.Contains(t, page, `<td>https://example.com/pricing?a=&lt;b&gt;</td><td class="num">2</td>`)
	require.Contains(t, page, `<td>https://example.com/blog</td><td class="num">1</td>`, "the scanner's click left out")
	require.Contains(t, page, `role="img" aria-label="People who clicked each link"`)
	require.Contains(t, page, "Spring &lt;sale&gt;")
	require.Contains(t, page, `B <span class="badge winner">Winner</span>`)
	require.NotContains(t, page, `A <span class="badge winner">`)
	require.Contains(t, page, `aria-label="People&#39;s clicks per variant"`)
	require.Contains(t, page, `B (winner)</text>`)
}

func TestCampaignPagesAnswerNotFoundForAMissingCampaign(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	for _, path := range []string{"/admin/campaigns/999", "/admin/campaigns/abc", "/admin/campaigns/0", "/admin/campaigns/999/cancel"} {
		body, res := h.get(t, c, path)
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
		require.Contains(t, body, "There is no such campaign.")
	}
	res := h.submit(t, c, "/admin/campaigns", "/admin/campaigns/999/pause", url.Values{})
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestCampaignFormsWithoutCSRFAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	camp := seedCampaign(t, h, "Spring offer", func(c *nurture.Campaign) { c.Status = "scheduled" })
	id := idText(camp.ID)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/admin/campaigns/new", url.Values{"do": {"create"}, "name": {"x"}, "template": {"welcome"}, "condition": {"traits.plan == \"pro\""},
			"when": {"moment"}, "sendAt": {"2026-03-05T09:00"}}},
		{"/admin/campaigns/" + id + "/schedule", url.Values{"when": {"moment"}, "sendAt": {"2026-03-06T09:00"}}},
		{"/admin/campaigns/" + id + "/pause", url.Values{}},
		{"/admin/campaigns/" + id + "/cancel", url.Values{"confirm": {"yes"}}},
	} {
		res := h.post(t, c, tc.path, tc.form)
		require.Equal(t, http.StatusForbidden, res.StatusCode, tc.path)
	}
	list, err := h.store.CampaignPage(context.Background(), 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "scheduled", list[0].Status)
	require.True(t, list[0].SendAt.Equal(camp.SendAt))
	require.Empty(t, campaignAuditActions(t, h))
}

// submitPage is submit that also returns the answer's page.
func (h *harness) submitPage(t *testing.T, c *http.Client, from, path string, form url.Values) (string, *http.Response) {
	t.Helper()
	page, res := h.get(t, c, from)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s", from)
	form.Set("csrf", csrfOf(t, page))
	res, err := c.PostForm(h.srv.URL+path, form)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b), res
}

// A campaign too big to count on each page load shows its figures as last
// counted: the first look has them counted in the background, and the
// page says so until they are there.
func TestBigCampaignFiguresAreCountedInTheBackground(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(cfg *console.Config) { cfg.Campaigns.LiveLimit = 2 })
	c := h.signedIn(t)
	small := seedCampaign(t, h, "Small one")
	big := seedCampaign(t, h, "Big one")
	people := seedContacts(t, h, "pro", "pro", "pro")
	for _, camp := range []*nurture.Campaign{small, big} {
		n := map[int64]int{small.ID: 1, big.ID: 3}[camp.ID]
		_, err := h.pool.Exec(context.Background(), `UPDATE campaigns SET status = 'sent', started_at = $2 WHERE id = $1`, camp.ID, now)
		require.NoError(t, err)
		_, err = h.pool.Exec(context.Background(), `INSERT INTO campaign_lanes (campaign_id, lane, frozen, audience) VALUES ($1, 0, true, $2)`, camp.ID, n)
		require.NoError(t, err)
		for _, p := range people[:n] {
			seedMessage(t, h, camp.ID, p, "sent")
		}
	}

	page, _ := h.get(t, c, "/admin/campaigns/"+idText(big.ID))
	if strings.Contains(page, "are being counted") {
		require.Eventually(t, func() bool {
			page, _ = h.get(t, c, "/admin/campaigns/"+idText(big.ID))
			return strings.Contains(page, "Counted at ")
		}, 30*time.Second, 50*time.Millisecond)
	}
	require.Contains(t, page, `<div class="muted">Sent</div><div class="stat">3</div>`)
	require.Contains(t, page, "Counted at 2026-03-02 12:00 UTC")

	list, _ := h.get(t, c, "/admin/campaigns")
	require.Contains(t, list, `<td class="num">3</td>`, "the big one's kept figures")
	require.Contains(t, list, `<td class="num">1</td>`, "the small one's, counted now")
	require.NotContains(t, list, "being counted")
}
