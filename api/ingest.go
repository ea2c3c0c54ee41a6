package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// single serves one call of Segment's tracking API: POST /v1/identify,
// /v1/track, /v1/page (and /v1/screen), /v1/alias.
func (a *API) single(typ string) gin.HandlerFunc {
	return func(c *gin.Context) {
		data, err := readBody(c.Request, MaxCallBytes)
		if err != nil {
			fail(c, err)
			return
		}
		if err := checkRaw(data, false); err != nil {
			fail(c, err)
			return
		}
		obj, err := decodeObject(data, "body")
		if err != nil {
			fail(c, err)
			return
		}
		now := a.cfg.Clock.Now()
		skew, err := sentAtSkew(obj, now, "sentAt")
		if err != nil {
			fail(c, err)
			return
		}
		r := &callReader{now: now, skew: skew, newMessage: randomMessageID}
		call, err := r.read(obj, typ)
		if err != nil {
			fail(c, err)
			return
		}
		a.store(c, []nurture.Call{call}, nil)
	}
}

// batch serves POST /v1/batch: many calls in one request, stored all
// together or, when any call is invalid, not at all.
func (a *API) batch(c *gin.Context) {
	data, err := readBody(c.Request, MaxBatchBytes)
	if err != nil {
		fail(c, err)
		return
	}
	if err := checkRaw(data, true); err != nil {
		fail(c, err)
		return
	}
	env, err := decodeBatch(data)
	if err != nil {
		fail(c, err)
		return
	}
	now := a.cfg.Clock.Now()
	skew, err := sentAtSkew(map[string]any{"sentAt": env.SentAt}, now, "sentAt")
	if err != nil {
		fail(c, err)
		return
	}
	// The batch's context joins every call's, so it is checked and masked
	// as theirs are.
	if err := storable(env.Context, "context"); err != nil {
		fail(c, err)
		return
	}
	nurture.ScrubCards(env.Context)
	if _, err := readContext(env.Context, ""); err != nil {
		fail(c, err)
		return
	}
	calls := make([]nurture.Call, 0, len(env.Batch))
	index := make(map[string]int, len(env.Batch)) // messageId -> position, for warnings
	for i, item := range env.Batch {
		field := fmt.Sprintf("batch[%d]", i)
		if len(item) > MaxCallBytes {
			fail(c, &nurture.Error{Code: nurture.CodeTooLarge, Field: field,
				Message: fmt.Sprintf("is %d KB; a call may be at most %d KB", len(item)>>10, MaxCallBytes>>10)})
			return
		}
		obj, err := decodeObject(item, field)
		if err != nil {
			fail(c, err)
			return
		}
		r := &callReader{now: now, skew: skew, prefix: field + ".", batchCtx: env.Context, newMessage: randomMessageID}
		call, err := r.read(obj, "")
		if err != nil {
			fail(c, err)
			return
		}
		calls = append(calls, call)
		if _, seen := index[call.MessageID]; !seen {
			index[call.MessageID] = i // the first is stored, a repeat is not
		}
	}
	a.store(c, calls, index)
}

// store ingests the calls and hands the messages they start to the queue.
// index gives a batch call's position by messageId, to name it in warnings.
func (a *API) store(c *gin.Context, calls []nurture.Call, index map[string]int) {
	ctx := c.Request.Context()
	if len(calls) > 0 {
		res, err := a.cfg.Ingestion.Store.Ingest(ctx, calls, ContactFromTraits, a.cfg.Clock.Now())
		a.observeCalls(calls, res, err)
		if err != nil {
			var callErr *nurture.CallError
			if errors.As(err, &callErr) {
				e := *callErr.Err
				if pos, ok := index[callErr.MessageID]; ok {
					e.Field = fmt.Sprintf("batch[%d].%s", pos, e.Field)
				}
				err = &e
			}
			fail(c, err)
			return
		}
		if len(res.Warnings) > 0 {
			c.JSON(http.StatusOK, gin.H{"success": true, "warnings": warningsJSON(res.Warnings, index)})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"success": true})
}

type warningJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func warningsJSON(ws []nurture.Warning, index map[string]int) []warningJSON {
	out := make([]warningJSON, len(ws))
	for i, w := range ws {
		field := w.Field
		if pos, ok := index[w.MessageID]; ok {
			field = fmt.Sprintf("batch[%d].%s", pos, w.Field)
		}
		out[i] = warningJSON{Field: field, Message: w.Message}
	}
	return out
}
