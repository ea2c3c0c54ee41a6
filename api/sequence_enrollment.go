package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
)

// EnrollmentStore is what the enrollment endpoints need: the contacts, and
// the sequence engine's enrollments.
type EnrollmentStore interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	// Enroll enrolls the contact by hand, under the sequence's entry
	// rules: when they refuse, it returns nil and why.
	Enroll(ctx context.Context, contactID int64, sequenceID string) (*nurture.Enrollment, string, error)
	// ExitEnrollment ends an active enrollment as exited for reason; an
	// enrollment that has ended already is a conflict.
	ExitEnrollment(ctx context.Context, id int64, reason string) (*nurture.Enrollment, error)
	Enrollment(ctx context.Context, id int64) (*nurture.Enrollment, error)
	ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error)
}

// enrollmentJSON is an enrollment as the API shows it.
type enrollmentJSON struct {
	ID        int64                    `json:"id"`
	ContactID int64                    `json:"contactId"`
	Sequence  string                   `json:"sequence"`
	Version   string                   `json:"version"`
	Status    nurture.EnrollmentStatus `json:"status"`
	Reason    string                   `json:"reason,omitempty"`
	Step      string                   `json:"step,omitempty"`
	NextRun   *time.Time               `json:"nextRun,omitempty"`
	StartedAt time.Time                `json:"startedAt"`
	EndedAt   *time.Time               `json:"endedAt,omitempty"`
}

func newEnrollmentJSON(e *nurture.Enrollment) enrollmentJSON {
	return enrollmentJSON{ID: e.ID, ContactID: e.ContactID, Sequence: e.Sequence, Version: e.Version, Status: e.Status,
		Reason: e.Reason, Step: e.Step, NextRun: timePtr(e.NextRun), StartedAt: e.Started, EndedAt: timePtr(e.Ended)}
}

// ManualExit is the reason of an enrollment ended through the API.
const ManualExit = "manual"

// enroll serves POST /v1/sequences/{id}/enrollments with {"contact": C}:
// the contact enters the sequence now, as its trigger would have made
// them, unless the entry rules refuse (409, saying why).
func (a *API) enroll(c *gin.Context) {
	seq, ok := a.sequence(c)
	if !ok {
		return
	}
	data, err := readBody(c.Request, a.cfg.MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(data, &body); err != nil || body == nil {
		fail(c, nurture.Errorf(nurture.CodeInvalid, `the body is not a JSON object such as {"contact": "ada@example.com"}`))
		return
	}
	for k := range body {
		if k != "contact" {
			fail(c, nurture.FieldError(clip(k, 50), "is not a key of an enrollment: want contact"))
			return
		}
	}
	raw, ok := body["contact"]
	if !ok {
		fail(c, nurture.FieldError("contact", "is required: the product's userId, an email address or Nurture's id of the contact"))
		return
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			fail(c, nurture.FieldError("contact", "is not a string: give the product's userId, an email address or Nurture's id"))
			return
		}
		name = n.String()
	}
	store := a.cfg.Sequences.Enrollments
	ctx := c.Request.Context()
	contact, err := findContact(ctx, store, name)
	if err != nil {
		fail(c, err)
		return
	}
	e, why, err := store.Enroll(ctx, contact.ID, seq.ID)
	if err != nil {
		fail(c, err)
		return
	}
	if e == nil {
		fail(c, &nurture.Error{Code: nurture.CodeConflict, Field: "contact", Message: "the entry rules of " + seq.ID + " refuse this contact: " + why})
		return
	}
	c.JSON(http.StatusCreated, newEnrollmentJSON(e))
}

// exitEnrollment serves DELETE /v1/sequences/{id}/enrollments/{enrollment}:
// the enrollment ends, exited for the reason "manual"; no email of it is
// created after.
func (a *API) exitEnrollment(c *gin.Context) {
	seq, ok := a.sequence(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("enrollment"), 10, 64)
	if err != nil || id < 1 {
		fail(c, nurture.FieldError("enrollment", "must be an enrollment's id, a positive whole number"))
		return
	}
	store := a.cfg.Sequences.Enrollments
	ctx := c.Request.Context()
	e, err := store.Enrollment(ctx, id)
	if err == nil && e.Sequence != seq.ID {
		err = nurture.ErrNotFound // another sequence's: not found under this one
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.Errorf(nurture.CodeNotFound, "sequence %s has no enrollment %d", seq.ID, id))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	if e.Status != nurture.EnrollmentActive {
		fail(c, nurture.Errorf(nurture.CodeConflict, "enrollment %d has ended already: %s", id, sequence.EndedText(e)))
		return
	}
	e, err = store.ExitEnrollment(ctx, id, ManualExit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newEnrollmentJSON(e))
}

// contactEnrollments serves GET /v1/contacts/{id}/enrollments: the
// contact's enrollments in every sequence, oldest first.
func (a *API) contactEnrollments(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	store := a.cfg.Sequences.Enrollments
	ctx := c.Request.Context()
	var contact *nurture.Contact
	switch {
	case ref.userID != "":
		contact, err = store.ContactByExternalID(ctx, ref.userID)
	default:
		contact, err = store.Contact(ctx, ref.id)
	}
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, notFoundBy(ref))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	es, err := store.ContactEnrollments(ctx, contact.ID)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]enrollmentJSON, len(es))
	for i := range es {
		out[i] = newEnrollmentJSON(&es[i])
	}
	c.JSON(http.StatusOK, gin.H{"contactId": contact.ID, "enrollments": out})
}

// EngineEnrollments is the EnrollmentStore of a running Nurture: the
// sequence engine enrolls contacts and exits enrollments, the store reads
// them.
type EngineEnrollments struct {
	Engine EnrollmentEngine
	Store  EnrollmentRows
	Clock  nurture.Clock // default: the system clock
}

// EnrollmentEngine enrolls contacts under the entry rules and ends
// enrollments by hand; *sequence.Engine is one.
type EnrollmentEngine interface {
	Enroll(ctx context.Context, contactID int64, seqID string, at time.Time) (*nurture.Enrollment, string, error)
	Exit(ctx context.Context, id int64, reason string) (*nurture.Enrollment, error)
}

// EnrollmentRows is what EngineEnrollments reads of the store.
type EnrollmentRows interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	Enrollment(ctx context.Context, id int64) (*nurture.Enrollment, error)
	ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error)
}

// Contact returns the contact with the given id.
func (e *EngineEnrollments) Contact(ctx context.Context, id int64) (*nurture.Contact, error) {
	return e.Store.Contact(ctx, id)
}

// ContactByExternalID returns the contact with the product's user id.
func (e *EngineEnrollments) ContactByExternalID(ctx context.Context, userID string) (*nurture.Contact, error) {
	return e.Store.ContactByExternalID(ctx, userID)
}

// ContactByEmail returns the contact with the address.
func (e *EngineEnrollments) ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error) {
	return e.Store.ContactByEmail(ctx, email)
}

// Enrollment returns the enrollment with the given id.
func (e *EngineEnrollments) Enrollment(ctx context.Context, id int64) (*nurture.Enrollment, error) {
	return e.Store.Enrollment(ctx, id)
}

// ContactEnrollments returns the contact's enrollments, oldest first.
func (e *EngineEnrollments) ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error) {
	return e.Store.ContactEnrollments(ctx, contactID)
}

// Enroll enrolls the contact now, under the entry rules.
func (e *EngineEnrollments) Enroll(ctx context.Context, contactID int64, sequenceID string) (*nurture.Enrollment, string, error) {
	return e.Engine.Enroll(ctx, contactID, sequenceID, e.now())
}

func (e *EngineEnrollments) now() time.Time {
	if e.Clock == nil {
		return nurture.SystemClock{}.Now().UTC()
	}
	return e.Clock.Now().UTC()
}

// ExitEnrollment ends an active enrollment as exited for reason.
func (e *EngineEnrollments) ExitEnrollment(ctx context.Context, id int64, reason string) (*nurture.Enrollment, error) {
	return e.Engine.Exit(ctx, id, reason)
}
