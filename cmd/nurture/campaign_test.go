package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		status, raw := e.callAs(admin, method, path, body)
		var out map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &out), raw)
		return status, out
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

	// A test send: to a contact, now, not counted.
	status, c = call(http.MethodPost, path+"/test", map[string]any{"addresses": []string{"c00@example.com", "nobody@example.com"}})
	require.Equal(t, http.StatusBadRequest, status, c)
	require.Equal(t, "addresses[1]", c["error"].(map[string]any)["field"])
	status, c = call(http.MethodPost, path+"/test", map[string]any{"addresses": []string{"c00@example.com"}})
	require.Equal(t, http.StatusAccepted, status, c)
	msgs = e.smtp.WaitForMessages(t, 10, 20*time.Second)
	require.Equal(t, []string{"c00@example.com"}, msgs[9].To, "the free contact got the test")
	_, c = call(http.MethodGet, path, nil)
	require.EqualValues(t, 9, c["stats"].(map[string]any)["messages"].(map[string]any)["sent"], "a test is not counted")
}

// TestCampaignsCommand: an operator writes a campaign in YAML, creates and
// schedules it from the terminal, lists it, pauses it, and reads the
// API's refusal of a bad file with its field.
func TestCampaignsCommand(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("api")
	e.waitReady()
	ctx := context.Background()
	admin, err := createAPIKey(ctx, postgres.New(e.pool), "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	env := map[string]string{"NURTURE_API_URL": e.apiURL, "NURTURE_API_KEY": admin}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"campaigns"}, args...), func(k string) string { return env[k] }, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "winter.yaml")
	day := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	require.NoError(t, os.WriteFile(good, []byte(`name: Winter release
template: newsletter
filter:
  and:
    - traits.plan: pro
    - company.size: {gte: 20}
localDate: "`+day+`"
localTime: "10:00"
fallbackZone: Europe/Paris
throttlePerMinute: 600
`), 0o644))
	code, out, errOut := cli("create", "--file", good, "--schedule")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^campaign \d+ "Winter release": scheduled\n$`, out)
	id := strings.Fields(out)[1]

	code, out, errOut = cli("list")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `(?m)^`+id+` +Winter release +scheduled +`+day+` 10:00 local +newsletter$`, out)
	code, out, errOut = cli("show", "--id", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `audience  traits.plan == "pro" and company.size >= 20`)
	require.Contains(t, out, "(else Europe/Paris)")
	code, out, _ = cli("pause", "--id", id)
	require.Equal(t, 0, code)
	require.Contains(t, out, ": paused")

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"name": "x", "template": "newsletter", "filter": {"traits.seats": {"gtx": 1}}, "sendAt": "2099-01-01T00:00:00Z"}`), 0o644))
	code, _, errOut = cli("create", "--file", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "filter.traits.seats.gtx: ")
	require.Contains(t, errOut, "(422 unprocessable)")
	code, _, errOut = cli("resume", "--id", "999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no campaign has this id")
	code, _, _ = cli("show")
	require.Equal(t, 2, code, "--id is required")
	env["NURTURE_API_KEY"] = ""
	code, _, errOut = cli("list")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "NURTURE_API_KEY")
}
