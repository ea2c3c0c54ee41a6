package api

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// MessageStore is what the message timeline needs of the store.
type MessageStore interface {
	Message(ctx context.Context, id int64) (*nurture.Message, error)
	MessageHistory(ctx context.Context, id int64) ([]nurture.StatusChange, error)
	MessageHits(ctx context.Context, id int64) ([]nurture.Hit, error)
	// MessageReasons says why a sequence sent the message; nil for a
	// message no sequence sent.
	MessageReasons(ctx context.Context, id int64) (*nurture.MessageReasons, error)
}

// whyJSON is why a message was sent: the sequence, the version of its
// file, the step, and the branch decisions, condition values, waits and
// postponements that led there.
type whyJSON struct {
	Sequence   string   `json:"sequence"`
	Version    string   `json:"version"`
	Step       string   `json:"step"`
	Enrollment int64    `json:"enrollmentId,omitempty"`
	Reasons    []string `json:"reasons"`
}

type timelineEntry struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"` // queued, sending, sent, ..., open, click
	Detail string    `json:"detail,omitempty"`
	Class  string    `json:"class,omitempty"` // opens and clicks: human, machine or bot
	Reason string    `json:"reason,omitempty"`
	Link   *int      `json:"link,omitempty"`
	URL    string    `json:"url,omitempty"`
}

type messageJSON struct {
	ID        int64           `json:"id"`
	ContactID int64           `json:"contactId"`
	Template  string          `json:"template"`
	Topic     string          `json:"topic,omitempty"`
	Region    string          `json:"region,omitempty"` // the region whose relay sends it; none without regions
	Status    string          `json:"status"`
	Attempts  int             `json:"attempts"`
	SendAt    time.Time       `json:"sendAt"`
	SentAt    *time.Time      `json:"sentAt"`
	Opens     int             `json:"humanOpens"`
	Clicks    int             `json:"humanClicks"`
	Timeline  []timelineEntry `json:"timeline"`
	Why       *whyJSON        `json:"why,omitempty"`
}

// getMessage serves GET /v1/messages/{id}: the message and its timeline,
// from queued to the last click, machine and bot hits included but marked.
func (a *API) getMessage(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		fail(c, nurture.FieldError("id", "must be a positive whole number"))
		return
	}
	ctx := c.Request.Context()
	m, err := a.cfg.Admin.Messages.Message(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	history, err := a.cfg.Admin.Messages.MessageHistory(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	hits, err := a.cfg.Admin.Messages.MessageHits(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	why, err := a.cfg.Admin.Messages.MessageReasons(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	out := messageJSON{ID: m.ID, ContactID: m.ContactID, Template: m.Template, Topic: string(m.Topic), Region: m.Region,
		Status: string(m.Status), Attempts: m.Attempts, SendAt: m.SendAt, SentAt: timePtr(m.SentAt)}
	if why != nil {
		out.Why = &whyJSON{Sequence: why.Sequence, Version: why.Version, Step: why.Step, Enrollment: why.EnrollmentID, Reasons: why.Reasons}
		if out.Why.Reasons == nil {
			out.Why.Reasons = []string{}
		}
	}
	for _, h := range history {
		out.Timeline = append(out.Timeline, timelineEntry{At: h.At, Event: string(h.Status), Detail: h.Detail})
	}
	for _, h := range hits {
		e := timelineEntry{At: h.At, Event: string(h.Kind), Class: string(h.Class), Reason: h.Reason}
		if h.Kind == nurture.HitClick {
			link := h.LinkIndex
			e.Link, e.URL = &link, h.URL
		}
		if h.Class == nurture.ClassHuman {
			if h.Kind == nurture.HitOpen {
				out.Opens++
			} else {
				out.Clicks++
			}
		}
		out.Timeline = append(out.Timeline, e)
	}
	sort.SliceStable(out.Timeline, func(i, j int) bool { return out.Timeline[i].At.Before(out.Timeline[j].At) })
	c.JSON(http.StatusOK, out)
}
