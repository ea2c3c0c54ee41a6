package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// queueUI is asynqmon mounted at /admin/queues, on the Redis at addr, as
// cmd/nurture builds it.
func queueUI(t *testing.T, addr string) http.Handler {
	t.Helper()
	ui := asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: asynq.RedisClientOpt{Addr: addr}})
	t.Cleanup(func() { _ = ui.Close() })
	return ui
}

// queueHarness is the console with the queue UI on a Redis of its own,
// where one task waits in the queue "default".
func queueHarness(t *testing.T) (*harness, *asynq.Inspector) {
	t.Helper()
	redis := testkit.NewRedisServer(t)
	h := newHarness(t, func(cfg *consoleConfig) { cfg.Queues = queueUI(t, redis.Addr) })
	opt := asynq.RedisClientOpt{Addr: redis.Addr}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	_, err := client.Enqueue(asynq.NewTask("email:send", []byte(`{"message_id":1}`)), asynq.MaxRetry(1))
	require.NoError(t, err)
	in := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = in.Close() })
	return h, in
}

func TestQueueUIIsBehindTheSignIn(t *testing.T) {
	t.Parallel()
	h, _ := queueHarness(t)

	_, res := h.get(t, h.client(t), "/admin/queues")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/admin/sign-in?next=%2Fadmin%2Fqueues", res.Header.Get("Location"))
	_, res = h.get(t, h.client(t), "/admin/queues/api/queues")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "its data too")

	c := h.signedIn(t)
	for _, path := range []string{"/admin/queues", "/admin/queues/", "/admin/queues/scheduler"} {
		page, res := h.get(t, c, path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Contains(t, page, "Asynq - Monitoring", path)
		require.Contains(t, page, `window.FLAG_ROOT_PATH="\/admin\/queues"`, path)
		csp := res.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self' 'sha256-", "its inline scripts by their hashes")
		require.NotContains(t, csp[strings.Index(csp, "script-src"):strings.Index(csp, "style-src")], "unsafe-inline")
	}
	data, res := h.get(t, c, "/admin/queues/api/queues")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, data, `"queue":"default"`)
}

// The UI's changes are JSON calls without the console's CSRF token: only
// those the browser says come from the console's own origin are let
// through, and those are audited.
func TestQueueUIRefusesChangesFromOtherSites(t *testing.T) {
	t.Parallel()
	h, in := queueHarness(t)
	c := h.signedIn(t)
	pause := h.srv.URL + "/admin/queues/api/queues/default:pause"

	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"same-site, other origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example"}},
		{"another origin, old browser", map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, pause, nil)
			require.NoError(t, err)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			res, err := c.Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, http.StatusForbidden, res.StatusCode)
			info, err := in.GetQueueInfo("default")
			require.NoError(t, err)
			require.False(t, info.Paused, "nothing changed")
		})
	}

	req, err := http.NewRequest(http.MethodPost, pause, nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", h.srv.URL)
	res, err := c.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	info, err := in.GetQueueInfo("default")
	require.NoError(t, err)
	require.True(t, info.Paused, "the console's own page may pause a queue")

	log, err := h.store.AuditLog(context.Background(), time.Time{}, 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, "queue.change", log[0].Action)
	require.Equal(t, "queue:queues/default:pause", log[0].Target)
	require.Equal(t, "POST", log[0].Detail)
	require.Equal(t, "ops admin", log[0].KeyName)
}
