package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/jobs"
)

// call is the part of a Segment tracking-API call that identify and track
// share.
type call struct {
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	MessageID   string         `json:"messageId"`
	Timestamp   *time.Time     `json:"timestamp"`
	Traits      map[string]any `json:"traits"`
	Event       string         `json:"event"`
	Properties  map[string]any `json:"properties"`
}

// bind decodes the JSON body into v, rejecting anything but one JSON object.
func bind(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nurture.FieldError(typeErr.Field, "must be a %s", typeErr.Type.Kind())
		}
		var timeErr *time.ParseError
		if errors.As(err, &timeErr) {
			return nurture.FieldError("timestamp", "must be an ISO 8601 date-time")
		}
		return nurture.Errorf(nurture.CodeInvalid, "body is not valid JSON: %v", err)
	}
	return nil
}

// common validates and fills what every call carries.
func (a *API) common(in *call) error {
	in.UserID = strings.TrimSpace(in.UserID)
	if in.UserID == "" && in.AnonymousID == "" {
		return nurture.FieldError("userId", "or anonymousId is required")
	}
	if len(in.UserID) > 255 {
		return nurture.FieldError("userId", "is longer than 255 characters")
	}
	if len(in.MessageID) > 255 {
		return nurture.FieldError("messageId", "is longer than 255 characters")
	}
	if in.MessageID == "" {
		// Without a messageId a call cannot be recognised when replayed.
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		in.MessageID = "nurture-" + hex.EncodeToString(b)
	}
	return nil
}

func (a *API) occurredAt(in *call) time.Time {
	if in.Timestamp != nil && !in.Timestamp.IsZero() {
		return *in.Timestamp
	}
	return a.cfg.Clock.Now()
}

// identify records who a user is: POST /v1/identify.
func (a *API) identify(c *gin.Context) {
	var in call
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	if err := a.common(&in); err != nil {
		fail(c, err)
		return
	}
	profile, err := nurture.ContactFromTraits(in.Traits)
	if err != nil {
		fail(c, err)
		return
	}
	profile.ExternalID = in.UserID
	if profile.ExternalID == "" && profile.Email == "" {
		fail(c, nurture.FieldError("userId", "or traits.email is required to identify a contact"))
		return
	}
	ctx := c.Request.Context()
	contact, _, err := a.cfg.Store.UpsertContact(ctx, profile)
	if err != nil {
		fail(c, err)
		return
	}
	ev := &nurture.Event{ContactID: contact.ID, MessageID: in.MessageID, Type: nurture.EventIdentify,
		Properties: in.Traits, OccurredAt: a.occurredAt(&in)}
	if _, _, err := a.cfg.Store.RecordEvent(ctx, ev, nil); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"success": true})
}

// track records what a user did: POST /v1/track. A signed_up event starts
// the contact's welcome email.
func (a *API) track(c *gin.Context) {
	var in call
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	if err := a.common(&in); err != nil {
		fail(c, err)
		return
	}
	in.Event = strings.TrimSpace(in.Event)
	if in.Event == "" {
		fail(c, nurture.FieldError("event", "is required"))
		return
	}
	if in.UserID == "" {
		fail(c, nurture.FieldError("userId", "is required"))
		return
	}
	ctx := c.Request.Context()
	contact, err := a.cfg.Store.ContactByExternalID(ctx, in.UserID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		// Track may arrive before identify: keep the event on a contact that
		// identify will complete.
		contact, _, err = a.cfg.Store.UpsertContact(ctx, &nurture.Contact{ExternalID: in.UserID})
	}
	if err != nil {
		fail(c, err)
		return
	}
	now := a.cfg.Clock.Now()
	ev := &nurture.Event{ContactID: contact.ID, MessageID: in.MessageID, Type: nurture.EventTrack,
		Name: in.Event, Properties: in.Properties, OccurredAt: a.occurredAt(&in)}
	var drafts []nurture.Message
	if in.Event == nurture.EventSignedUp {
		drafts = append(drafts, nurture.Message{DedupeKey: nurture.WelcomeDedupeKey(contact.ID),
			ContactID: contact.ID, Template: "welcome", Queue: jobs.QueueDefault, SendAt: now, EnqueuedAt: now})
	}
	_, created, err := a.cfg.Store.RecordEvent(ctx, ev, drafts)
	if err != nil {
		fail(c, err)
		return
	}
	for i := range created {
		// The message is durable already; if the queue is unreachable the
		// worker's reconciler finds it and enqueues it later.
		if err := a.cfg.Enqueuer.EnqueueSend(ctx, &created[i]); err != nil {
			a.cfg.Logger.Warn("enqueue deferred to the reconciler", "message_id", created[i].ID, "err", err)
		}
	}
	c.JSON(http.StatusOK, gin.H{"success": true})
}
