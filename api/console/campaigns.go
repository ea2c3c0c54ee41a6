package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

// CampaignStore is what the campaigns pages need of the store: the admin
// API's calls, and the list a page at a time with its figures.
type CampaignStore interface {
	CreateCampaign(ctx context.Context, c *nurture.Campaign) error
	Campaign(ctx context.Context, id int64) (*nurture.Campaign, error)
	// CampaignPage returns up to limit campaigns with an id below before
	// (0: from the newest), the newest first.
	CampaignPage(ctx context.Context, before int64, limit int) ([]*nurture.Campaign, error)
	UpdateCampaign(ctx context.Context, c *nurture.Campaign) error
	MoveCampaign(ctx context.Context, id int64, from []string, to string, now time.Time) (*nurture.Campaign, error)
	// SaveCampaignFigures keeps a big campaign's figures as counted at
	// at; CampaignFigures reads them back, with CountedAt set (a campaign
	// never counted is absent).
	SaveCampaignFigures(ctx context.Context, id int64, s *nurture.CampaignStats, at time.Time) error
	CampaignFigures(ctx context.Context, ids []int64) (map[int64]*nurture.CampaignStats, error)
}

// CampaignCounts counts what campaigns did. They are reports: cmd passes
// postgres.Reports, which may read a replica a little behind the primary
// (the figures kept by SaveCampaignFigures go to the primary).
type CampaignCounts interface {
	// CampaignTotals returns each campaign's messages by status and its
	// people's opens and clicks; a campaign without messages is absent.
	CampaignTotals(ctx context.Context, ids []int64) (map[int64]*nurture.CampaignStats, error)
	CampaignStats(ctx context.Context, id int64) (*nurture.CampaignStats, error)
	ABResults(ctx context.Context, id int64, variants int) ([]nurture.VariantResult, error)
}

// CampaignSegments are the saved segments a campaign may be for.
type CampaignSegments interface {
	Segment(ctx context.Context, id int64) (*nurture.Segment, error)
	Segments(ctx context.Context) ([]*nurture.Segment, error)
}

// CampaignAudience counts the contacts a condition selects now.
type CampaignAudience interface {
	SegmentCount(ctx context.Context, c nurture.Condition, now time.Time) (int64, error)
}

// CampaignTemplates are the templates a campaign may use, with the topic
// each declares (templates.Set).
type CampaignTemplates interface {
	Names() []string
	Topic(name string) (nurture.Topic, bool)
}

// Campaigns is what the campaigns pages need. The stores and templates
// are required.
type Campaigns struct {
	Store     CampaignStore
	Counts    CampaignCounts
	Segments  CampaignSegments
	Audience  CampaignAudience
	Templates CampaignTemplates
	// LiveLimit is the most recipients whose figures a page counts as it
	// loads (on the list: in all its campaigns together), about 50 ms of
	// counting; a bigger campaign's are shown as last counted, and counted
	// again in the background when stale (figuresMaxAge): counting a
	// 1,000,000-recipient campaign takes seconds. Default 5,000.
	LiveLimit int64

	counting sync.Map   // the ids of the campaigns waiting to be counted in the background
	countOne sync.Mutex // background counts go one at a time
}

// campaignPageSize is how many campaigns the list shows at a time.
const campaignPageSize = 50

// campaignRoutes adds the campaigns pages to g.
func (k *Console) campaignRoutes(g *gin.RouterGroup) {
	g.GET("/campaigns", k.campaignList)
	g.GET("/campaigns/new", k.newCampaignPage)
	g.POST("/campaigns/new", k.createCampaign)
	g.GET("/campaigns/new/count", k.audienceCount)
	g.GET("/campaigns/:id", k.campaignPage)
	g.POST("/campaigns/:id/schedule", k.scheduleCampaign)
	g.POST("/campaigns/:id/pause", k.moveCampaign(campaign.ActionPause))
	g.POST("/campaigns/:id/resume", k.moveCampaign(campaign.ActionResume))
	g.GET("/campaigns/:id/cancel", k.cancelCampaignPage)
	g.POST("/campaigns/:id/cancel", k.moveCampaign(campaign.ActionCancel))
}

// campaignRow is one line of the list.
type campaignRow struct {
	C        *nurture.Campaign
	Schedule string
	Audience string // the saved segment's name, or the condition
	Sent     int64
	Opens    int64
	Clicks   int64
	// Counting says a big campaign's figures are being counted for the
	// first time.
	Counting bool
}

// campaignListView is what the list shows.
type campaignListView struct {
	Rows      []campaignRow
	Older     string // the "before" of the next page, "" at the end
	LiveLimit int64
}

// campaignList serves GET /admin/campaigns: the campaigns, newest first,
// with their schedules, audiences and figures.
func (k *Console) campaignList(c *gin.Context) {
	p := k.cfg.Campaigns
	ctx := c.Request.Context()
	var before int64
	if b := c.Query("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			k.errorPage(c, http.StatusBadRequest, "before: must be a campaign's id, a positive whole number")
			return
		}
		before = n
	}
	list, err := p.Store.CampaignPage(ctx, before, campaignPageSize)
	if err != nil {
		k.fail(c, err)
		return
	}
	totals, err := k.campaignTotals(ctx, list)
	if err != nil {
		k.fail(c, err)
		return
	}
	names, err := p.segmentNames(ctx)
	if err != nil {
		k.fail(c, err)
		return
	}
	v := campaignListView{Rows: make([]campaignRow, len(list)), LiveLimit: p.liveLimit()}
	for i, camp := range list {
		row := campaignRow{C: camp, Schedule: scheduleText(camp), Audience: audienceOf(camp, names)}
		if t := totals[camp.ID]; t != nil {
			row.Sent = sentOf(t)
			row.Opens, row.Clicks = t.HumanOpens, t.HumanClicks
		} else {
			row.Counting = true
		}
		v.Rows[i] = row
	}
	if len(list) == campaignPageSize {
		v.Older = itoa(list[len(list)-1].ID)
	}
	k.show(c, http.StatusOK, "campaigns.html", "campaigns", "Campaigns", v)
}

// segmentNames are the saved segments' names by id.
func (p *Campaigns) segmentNames(ctx context.Context) (map[int64]string, error) {
	ss, err := p.Segments.Segments(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(ss))
	for _, s := range ss {
		out[s.ID] = s.Name
	}
	return out, nil
}

// sentOf counts the emails a relay took: sent, and bounced after.
func sentOf(s *nurture.CampaignStats) int64 {
	return s.ByStatus[string(nurture.StatusSent)] + s.ByStatus[string(nurture.StatusBounced)]
}

// audienceOf says who a campaign is for: its saved segment, or its
// condition.
func audienceOf(c *nurture.Campaign, segments map[int64]string) string {
	if name, ok := segments[c.SegmentID]; ok && c.SegmentID != 0 {
		return "Segment: " + name
	}
	if c.Condition != nil {
		return c.Condition.String()
	}
	return "—"
}

// scheduleText says when a campaign's emails are due.
func scheduleText(c *nurture.Campaign) string {
	if c.LocalDate.IsZero() {
		return formatTime(c.SendAt)
	}
	return c.LocalDate.Format("2006-01-02") + " " + clockOf(c.LocalMinute) + " in each recipient's zone (else " + c.FallbackZone + ")"
}

// campaignVariant is one variant of an A/B test, with what it did.
type campaignVariant struct {
	Name, Subject, Template string
	Result                  nurture.VariantResult
	Winner                  bool
}

// campaignView is what a campaign's page shows.
type campaignView struct {
	C        *nurture.Campaign
	Schedule string
	Audience string
	Stats    *nurture.CampaignStats
	// Sent counts the emails a relay took; Delivered those not bounced
	// since; Bounced those bounced.
	Sent, Delivered, Bounced int64
	Links                    []Bar
	Variants                 []campaignVariant
	VariantBars              []Bar  // each variant's people who did what the test compares
	Metric                   string // what the A/B test compares
	Decided                  bool
	// Editable: the schedule may still change; Can: the actions the
	// campaign's status allows.
	Editable bool
	Can      map[string]bool
	Form     campaignForm
	Errors   fieldErrors
}

// campaignPage serves GET /admin/campaigns/:id.
func (k *Console) campaignPage(c *gin.Context) {
	camp, ok := k.campaignOf(c)
	if !ok {
		return
	}
	k.showCampaign(c, http.StatusOK, camp, campaignFormFor(camp), fieldErrors{})
}

// showCampaign renders a campaign's page, with the schedule form as given.
func (k *Console) showCampaign(c *gin.Context, status int, camp *nurture.Campaign, f campaignForm, errs fieldErrors) {
	p := k.cfg.Campaigns
	ctx := c.Request.Context()
	stats, err := k.campaignFigures(ctx, camp)
	if err != nil {
		k.fail(c, err)
		return
	}
	names, err := p.segmentNames(ctx)
	if err != nil {
		k.fail(c, err)
		return
	}
	v := campaignView{C: camp, Schedule: scheduleText(camp), Audience: audienceOf(camp, names), Stats: stats,
		Editable: campaign.Editable(campaign.Status(camp.Status)), Can: map[string]bool{}, Form: f, Errors: errs}
	if stats != nil {
		v.Sent, v.Delivered, v.Bounced = sentOf(stats), stats.ByStatus[string(nurture.StatusSent)], stats.ByStatus[string(nurture.StatusBounced)]
		for _, l := range stats.Links {
			v.Links = append(v.Links, Bar{Label: clipText(strings.TrimPrefix(strings.TrimPrefix(l.URL, "https://"), "http://"), 22), Value: l.HumanClicks})
		}
	}
	for _, a := range []campaign.Action{campaign.ActionSchedule, campaign.ActionPause, campaign.ActionResume, campaign.ActionCancel} {
		_, err := campaign.Transition(campaign.Status(camp.Status), a)
		v.Can[string(a)] = err == nil
	}
	if ab := camp.AB; ab != nil {
		results := camp.Decision
		v.Decided = camp.Winner >= 0 && camp.Winner < len(ab.Variants)
		if !v.Decided {
			if results, err = p.Counts.ABResults(ctx, camp.ID, len(ab.Variants)); err != nil {
				k.fail(c, err)
				return
			}
		}
		v.Metric = ab.Metric
		for i, vr := range ab.Variants {
			cv := campaignVariant{Name: vr.Name, Subject: vr.Subject, Template: vr.Template, Winner: v.Decided && i == camp.Winner}
			for _, r := range results {
				if r.Variant == i {
					cv.Result = r
				}
			}
			v.Variants = append(v.Variants, cv)
			bar := Bar{Label: cv.Name, Value: cv.Result.HumanClicks}
			if campaign.Metric(ab.Metric) == campaign.MetricOpens {
				bar.Value = cv.Result.HumanOpens
			}
			if cv.Winner {
				bar.Label += " (winner)"
			}
			v.VariantBars = append(v.VariantBars, bar)
		}
	}
	k.show(c, status, "campaign.html", "campaigns", camp.Name, v)
}

// campaignOf reads the path's campaign, or answers with a page saying
// there is none.
func (k *Console) campaignOf(c *gin.Context) (*nurture.Campaign, bool) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || strings.Trim(raw, "0123456789") != "" {
		k.errorPage(c, http.StatusNotFound, "There is no such campaign.")
		return nil, false
	}
	camp, err := k.cfg.Campaigns.Store.Campaign(c.Request.Context(), id)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		k.errorPage(c, http.StatusNotFound, "There is no such campaign.")
		return nil, false
	}
	if err != nil {
		k.fail(c, err)
		return nil, false
	}
	return camp, true
}

// scheduleCampaign serves POST /admin/campaigns/:id/schedule: a draft
// becomes scheduled at the schedule given; a scheduled campaign's
// schedule changes. The audience of a saved segment is copied again, as
// it stands now, as the admin API does.
func (k *Console) scheduleCampaign(c *gin.Context) {
	camp, ok := k.campaignOf(c)
	if !ok {
		return
	}
	p := k.cfg.Campaigns
	ctx := c.Request.Context()
	f := campaignFormOf(c)
	if camp.Status != string(campaign.Scheduled) {
		if _, err := campaign.Transition(campaign.Status(camp.Status), campaign.ActionSchedule); err != nil {
			k.fail(c, err)
			return
		}
	}
	errs := fieldErrors{}
	if err := applyCampaignSchedule(f, camp); err != nil {
		errs.add(err)
	} else if err := checkCampaignSchedule(camp, k.cfg.Clock.Now()); err != nil {
		errs.add(err)
	}
	if len(errs) > 0 {
		k.showCampaign(c, http.StatusUnprocessableEntity, camp, f, errs)
		return
	}
	if camp.SegmentID != 0 {
		s, err := p.Segments.Segment(ctx, camp.SegmentID)
		if err != nil {
			k.fail(c, err)
			return
		}
		camp.Filter, camp.Condition = s.Filter, s.Condition
	}
	camp.Status = string(campaign.Scheduled)
	if err := p.Store.UpdateCampaign(ctx, camp); err != nil {
		k.fail(c, err)
		return
	}
	k.audit(c, "campaign.schedule", "campaign:"+itoa(camp.ID), scheduleText(camp))
	c.Redirect(http.StatusSeeOther, "/admin/campaigns/"+itoa(camp.ID)+"?done="+url.QueryEscape("Scheduled for "+scheduleText(camp)+"."))
}

// campaignDone is the confirmation each action shows.
var campaignDone = map[campaign.Action]string{
	campaign.ActionPause:  "Paused: no more emails go out until you resume it.",
	campaign.ActionResume: "Resumed: it goes on where it stopped.",
	campaign.ActionCancel: "Cancelled: what was not sent will not be.",
}

// moveCampaign serves POST /admin/campaigns/:id/pause, resume and cancel:
// the campaign package says whether the campaign's status allows it, the
// store applies it to the campaign and its messages. A cancel needs its
// confirmation.
func (k *Console) moveCampaign(action campaign.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		camp, ok := k.campaignOf(c)
		if !ok {
			return
		}
		if _, err := campaign.Transition(campaign.Status(camp.Status), action); err != nil {
			k.fail(c, err)
			return
		}
		if action == campaign.ActionCancel && c.PostForm("confirm") != "yes" {
			k.show(c, http.StatusUnprocessableEntity, "campaign-cancel.html", "campaigns", "Cancel "+camp.Name,
				campaignCancelView{C: camp, Error: "Tick the box to confirm: a cancelled campaign cannot be resumed."})
			return
		}
		from, to := campaign.Sources(action)
		names := make([]string, len(from))
		for i, s := range from {
			names[i] = string(s)
		}
		moved, err := k.cfg.Campaigns.Store.MoveCampaign(c.Request.Context(), camp.ID, names, string(to), k.cfg.Clock.Now())
		if err != nil {
			k.fail(c, err)
			return
		}
		k.audit(c, "campaign."+string(action), "campaign:"+itoa(camp.ID), camp.Status+" → "+moved.Status)
		c.Redirect(http.StatusSeeOther, "/admin/campaigns/"+itoa(camp.ID)+"?done="+url.QueryEscape(campaignDone[action]))
	}
}

// campaignCancelView is what the cancel confirmation shows.
type campaignCancelView struct {
	C     *nurture.Campaign
	Error string
}

// cancelCampaignPage serves GET /admin/campaigns/:id/cancel: the
// confirmation step before a cancel.
func (k *Console) cancelCampaignPage(c *gin.Context) {
	camp, ok := k.campaignOf(c)
	if !ok {
		return
	}
	if _, err := campaign.Transition(campaign.Status(camp.Status), campaign.ActionCancel); err != nil {
		k.fail(c, err)
		return
	}
	k.show(c, http.StatusOK, "campaign-cancel.html", "campaigns", "Cancel "+camp.Name, campaignCancelView{C: camp})
}
