package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

// TestCampaignRunsInTheBinary: with `nurture all`, a campaign created and
// scheduled through the API for now reaches every contact of its segment
// once, at the relay, and shows as sent with its figures.
func TestCampaignRunsInTheBinary(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("all")
	e.waitReady()
	ctx := context.Background()
	for i := range 12 {
		plan := "pro"
		if i%4 == 0 {
			plan = "free"
		}
		e.mustPost("/v1/identify", map[string]any{"userId": fmt.Sprintf("c%02d", i), "messageId": fmt.Sprintf("id-c%02d", i),
			"traits": map[string]any{"email": fmt.Sprintf("c%02d@example.com", i), "plan": plan}})
	}
	admin, err := createAPIKey(ctx, postgres.New(e.pool), "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	call := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		data, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(method, e.apiURL+path, bytes.NewReader(data))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return resp.StatusCode, out
	}
	status, c := call(http.MethodPost, "/v1/campaigns", map[string]any{"name": "Pro news", "template": "newsletter",
		"filter": map[string]any{"traits.plan": "pro"}, "sendAt": time.Now().UTC().Format(time.RFC3339)})
	require.Equal(t, http.StatusCreated, status, c)
	path := fmt.Sprintf("/v1/campaigns/%v", c["id"])
	status, c = call(http.MethodPost, path+"/schedule", nil)
	require.Equal(t, http.StatusOK, status, c)

	require.Eventually(t, func() bool {
		_, c = call(http.MethodGet, path, nil)
		stats := c["stats"].(map[string]any)
		msgs := stats["messages"].(map[string]any)
		return c["status"] == "sent" && msgs["sent"] == float64(9)
	}, 30*time.Second, 100*time.Millisecond, "campaign: %v", c)
	// Identify calls start no sequence: the relay sees the campaign only.
	msgs := e.smtp.WaitForMessages(t, 9, 20*time.Second)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.To[0]]++
	}
	for i := range 12 {
		want := 1
		if i%4 == 0 {
			want = 0
		}
		require.Equal(t, want, got[fmt.Sprintf("c%02d@example.com", i)], "c%02d", i)
	}
	time.Sleep(500 * time.Millisecond) // nothing more arrives
	require.Len(t, e.smtp.Messages(), 9)
}
