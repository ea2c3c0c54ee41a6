package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSequenceStats: the figures of a sequence follow what its contacts
// did: enrolled, active, converted and the rate, exited by reason; per
// step entries, sends, the people who opened or clicked (a machine open
// does not count), and the unsubscribes and conversions after it.
func TestSequenceStats(t *testing.T) {
	t.Parallel()
	b, engine, _ := enrollBundle(t)
	ctx := context.Background()
	var ids []int64
	for _, u := range []string{"u-1", "u-2", "u-3", "u-4"} {
		requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": u, "traits": obj{"email": u + "@example.com"}}))
		e := decodeEnrollment(t, b.do(t, request{path: "/v1/sequences/onboarding/enrollments", body: obj{"contact": u}, key: b.admin}), http.StatusCreated)
		require.NoError(t, engine.Advance(ctx, e.ID)) // the welcome
		ids = append(ids, e.ID)
	}
	welcome := func(enrollment int64) (msg, contact int64) {
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT m.id, m.contact_id FROM messages m JOIN message_reasons r ON r.message_id = m.id
			WHERE r.enrollment_id = $1 AND r.step = 'welcome'`, enrollment).Scan(&msg, &contact))
		return msg, contact
	}
	hit := func(enrollment int64, kind, class string) {
		msg, contact := welcome(enrollment)
		_, err := b.pool.Exec(ctx, `INSERT INTO email_events (message_id, contact_id, kind, class, at) VALUES ($1, $2, $3, $4, $5)`,
			msg, contact, kind, class, received.Add(time.Hour))
		require.NoError(t, err)
	}
	hit(ids[0], "click", "human")
	hit(ids[1], "open", "machine")
	decodeEnrollment(t, b.do(t, request{method: http.MethodDelete, path: fmt.Sprintf("/v1/sequences/onboarding/enrollments/%d", ids[2]), key: b.admin}), http.StatusOK)
	// u-4 unsubscribes from onboarding after the welcome.
	_, contact4 := welcome(ids[3])
	_, err := b.pool.Exec(ctx, `INSERT INTO topic_optouts (contact_id, topic, created_at) VALUES ($1, 'onboarding', $2)`, contact4, received.Add(time.Hour))
	require.NoError(t, err)

	// A day later u-2 is activated (the goal), and u-1 gets the setup tips.
	b.clock.Advance(25 * time.Hour)
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u-2", "event": "activated"}))
	require.NoError(t, engine.Advance(ctx, ids[0]))
	require.NoError(t, engine.Advance(ctx, ids[1]))
	require.NoError(t, engine.Advance(ctx, ids[3]))

	res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences/onboarding/stats", key: b.admin})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var st struct {
		Enrolled, Active, Converted, Completed int64
		ConversionRate                         float64 `json:"conversionRate"`
		Exited                                 map[string]int64
		Steps                                  []struct {
			Step, Kind                                   string
			Entered, Sent, Opened, Clicked, Unsubscribed int64
			ConversionsAfter                             int64 `json:"conversionsAfter"`
			Skipped, Postponed                           map[string]int64
		}
	}
	require.NoError(t, json.Unmarshal(res.body, &st))
	require.Equal(t, int64(4), st.Enrolled)
	require.Equal(t, int64(1), st.Active)
	require.Equal(t, int64(1), st.Converted)
	require.InDelta(t, 1.0/4, st.ConversionRate, 1e-9)
	require.Equal(t, map[string]int64{"manual": 1, "unsubscribed from onboarding": 1}, st.Exited)
	require.Equal(t, "welcome", st.Steps[0].Step)
	require.Equal(t, "send", st.Steps[0].Kind)
	w := st.Steps[0]
	require.Equal(t, []int64{4, 4, 1, 1, 1, 1}, []int64{w.Entered, w.Sent, w.Opened, w.Clicked, w.Unsubscribed, w.ConversionsAfter}, "body: %s", res.body)
	var tips bool
	for _, s := range st.Steps {
		if s.Step == "setup-tips" {
			tips = true
			require.Equal(t, int64(1), s.Sent, "body: %s", res.body)
		}
	}
	require.True(t, tips)

	requireError(t, b.do(t, request{method: http.MethodGet, path: "/v1/sequences/nope/stats", key: b.admin}), http.StatusNotFound, "")
}
