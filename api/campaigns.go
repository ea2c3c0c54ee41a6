package api

import (
	"cmp"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

// CampaignStore is what the campaign endpoints need of the store.
type CampaignStore interface {
	CreateCampaign(ctx context.Context, c *nurture.Campaign) error
	Campaign(ctx context.Context, id int64) (*nurture.Campaign, error)
	Campaigns(ctx context.Context) ([]*nurture.Campaign, error)
	UpdateCampaign(ctx context.Context, c *nurture.Campaign) error
	MoveCampaign(ctx context.Context, id int64, from []string, to string, now time.Time) (*nurture.Campaign, error)
}

// CampaignFigures counts what campaigns did. They are reports: cmd passes
// postgres.Reports, which may read a replica a little behind the primary.
type CampaignFigures interface {
	CampaignStats(ctx context.Context, id int64) (*nurture.CampaignStats, error)
	ABResults(ctx context.Context, id int64, variants int) ([]nurture.VariantResult, error)
}

// TemplateTopics tells whether a template exists, and its topic.
type TemplateTopics interface {
	Topic(name string) (nurture.Topic, bool)
}

// CampaignTester sends a campaign's test emails (campaign.Tester).
type CampaignTester interface {
	Send(ctx context.Context, c *nurture.Campaign, addresses []string) ([]campaign.TestEmail, error)
}

// Campaigns serves /v1/campaigns (scope admin).
type Campaigns struct {
	Store     CampaignStore
	Figures   CampaignFigures // the statistics GET /v1/campaigns/{id} shows
	Segments  SegmentStore    // the saved segments a campaign may name
	Templates TemplateTopics
	Tester    CampaignTester // nil: no test sends
}

// MaxCampaignName is the longest campaign name.
const MaxCampaignName = 200

// campaignJSON is a campaign as the API shows it; a campaign read alone
// comes with its statistics.
type campaignJSON struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Template          string     `json:"template"`
	Topic             string     `json:"topic"`
	Subject           string     `json:"subject,omitempty"`
	SegmentID         int64      `json:"segmentId,omitempty"`
	Filter            any        `json:"filter"`
	Condition         string     `json:"condition"`
	Status            string     `json:"status"`
	SendAt            *time.Time `json:"sendAt,omitempty"`
	LocalDate         string     `json:"localDate,omitempty"`
	LocalTime         string     `json:"localTime,omitempty"`
	FallbackZone      string     `json:"fallbackZone,omitempty"`
	StartsAt          *time.Time `json:"startsAt"`
	ThrottlePerMinute int        `json:"throttlePerMinute"`
	SendWindow        string     `json:"sendWindow"`
	EndsAt            *time.Time `json:"endsAt"`
	StartedAt         *time.Time `json:"startedAt"`
	FinishedAt        *time.Time `json:"finishedAt"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
	AB                *abJSON    `json:"ab,omitempty"`
	Stats             *statsJSON `json:"stats,omitempty"`
}

// abJSON is a campaign's A/B test: the test as given, and once decided,
// the winner with the counts it was chosen on (people's opens and clicks;
// machines' and scanners' shown, never counted).
type abJSON struct {
	Variants  []variantJSON           `json:"variants"`
	TestShare float64                 `json:"testShare"`
	Metric    string                  `json:"metric"`
	Wait      string                  `json:"wait"`
	Winner    string                  `json:"winner,omitempty"`
	DecidedAt *time.Time              `json:"decidedAt,omitempty"`
	Results   []nurture.VariantResult `json:"results,omitempty"`
}

type variantJSON struct {
	Name     string `json:"name"`
	Subject  string `json:"subject,omitempty"`
	Template string `json:"template,omitempty"`
}

type statsJSON struct {
	Audience     int64            `json:"audience"`
	Dispatched   int64            `json:"dispatched"`
	Dropped      int64            `json:"dropped"`
	Messages     map[string]int64 `json:"messages"`
	Skipped      map[string]int64 `json:"skipped"`
	Bounced      map[string]int64 `json:"bounced"`
	HumanOpens   int64            `json:"humanOpens"`
	MachineOpens int64            `json:"machineOpens"`
	HumanClicks  int64            `json:"humanClicks"`
	ScanClicks   int64            `json:"scannerClicks"`
	Links        []linkJSON       `json:"links"`
	Unsubscribed int64            `json:"unsubscribed"`
	Buckets      []bucketJSON     `json:"buckets"`
}

type linkJSON struct {
	URL         string `json:"url"`
	HumanClicks int64  `json:"humanClicks"`
}

type bucketJSON struct {
	Bucket     time.Time `json:"bucket"`
	Audience   int64     `json:"audience"`
	Dispatched int64     `json:"dispatched"`
	Sent       int64     `json:"sent"`
}

func newCampaignJSON(c *nurture.Campaign) campaignJSON {
	out := campaignJSON{ID: c.ID, Name: c.Name, Template: c.Template, Topic: string(c.Topic), Subject: c.Subject,
		SegmentID: c.SegmentID, Filter: c.Filter, Status: c.Status, StartsAt: timePtr(c.StartsAt),
		ThrottlePerMinute: c.ThrottlePerMinute, SendWindow: cmp.Or(c.SendWindow, "any"), EndsAt: timePtr(c.EndsAt), StartedAt: timePtr(c.StartedAt),
		FinishedAt: timePtr(c.FinishedAt), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.Condition != nil {
		out.Condition = c.Condition.String()
	}
	if ab := c.AB; ab != nil {
		out.AB = &abJSON{TestShare: ab.TestShare, Metric: ab.Metric, Wait: ab.Wait.String(), DecidedAt: timePtr(c.DecidedAt)}
		for _, v := range ab.Variants {
			out.AB.Variants = append(out.AB.Variants, variantJSON{Name: v.Name, Subject: v.Subject, Template: v.Template})
		}
		if c.Winner >= 0 && c.Winner < len(ab.Variants) {
			out.AB.Winner, out.AB.Results = ab.Variants[c.Winner].Name, c.Decision
		}
	}
	if c.LocalDate.IsZero() {
		out.SendAt = timePtr(c.SendAt)
	} else {
		out.LocalDate = c.LocalDate.Format("2006-01-02")
		out.LocalTime = time.Date(2000, 1, 1, c.LocalMinute/60, c.LocalMinute%60, 0, 0, time.UTC).Format("15:04")
		out.FallbackZone = c.FallbackZone
	}
	return out
}

func newStatsJSON(s *nurture.CampaignStats) *statsJSON {
	out := &statsJSON{Audience: s.Audience, Dispatched: s.Dispatched, Dropped: s.Dropped, Messages: s.ByStatus,
		Skipped: s.Skipped, Bounced: s.Bounced, HumanOpens: s.HumanOpens, MachineOpens: s.MachineOpens, HumanClicks: s.HumanClicks,
		ScanClicks: s.ScanClicks, Unsubscribed: s.Unsubscribed, Links: make([]linkJSON, len(s.Links)),
		Buckets: make([]bucketJSON, len(s.Buckets))}
	for i, l := range s.Links {
		out.Links[i] = linkJSON{URL: l.URL, HumanClicks: l.HumanClicks}
	}
	for i, b := range s.Buckets {
		out.Buckets[i] = bucketJSON{Bucket: b.Bucket.UTC(), Audience: b.Audience, Dispatched: b.Dispatched, Sent: b.Sent}
	}
	return out
}

// campaignFields are the keys a campaign's body may have.
var campaignFields = map[string]bool{"name": true, "template": true, "subject": true, "segmentId": true, "filter": true,
	"sendAt": true, "localDate": true, "localTime": true, "fallbackZone": true, "throttlePerMinute": true, "endsAt": true, "ab": true,
	"sendWindow": true}

// campaignBody applies a request body to c: every field for a creation,
// those given for a change. It answers the request itself when the body
// is wrong.
func (a *API) campaignBody(c *gin.Context, dst *nurture.Campaign, create bool) bool {
	body, err := readObject(c.Request, a.cfg.MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return false
	}
	if err := a.applyCampaign(c.Request.Context(), body, dst, create); err != nil {
		fail(c, err)
		return false
	}
	return true
}

func (a *API) applyCampaign(ctx context.Context, body map[string]any, dst *nurture.Campaign, create bool) error {
	for k := range body {
		if !campaignFields[k] {
			return nurture.FieldError(clip(k, 50), "is not a field of a campaign")
		}
	}
	if raw, ok := body["ab"]; ok {
		ab, err := a.parseAB(raw)
		if err != nil {
			return err
		}
		dst.AB = ab
	}
	text := func(field string) (string, bool, error) {
		v, ok := body[field]
		if !ok || v == nil {
			return "", ok, nil
		}
		s, isText := v.(string)
		if !isText {
			return "", true, nurture.FieldError(field, "must be a string")
		}
		return strings.TrimSpace(s), true, nil
	}
	name, given, err := text("name")
	switch {
	case err != nil:
		return err
	case given || create:
		if name == "" {
			return nurture.FieldError("name", "is required")
		}
		if err := nurture.CheckLine("name", name, MaxCampaignName); err != nil {
			return err
		}
		dst.Name = name
	}
	tmpl, given, err := text("template")
	switch {
	case err != nil:
		return err
	case given || create:
		topic, ok := a.cfg.Campaigns.Templates.Topic(tmpl)
		if tmpl == "" || !ok {
			return nurture.FieldError("template", "%q is not a template: see GET /v1/templates/{name}/preview for the ones there are", clip(tmpl, 100))
		}
		dst.Template, dst.Topic = tmpl, topic
	}
	if subject, given, err := text("subject"); err != nil {
		return err
	} else if given {
		if err := nurture.CheckLine("subject", subject, 300); err != nil {
			return err
		}
		dst.Subject = subject
	}
	if err := a.applyAudience(ctx, body, dst, create); err != nil {
		return err
	}
	if err := applySchedule(body, dst, create, text); err != nil {
		return err
	}
	if v, ok := body["throttlePerMinute"]; ok && v != nil {
		n, err := strconv.Atoi(toText(v))
		if err != nil || n < 0 || n > 1_000_000 {
			return nurture.FieldError("throttlePerMinute", "must be a whole number of emails a minute, 0 (no throttle) to 1000000")
		}
		dst.ThrottlePerMinute = n
	}
	if s, given, err := text("sendWindow"); err != nil {
		return err
	} else if given {
		if _, err := nurture.ParseSendWindow(s); err != nil {
			return nurture.FieldError("sendWindow", "%v", err)
		}
		dst.SendWindow = s
	}
	if s, given, err := text("endsAt"); err != nil {
		return err
	} else if given {
		dst.EndsAt = time.Time{}
		if s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nurture.FieldError("endsAt", "%q is not a moment such as 2026-12-09T00:00:00Z", clip(s, 50))
			}
			dst.EndsAt = t
		}
	}
	return nil
}

// parseAB reads an A/B test: {"variants": [{"name", "subject",
// "template"}], "testShare": 0.2, "metric": "clicks", "wait": "4h"}; null
// removes the test.
func (a *API) parseAB(raw any) (*nurture.CampaignAB, error) {
	if raw == nil {
		return nil, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nurture.FieldError("ab", "must be an object: {\"variants\": [...], \"testShare\": 0.2, \"metric\": \"clicks\", \"wait\": \"4h\"}")
	}
	ab := &campaign.ABTest{Metric: campaign.Metric(toText(obj["metric"]))}
	for k := range obj {
		switch k {
		case "variants", "testShare", "metric", "wait":
		default:
			return nil, nurture.FieldError("ab."+clip(k, 50), "is not a field of an A/B test: want variants, testShare, metric and wait")
		}
	}
	vs, ok := obj["variants"].([]any)
	if !ok {
		return nil, nurture.FieldError("ab.variants", "must be a list of 2 to 4 variants")
	}
	for i, v := range vs {
		field := "ab.variants[" + strconv.Itoa(i) + "]"
		vo, ok := v.(map[string]any)
		if !ok {
			return nil, nurture.FieldError(field, "must be an object with a name, and a subject, a template or both")
		}
		var variant campaign.Variant
		for k, x := range vo {
			text, isText := x.(string)
			if !isText {
				return nil, nurture.FieldError(field+"."+clip(k, 50), "must be a string")
			}
			text = strings.TrimSpace(text)
			switch k {
			case "name":
				variant.Name = text
			case "subject":
				variant.Subject = text
			case "template":
				if _, ok := a.cfg.Campaigns.Templates.Topic(text); !ok {
					return nil, nurture.FieldError(field+".template", "%q is not a template", clip(text, 100))
				}
				variant.Template = text
			default:
				return nil, nurture.FieldError(field+"."+clip(k, 50), "is not a field of a variant: want name, subject and template")
			}
			if err := nurture.CheckLine(field+"."+k, text, 300); err != nil {
				return nil, err
			}
		}
		ab.Variants = append(ab.Variants, variant)
	}
	share, err := strconv.ParseFloat(toText(obj["testShare"]), 64)
	if err != nil {
		return nil, nurture.FieldError("ab.testShare", "must be a number above 0 and at most 1, such as 0.2")
	}
	ab.TestShare = share
	if w := toText(obj["wait"]); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil {
			return nil, nurture.FieldError("ab.wait", "%q is not a duration such as 4h", clip(w, 50))
		}
		ab.Wait = d
	}
	if err := ab.Validate(); err != nil {
		return nil, err
	}
	return ab.Spec(), nil
}

// applyAudience reads segmentId or filter: one of them.
func (a *API) applyAudience(ctx context.Context, body map[string]any, dst *nurture.Campaign, create bool) error {
	rawID, byID := body["segmentId"]
	f, byFilter := body["filter"]
	switch {
	case byID && byFilter:
		return nurture.FieldError("segmentId", "cannot be given with filter: the audience is one or the other")
	case byID:
		id, err := strconv.ParseInt(toText(rawID), 10, 64)
		if err != nil || id < 1 {
			return nurture.FieldError("segmentId", "must be a segment's id, a positive whole number")
		}
		s, err := a.cfg.Campaigns.Segments.Segment(ctx, id)
		if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
			return nurture.FieldError("segmentId", "no segment has id %d", id)
		}
		if err != nil {
			return err
		}
		dst.SegmentID, dst.Filter, dst.Condition = s.ID, s.Filter, s.Condition
	case byFilter:
		cond, err := nurture.ParseSegmentFilter(f)
		if err != nil {
			return err
		}
		dst.SegmentID, dst.Filter, dst.Condition = 0, f, cond
	case create:
		return &nurture.Error{Code: nurture.CodeUnprocessable, Field: "filter", Message: "is required, or segmentId: who the campaign is for"}
	}
	return nil
}

// applySchedule reads sendAt, or localDate and localTime (with
// fallbackZone): one of them.
func applySchedule(body map[string]any, dst *nurture.Campaign, create bool, text func(string) (string, bool, error)) error {
	sendAt, bySendAt, err := text("sendAt")
	if err != nil {
		return err
	}
	date, byDate, err := text("localDate")
	if err != nil {
		return err
	}
	clock, byClock, err := text("localTime")
	if err != nil {
		return err
	}
	zone, byZone, err := text("fallbackZone")
	if err != nil {
		return err
	}
	switch {
	case bySendAt && (byDate || byClock):
		return nurture.FieldError("sendAt", "cannot be given with localDate and localTime: a campaign is sent at a moment or at a local time")
	case bySendAt:
		t, err := time.Parse(time.RFC3339, sendAt)
		if err != nil {
			return nurture.FieldError("sendAt", "%q is not a moment such as 2026-12-08T10:00:00Z", clip(sendAt, 50))
		}
		dst.SendAt, dst.LocalDate, dst.LocalMinute = t, time.Time{}, 0
	case byDate || byClock:
		if !byDate || !byClock {
			return nurture.FieldError("localTime", "and localDate go together: the date and the time of day in each contact's zone")
		}
		if !byZone && dst.FallbackZone == "" {
			zone = "UTC"
		} else if !byZone {
			zone = dst.FallbackZone
		}
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" || zone == "Local" {
			return nurture.FieldError("fallbackZone", "%q is not a time zone such as Europe/Paris", clip(zone, 64))
		}
		lt, err := campaign.ParseLocalTime(date, clock, loc)
		if err != nil {
			return err
		}
		dst.SendAt = time.Time{}
		dst.LocalDate = time.Date(lt.Year, lt.Month, lt.Day, 0, 0, 0, 0, time.UTC)
		dst.LocalMinute, dst.FallbackZone = lt.Minute, zone
	case byZone:
		if _, err := time.LoadLocation(zone); err != nil || zone == "" {
			return nurture.FieldError("fallbackZone", "%q is not a time zone such as Europe/Paris", clip(zone, 64))
		}
		dst.FallbackZone = zone
	case create:
		return nurture.FieldError("sendAt", "is required: a moment such as 2026-12-08T10:00:00Z, or localDate and localTime")
	}
	sched, err := campaign.ScheduleOf(dst)
	if err != nil {
		return err
	}
	dst.StartsAt = sched.Start()
	return nil
}

func campaignID(c *gin.Context) (int64, bool) { return pathID(c, "a campaign's") }

func campaignNotFound(err error) error {
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "no campaign has this id"}
	}
	return err
}

// createCampaign serves POST /v1/campaigns: a draft, until scheduled.
func (a *API) createCampaign(c *gin.Context) {
	camp := &nurture.Campaign{Status: string(campaign.Draft), FallbackZone: "UTC"}
	if !a.campaignBody(c, camp, true) {
		return
	}
	if err := a.cfg.Campaigns.Store.CreateCampaign(c.Request.Context(), camp); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, newCampaignJSON(camp))
}

// listCampaigns serves GET /v1/campaigns, the newest first.
func (a *API) listCampaigns(c *gin.Context) {
	cs, err := a.cfg.Campaigns.Store.Campaigns(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]campaignJSON, len(cs))
	for i, camp := range cs {
		out[i] = newCampaignJSON(camp)
	}
	c.JSON(http.StatusOK, gin.H{"campaigns": out})
}

// getCampaign serves GET /v1/campaigns/{id}, with its statistics.
func (a *API) getCampaign(c *gin.Context) {
	id, ok := campaignID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	camp, err := a.cfg.Campaigns.Store.Campaign(ctx, id)
	if err != nil {
		fail(c, campaignNotFound(err))
		return
	}
	stats, err := a.cfg.Campaigns.Figures.CampaignStats(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	out := newCampaignJSON(camp)
	out.Stats = newStatsJSON(stats)
	if camp.AB != nil && camp.Winner < 0 {
		// Not decided yet: the counts as they stand.
		if out.AB.Results, err = a.cfg.Campaigns.Figures.ABResults(ctx, id, len(camp.AB.Variants)); err != nil {
			fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

// updateCampaign serves PATCH /v1/campaigns/{id}: the fields given change,
// while the campaign is a draft or scheduled.
func (a *API) updateCampaign(c *gin.Context) {
	id, ok := campaignID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	camp, err := a.cfg.Campaigns.Store.Campaign(ctx, id)
	if err != nil {
		fail(c, campaignNotFound(err))
		return
	}
	if !campaign.Editable(campaign.Status(camp.Status)) {
		fail(c, &nurture.Error{Code: nurture.CodeConflict, Field: "status",
			Message: "a " + camp.Status + " campaign cannot be changed: only a draft or a scheduled one can"})
		return
	}
	if !a.campaignBody(c, camp, false) {
		return
	}
	if camp.Status == string(campaign.Scheduled) {
		if err := a.checkSchedule(camp); err != nil {
			fail(c, err)
			return
		}
	}
	if err := a.cfg.Campaigns.Store.UpdateCampaign(ctx, camp); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newCampaignJSON(camp))
}

// checkSchedule refuses a schedule that cannot be kept now.
func (a *API) checkSchedule(camp *nurture.Campaign) error {
	sched, err := campaign.ScheduleOf(camp)
	if err != nil {
		return err
	}
	if err := sched.Validate(a.cfg.Clock.Now()); err != nil {
		return err
	}
	if !camp.EndsAt.IsZero() && !camp.EndsAt.After(sched.Start()) {
		return nurture.FieldError("endsAt", "is not after the campaign starts (%s)", sched.Start().UTC().Format(time.RFC3339))
	}
	return nil
}

// campaignAction serves POST /v1/campaigns/{id}/schedule, pause, resume
// and cancel.
func (a *API) campaignAction(action campaign.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := campaignID(c)
		if !ok {
			return
		}
		ctx := c.Request.Context()
		store := a.cfg.Campaigns.Store
		camp, err := store.Campaign(ctx, id)
		if err != nil {
			fail(c, campaignNotFound(err))
			return
		}
		if _, err := campaign.Transition(campaign.Status(camp.Status), action); err != nil {
			fail(c, err)
			return
		}
		if action == campaign.ActionSchedule {
			// The audience is the saved segment as it stands now.
			if camp.SegmentID != 0 {
				if err := a.applyAudience(ctx, map[string]any{"segmentId": strconv.FormatInt(camp.SegmentID, 10)}, camp, false); err != nil {
					fail(c, err)
					return
				}
			}
			if err := a.checkSchedule(camp); err != nil {
				fail(c, err)
				return
			}
			camp.Status = string(campaign.Scheduled)
			if err := store.UpdateCampaign(ctx, camp); err != nil {
				fail(c, err)
				return
			}
			c.JSON(http.StatusOK, newCampaignJSON(camp))
			return
		}
		from, to := campaign.Sources(action)
		names := make([]string, len(from))
		for i, s := range from {
			names[i] = string(s)
		}
		moved, err := store.MoveCampaign(ctx, id, names, string(to), a.cfg.Clock.Now())
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, newCampaignJSON(moved))
	}
}

// testCampaign serves POST /v1/campaigns/{id}/test: the campaign's email
// (each variant's, for an A/B test) to the contacts of up to ten
// addresses, now, not counted in its figures.
func (a *API) testCampaign(c *gin.Context) {
	id, ok := campaignID(c)
	if !ok {
		return
	}
	body, err := readObject(c.Request, a.cfg.MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return
	}
	for k := range body {
		if k != "addresses" {
			fail(c, nurture.FieldError(clip(k, 50), "is not a field of a test send: want addresses"))
			return
		}
	}
	raw, _ := body["addresses"].([]any)
	addresses := make([]string, len(raw))
	for i, v := range raw {
		s, isText := v.(string)
		if !isText {
			fail(c, nurture.FieldError("addresses["+strconv.Itoa(i)+"]", "must be an email address"))
			return
		}
		addresses[i] = s
	}
	ctx := c.Request.Context()
	camp, err := a.cfg.Campaigns.Store.Campaign(ctx, id)
	if err != nil {
		fail(c, campaignNotFound(err))
		return
	}
	sent, err := a.cfg.Campaigns.Tester.Send(ctx, camp, addresses)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]gin.H, len(sent))
	for i, s := range sent {
		out[i] = gin.H{"email": s.Email, "messageId": s.MessageID}
		if s.Variant != "" {
			out[i]["variant"] = s.Variant
		}
	}
	c.JSON(http.StatusAccepted, gin.H{"sent": out})
}
