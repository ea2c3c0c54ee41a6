package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// TestSequenceRunsInTheBinary: with `nurture all` on the wall clock, a
// sign-up gets the onboarding sequence's welcome promptly (poller, advance,
// send), GET /v1/messages/{id} says why it was sent, and an exit event
// reported later ends the enrollment within seconds: the time it took is
// logged, the measure the issue asks for.
func TestSequenceRunsInTheBinary(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("all")
	e.waitReady()
	_, _, _ = e.signUp("u-seq", "seq@example.com")
	ctx := context.Background()
	store := postgres.New(e.pool)
	c, err := store.ContactByExternalID(ctx, "u-seq")
	require.NoError(t, err)

	var msg int64
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT id FROM messages WHERE contact_id = $1`, c.ID).Scan(&msg))
	admin, err := createAPIKey(ctx, store, "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, e.apiURL+"/v1/messages/"+strconv.FormatInt(msg, 10), nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Template string `json:"template"`
		Why      struct {
			Sequence, Version, Step string
			Reasons                 []string
		} `json:"why"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "welcome", body.Template)
	require.Equal(t, "onboarding", body.Why.Sequence)
	require.Equal(t, "welcome", body.Why.Step)
	require.NotEmpty(t, body.Why.Version)

	start := time.Now()
	e.mustPost("/v1/track", map[string]any{"userId": "u-seq", "event": "demo_booked", "messageId": "demo-u-seq"})
	require.Eventually(t, func() bool {
		es, err := store.ContactEnrollments(ctx, c.ID)
		require.NoError(t, err)
		return len(es) == 1 && es[0].Status == nurture.EnrollmentExited
	}, 20*time.Second, 10*time.Millisecond)
	t.Logf("exit event to enrollment exited: %v", time.Since(start).Round(time.Millisecond))
}
