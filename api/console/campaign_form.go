package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

// maxCampaignName is the longest campaign name, as the admin API allows.
const maxCampaignName = 200

// campaignForm is what the new-campaign and schedule forms post, kept as
// typed so that a refused form comes back with it.
type campaignForm struct {
	Name      string
	Template  string
	Subject   string
	Segment   string // a saved segment's id; "" for Condition
	Condition string // the condition language's text form
	// When is "moment" (SendAt, in UTC) or "local" (LocalDate at
	// LocalTime in each recipient's zone, FallbackZone for those whose
	// profile says none).
	When         string
	SendAt       string // as an <input type=datetime-local> sends it: 2026-12-08T10:00
	LocalDate    string
	LocalTime    string
	FallbackZone string
}

// campaignFormOf reads the form's fields from the request.
func campaignFormOf(c *gin.Context) campaignForm {
	f := func(name string) string { return strings.TrimSpace(c.PostForm(name)) }
	return campaignForm{Name: f("name"), Template: f("template"), Subject: f("subject"), Segment: f("segment"),
		Condition: f("condition"), When: f("when"), SendAt: f("sendAt"), LocalDate: f("localDate"),
		LocalTime: f("localTime"), FallbackZone: f("fallbackZone")}
}

// campaignFormFor is the schedule form filled in with c's schedule.
func campaignFormFor(c *nurture.Campaign) campaignForm {
	f := campaignForm{When: "moment", FallbackZone: c.FallbackZone}
	if c.LocalDate.IsZero() {
		if !c.SendAt.IsZero() {
			f.SendAt = c.SendAt.UTC().Format("2006-01-02T15:04")
		}
		return f
	}
	f.When = "local"
	f.LocalDate = c.LocalDate.Format("2006-01-02")
	f.LocalTime = clockOf(c.LocalMinute)
	return f
}

// clockOf writes minutes after midnight as 15:04.
func clockOf(minute int) string {
	return time.Date(2000, 1, 1, minute/60, minute%60, 0, 0, time.UTC).Format("15:04")
}

// fieldErrors are the messages of a refused form, by the form field they
// concern; "" holds those about no one field.
type fieldErrors map[string]string

// add files err under its field. A domain error's field, as the admin API
// names it, becomes the form's: filter.and[0] is the condition,
// segmentId the segment.
func (e fieldErrors) add(err error) {
	var de *nurture.Error
	if !errors.As(err, &de) {
		e[""] = "Something went wrong on our side; it has been logged. Try again in a moment."
		return
	}
	field := de.Field
	switch {
	case field == "filter" || strings.HasPrefix(field, "filter.") || strings.HasPrefix(field, "filter["):
		field = "condition"
	case field == "segmentId":
		field = "segment"
	case field == "status":
		field = ""
	}
	msg := de.Message
	if field == "condition" && de.Field != "filter" {
		msg = de.Field + ": " + msg // which part of the condition
	}
	if _, taken := e[field]; !taken {
		e[field] = msg
	}
}

// campaignAudience reads the audience of f: a saved segment or a typed
// condition, one of them.
func (p *Campaigns) campaignAudience(ctx context.Context, f campaignForm) (segmentID int64, filter any, cond nurture.Condition, err error) {
	switch {
	case f.Segment != "" && f.Condition != "":
		return 0, nil, nil, nurture.FieldError("segment", "and a condition cannot both be given: choose a saved segment, or leave it at \"a condition\" and type one")
	case f.Segment != "":
		id, perr := strconv.ParseInt(f.Segment, 10, 64)
		if perr != nil || id < 1 {
			return 0, nil, nil, nurture.FieldError("segment", "is not one of the saved segments")
		}
		s, serr := p.Segments.Segment(ctx, id)
		if nurture.ErrorCodeOf(serr) == nurture.CodeNotFound {
			return 0, nil, nil, nurture.FieldError("segment", "is not one of the saved segments")
		}
		if serr != nil {
			return 0, nil, nil, serr
		}
		return s.ID, s.Filter, s.Condition, nil
	case f.Condition == "":
		return 0, nil, nil, nurture.FieldError("condition", "is required, or a saved segment: who the campaign is for")
	}
	cond, err = nurture.ParseSegmentFilter(f.Condition)
	if err != nil {
		return 0, nil, nil, err
	}
	return 0, f.Condition, cond, nil
}

// applyCampaignSchedule sets dst's schedule from f: a moment, or a local
// time with its fallback zone, read as the admin API reads them; and when
// its audience freezes. It does not judge the schedule against the clock
// (checkCampaignSchedule does).
func applyCampaignSchedule(f campaignForm, dst *nurture.Campaign) error {
	switch f.When {
	case "moment":
		t, err := time.ParseInLocation("2006-01-02T15:04", f.SendAt, time.UTC)
		if err != nil {
			if f.SendAt == "" {
				return nurture.FieldError("sendAt", "is required: the date and time (UTC) to send at")
			}
			return nurture.FieldError("sendAt", "%q is not a date and time such as 2026-12-08T10:00", clipText(f.SendAt, 50))
		}
		dst.SendAt, dst.LocalDate, dst.LocalMinute = t, time.Time{}, 0
	case "local":
		zone := f.FallbackZone
		if zone == "" {
			zone = "UTC"
		}
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "Local" {
			return nurture.FieldError("fallbackZone", "%q is not a time zone such as Europe/Paris", clipText(zone, 64))
		}
		lt, err := campaign.ParseLocalTime(f.LocalDate, f.LocalTime, loc)
		if err != nil {
			return err
		}
		dst.SendAt = time.Time{}
		dst.LocalDate = time.Date(lt.Year, lt.Month, lt.Day, 0, 0, 0, 0, time.UTC)
		dst.LocalMinute, dst.FallbackZone = lt.Minute, zone
	default:
		return nurture.FieldError("when", "choose when to send: at a moment, or at a local time in each recipient's zone")
	}
	sched, err := campaign.ScheduleOf(dst)
	if err != nil {
		return err
	}
	dst.StartsAt = sched.Start()
	return nil
}

// checkCampaignSchedule refuses a schedule that cannot be kept now, as the
// admin API does before it schedules a campaign.
func checkCampaignSchedule(c *nurture.Campaign, now time.Time) error {
	sched, err := campaign.ScheduleOf(c)
	if err != nil {
		return err
	}
	if err := sched.Validate(now); err != nil {
		var de *nurture.Error
		if errors.As(err, &de) && de.Field == "sendAt" && !c.LocalDate.IsZero() {
			// The form's local time has its own fields.
			return nurture.FieldError("localDate", "%s", de.Message)
		}
		return err
	}
	if !c.EndsAt.IsZero() && !c.EndsAt.After(sched.Start()) {
		return nurture.FieldError("sendAt", "is not before the campaign's end (%s)", formatTime(c.EndsAt))
	}
	return nil
}

// campaignFromForm fills dst, a new draft, from f; the errors come back
// by field, all of them at once.
func (p *Campaigns) campaignFromForm(ctx context.Context, f campaignForm, dst *nurture.Campaign, now time.Time) fieldErrors {
	errs := fieldErrors{}
	if f.Name == "" {
		errs.add(nurture.FieldError("name", "is required: what the campaign is called in the console"))
	} else if err := nurture.CheckLine("name", f.Name, maxCampaignName); err != nil {
		errs.add(err)
	}
	dst.Name = f.Name
	if topic, ok := p.Templates.Topic(f.Template); ok {
		dst.Template, dst.Topic = f.Template, topic
	} else {
		errs.add(nurture.FieldError("template", "choose one of the templates"))
	}
	if err := nurture.CheckLine("subject", f.Subject, 300); err != nil {
		errs.add(err)
	}
	dst.Subject = f.Subject
	if id, filter, cond, err := p.campaignAudience(ctx, f); err != nil {
		errs.add(err)
	} else {
		dst.SegmentID, dst.Filter, dst.Condition = id, filter, cond
	}
	if err := applyCampaignSchedule(f, dst); err != nil {
		errs.add(err)
	} else if err := checkCampaignSchedule(dst, now); err != nil {
		errs.add(err)
	}
	return errs
}

// campaignNewView is what the new-campaign page shows.
type campaignNewView struct {
	Form      campaignForm
	Errors    fieldErrors
	Templates []string
	Segments  []*nurture.Segment
	Counted   bool  // the audience was counted for the form as it is
	Count     int64 // how many contacts it selects now
}

// newCampaignPage serves GET /admin/campaigns/new: an empty form.
func (k *Console) newCampaignPage(c *gin.Context) {
	k.showNewCampaign(c, http.StatusOK, campaignForm{When: "local", FallbackZone: "UTC"}, fieldErrors{}, nil)
}

// showNewCampaign renders the form with what was typed, its errors, and
// the audience's count when counted.
func (k *Console) showNewCampaign(c *gin.Context, status int, f campaignForm, errs fieldErrors, count *int64) {
	p := k.cfg.Campaigns
	segments, err := p.Segments.Segments(c.Request.Context())
	if err != nil {
		k.fail(c, err)
		return
	}
	v := campaignNewView{Form: f, Errors: errs, Templates: p.Templates.Names(), Segments: segments}
	if count != nil {
		v.Counted, v.Count = true, *count
	}
	// The page's script asks the count endpoint as the condition is typed.
	c.Header("Content-Security-Policy", c.Writer.Header().Get("Content-Security-Policy")+"; connect-src 'self'")
	k.show(c, status, "campaign-new.html", "campaigns", "New campaign", v)
}

// createCampaign serves POST /admin/campaigns/new: with do=count, the form
// again with its audience counted; else a draft campaign made of it.
func (k *Console) createCampaign(c *gin.Context) {
	p := k.cfg.Campaigns
	ctx := c.Request.Context()
	f := campaignFormOf(c)
	now := k.cfg.Clock.Now()
	if c.PostForm("do") == "count" {
		errs := fieldErrors{}
		n, err := p.countAudience(ctx, f, now)
		if err != nil {
			errs.add(err)
			k.showNewCampaign(c, http.StatusUnprocessableEntity, f, errs, nil)
			return
		}
		k.showNewCampaign(c, http.StatusOK, f, errs, &n)
		return
	}
	camp := &nurture.Campaign{Status: string(campaign.Draft), FallbackZone: "UTC"}
	if errs := p.campaignFromForm(ctx, f, camp, now); len(errs) > 0 {
		k.showNewCampaign(c, http.StatusUnprocessableEntity, f, errs, nil)
		return
	}
	if err := p.Store.CreateCampaign(ctx, camp); err != nil {
		k.fail(c, err)
		return
	}
	id := itoa(camp.ID)
	k.audit(c, "campaign.create", "campaign:"+id, "template "+camp.Template)
	c.Redirect(http.StatusSeeOther, "/admin/campaigns/"+id+"?done="+url.QueryEscape("Draft created. Schedule it when it is ready."))
}

// countAudience counts the contacts f's audience selects now.
func (p *Campaigns) countAudience(ctx context.Context, f campaignForm, now time.Time) (int64, error) {
	_, _, cond, err := p.campaignAudience(ctx, f)
	if err != nil {
		return 0, err
	}
	return p.Audience.SegmentCount(ctx, cond, now)
}

// audienceCount serves GET /admin/campaigns/new/count?segment=&condition=
// for the page's script: {"count": n, "text": "1,234 contacts"}, or the
// field at fault and its message.
func (k *Console) audienceCount(c *gin.Context) {
	f := campaignForm{Segment: strings.TrimSpace(c.Query("segment")), Condition: strings.TrimSpace(c.Query("condition"))}
	n, err := k.cfg.Campaigns.countAudience(c.Request.Context(), f, k.cfg.Clock.Now())
	if err != nil {
		errs := fieldErrors{}
		errs.add(err)
		status, _ := errorStatus(err)
		if status == http.StatusInternalServerError {
			k.cfg.Logger.Error("console: count audience", "err", err)
		}
		for field, msg := range errs {
			c.JSON(status, gin.H{"field": field, "error": msg})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"count": n, "text": audienceText(n)})
}

// audienceText writes a count of contacts.
func audienceText(n int64) string {
	if n == 1 {
		return "1 contact"
	}
	return formatInt(n) + " contacts"
}

// clipText cuts s to at most n characters, for quoting input in a message.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
