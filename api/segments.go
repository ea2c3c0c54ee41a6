package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// SegmentStore is what the saved-segment endpoints need of the store.
type SegmentStore interface {
	CreateSegment(ctx context.Context, s *nurture.Segment) error
	Segment(ctx context.Context, id int64) (*nurture.Segment, error)
	Segments(ctx context.Context) ([]*nurture.Segment, error)
	UpdateSegment(ctx context.Context, s *nurture.Segment) error
	DeleteSegment(ctx context.Context, id int64) error
}

// Audience counts and samples the contacts a condition selects, over
// every contact at once (the store compiles it to SQL).
type Audience interface {
	SegmentCount(ctx context.Context, c nurture.Condition, now time.Time) (int64, error)
	SegmentSample(ctx context.Context, c nurture.Condition, now time.Time, limit int) ([]*nurture.Contact, error)
}

// Segments serves /v1/segments (scope admin): saved segments, and their
// preview when Audience is set.
type Segments struct {
	Store    SegmentStore
	Audience Audience // nil: no preview
}

// PreviewSample is how many contacts a preview lists.
const PreviewSample = 20

// segmentJSON is a saved segment as the API shows it: the filter as it
// was sent, and the condition it means in the text form.
type segmentJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Filter      any       `json:"filter"`
	Condition   string    `json:"condition"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func newSegmentJSON(s *nurture.Segment) segmentJSON {
	out := segmentJSON{ID: s.ID, Name: s.Name, Description: s.Description, Filter: s.Filter,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.Condition != nil {
		out.Condition = s.Condition.String()
	}
	return out
}

// segmentBody reads a segment's fields from a request body: all of them
// for a creation, those given for an update. Unknown keys are refused.
func segmentBody(c *gin.Context, limit int64, s *nurture.Segment, create bool) bool {
	body, err := readObject(c.Request, limit)
	if err != nil {
		fail(c, err)
		return false
	}
	for k := range body {
		if k != "name" && k != "description" && k != "filter" {
			fail(c, nurture.FieldError(clip(k, 50), "is not a field of a segment: want name, description and filter"))
			return false
		}
	}
	text := func(field string, max int, dst *string) bool {
		v, ok := body[field]
		if !ok {
			if create && field == "name" {
				fail(c, nurture.FieldError("name", "is required"))
				return false
			}
			return true
		}
		s, isText := v.(string)
		if !isText {
			fail(c, nurture.FieldError(field, "must be a string"))
			return false
		}
		s = strings.TrimSpace(s)
		if field == "name" && s == "" {
			fail(c, nurture.FieldError("name", "must not be empty"))
			return false
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			fail(c, nurture.FieldError(field, "is not valid text"))
			return false
		}
		if err := nurture.CheckLine(field, s, max); err != nil && field == "name" {
			fail(c, err)
			return false
		}
		if utf8.RuneCountInString(s) > max {
			fail(c, nurture.FieldError(field, "is longer than %d characters", max))
			return false
		}
		*dst = s
		return true
	}
	if !text("name", nurture.MaxSegmentName, &s.Name) || !text("description", nurture.MaxSegmentDescription, &s.Description) {
		return false
	}
	if f, ok := body["filter"]; ok || create {
		cond, err := nurture.ParseSegmentFilter(f)
		if err != nil {
			fail(c, err)
			return false
		}
		s.Filter, s.Condition = f, cond
	}
	return true
}

// segmentID reads the path's segment id.
func segmentID(c *gin.Context) (int64, bool) { return pathID(c, "a segment's") }

// pathID reads the path's id, a positive whole number (digits only), or
// answers the request with an error naming id and what it should be.
func pathID(c *gin.Context, whose string) (int64, bool) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || strings.Trim(raw, "0123456789") != "" {
		fail(c, nurture.FieldError("id", "must be %s id, a positive whole number", whose))
		return 0, false
	}
	return id, true
}

// createSegment serves POST /v1/segments.
func (a *API) createSegment(c *gin.Context) {
	s := &nurture.Segment{}
	if !segmentBody(c, a.cfg.MaxBodyBytes, s, true) {
		return
	}
	if err := a.cfg.Segments.Store.CreateSegment(c.Request.Context(), s); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, newSegmentJSON(s))
}

// listSegments serves GET /v1/segments.
func (a *API) listSegments(c *gin.Context) {
	ss, err := a.cfg.Segments.Store.Segments(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]segmentJSON, len(ss))
	for i, s := range ss {
		out[i] = newSegmentJSON(s)
	}
	c.JSON(http.StatusOK, gin.H{"segments": out})
}

// getSegment serves GET /v1/segments/{id}.
func (a *API) getSegment(c *gin.Context) {
	id, ok := segmentID(c)
	if !ok {
		return
	}
	s, err := a.cfg.Segments.Store.Segment(c.Request.Context(), id)
	if err != nil {
		fail(c, segmentNotFound(err))
		return
	}
	c.JSON(http.StatusOK, newSegmentJSON(s))
}

// updateSegment serves PATCH /v1/segments/{id}: the fields given change.
func (a *API) updateSegment(c *gin.Context) {
	id, ok := segmentID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	s, err := a.cfg.Segments.Store.Segment(ctx, id)
	if err != nil {
		fail(c, segmentNotFound(err))
		return
	}
	if !segmentBody(c, a.cfg.MaxBodyBytes, s, false) {
		return
	}
	if err := a.cfg.Segments.Store.UpdateSegment(ctx, s); err != nil {
		fail(c, segmentNotFound(err))
		return
	}
	c.JSON(http.StatusOK, newSegmentJSON(s))
}

// deleteSegment serves DELETE /v1/segments/{id}.
func (a *API) deleteSegment(c *gin.Context) {
	id, ok := segmentID(c)
	if !ok {
		return
	}
	if err := a.cfg.Segments.Store.DeleteSegment(c.Request.Context(), id); err != nil {
		fail(c, segmentNotFound(err))
		return
	}
	c.Status(http.StatusNoContent)
}

func segmentNotFound(err error) error {
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "no segment has this id"}
	}
	return err
}

// previewSegment serves POST /v1/segments/preview: how many contacts a
// filter selects now, and the first PreviewSample of them. The body holds
// a filter, or the id of a saved segment as segmentId.
func (a *API) previewSegment(c *gin.Context) {
	body, err := readObject(c.Request, a.cfg.MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var cond nurture.Condition
	rawID, byID := body["segmentId"]
	_, byFilter := body["filter"]
	for k := range body {
		if k != "filter" && k != "segmentId" {
			fail(c, nurture.FieldError(clip(k, 50), "is not a field of a preview: want filter or segmentId"))
			return
		}
	}
	switch {
	case byID && byFilter:
		fail(c, nurture.FieldError("segmentId", "cannot be given with filter: preview one or the other"))
		return
	case byID:
		id, err := strconv.ParseInt(toText(rawID), 10, 64)
		if err != nil || id < 1 {
			fail(c, nurture.FieldError("segmentId", "must be a segment's id, a positive whole number"))
			return
		}
		s, err := a.cfg.Segments.Store.Segment(ctx, id)
		if err != nil {
			fail(c, segmentNotFound(err))
			return
		}
		cond = s.Condition
	default:
		if cond, err = nurture.ParseSegmentFilter(body["filter"]); err != nil {
			fail(c, err)
			return
		}
	}
	now := a.cfg.Clock.Now()
	aud := a.cfg.Segments.Audience
	n, err := aud.SegmentCount(ctx, cond, now)
	if err != nil {
		fail(c, err)
		return
	}
	sample, err := aud.SegmentSample(ctx, cond, now, PreviewSample)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]companyContactJSON, len(sample))
	for i, ct := range sample {
		out[i] = companyContactJSON{ID: ct.ID, UserID: ct.ExternalID, Email: ct.Email, Name: ct.Name()}
	}
	text := ""
	if cond != nil {
		text = cond.String()
	}
	c.JSON(http.StatusOK, gin.H{"count": n, "sample": out, "condition": text})
}

// toText reads a JSON number or string as text.
func toText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return ""
}
