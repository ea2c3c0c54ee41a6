package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// With NURTURE_DATABASE_REPLICA_URL, `nurture api` answers a segment
// preview from the replica: with its replay paused, the preview counts the
// replica's older state while a contact written since is found at once
// (the primary), and the metrics say reports read the replica.
func TestReportsReadTheReplicaInTheBinary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pair := testkit.NewReplicaPair(t)
	primary, err := postgres.Connect(ctx, pair.PrimaryURL(), postgres.NoPooler)
	require.NoError(t, err)
	t.Cleanup(primary.Close)
	require.NoError(t, postgres.Migrate(ctx, primary, postgres.NoPooler, nil))
	store := postgres.New(primary)
	ingest, err := createAPIKey(ctx, store, "test", []nurture.Scope{nurture.ScopeIngest})
	require.NoError(t, err)
	admin, err := createAPIKey(ctx, store, "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)

	e := setup(t)
	e.pool, e.key = primary, ingest
	e.env["NURTURE_DATABASE_URL"] = pair.PrimaryURL()
	e.env["NURTURE_DATABASE_REPLICA_URL"] = pair.ReplicaURL()
	e.env["NURTURE_DATABASE_REPLICA_MAX_LAG"] = "1h"
	e.start("api")
	e.waitReady()

	call := func(method, path string, body any) (int, string) {
		t.Helper()
		return e.callAs(admin, method, path, body)
	}
	previewCount := func() float64 {
		t.Helper()
		status, body := call(http.MethodPost, "/v1/segments/preview", map[string]any{"filter": map[string]any{"traits.plan": "trial"}})
		require.Equal(t, http.StatusOK, status, body)
		var out struct{ Count float64 }
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		return out.Count
	}
	signUp := func(from, to int) {
		for i := from; i < to; i++ {
			e.mustPost("/v1/identify", map[string]any{"userId": fmt.Sprintf("u%d", i), "messageId": fmt.Sprintf("m%d", i),
				"traits": map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "plan": "trial"}})
		}
	}

	signUp(0, 2)
	pair.WaitReplayed()
	pair.PauseReplay()
	signUp(2, 5)
	require.InDelta(t, 2.0, previewCount(), 0, "the preview reads the paused replica")
	status, body := call(http.MethodGet, "/v1/contacts/user:u4", nil)
	require.Equal(t, http.StatusOK, status, "a contact just written is found (the primary): %s", body)
	status, body = call(http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, strings.Split(body, "\n"), "nurture_reports_on_replica 1")

	pair.ResumeReplay()
	pair.WaitReplayed()
	require.InDelta(t, 5.0, previewCount(), 0)
}
