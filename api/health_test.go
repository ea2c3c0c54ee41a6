package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/testkit"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *api.Config) {
		c.Ready = map[string]api.Pinger{"postgres": func(context.Context) error { return context.DeadlineExceeded }}
	})
	res := b.do(t, request{method: http.MethodGet, path: "/healthz"})
	require.Equal(t, http.StatusOK, res.status, "alive even when a dependency is not")
	require.JSONEq(t, `{"status": "ok"}`, string(res.body))
}

// /readyz answers 200 when every dependency answers, and 503 naming the one
// that does not.
func TestReadyz(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testkit.RedisURL(t))
	require.NoError(t, err)
	up := redis.NewClient(opt)
	t.Cleanup(func() { _ = up.Close() })
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })

	tests := []struct {
		name   string
		redis  *redis.Client
		status int
		want   string
	}{
		{"all up", up, http.StatusOK, `{"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}`},
		{"redis down", down, http.StatusServiceUnavailable, `{"status": "unavailable", "checks": {"postgres": "ok", "redis": "unavailable"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *api.Config) {
				c.Ready = map[string]api.Pinger{
					"postgres": c.Ready["postgres"],
					"redis":    func(ctx context.Context) error { return tt.redis.Ping(ctx).Err() },
				}
			})
			res := b.do(t, request{method: http.MethodGet, path: "/readyz"})
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			require.JSONEq(t, tt.want, string(res.body))
			require.True(t, json.Valid(res.body))
		})
	}
}
