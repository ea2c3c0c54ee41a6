package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/internal/testkit"
)

// In development mode research reaches 127.0.0.0/8 and nothing else: a
// name that resolves to a public address is refused at the dial (the
// guard under the fetcher's own checks) and logged, while a local site is
// read.
func TestResearchInDevModeStaysOnLoopback(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(acmePage))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := testkit.StartDNS(t,
		"acme-robotics.de. 60 IN A 127.0.0.1",
		"outside.de. 60 IN A 93.184.215.14",
	)
	var mu sync.Mutex
	var dialed []string
	record := func(next enrich.DialFunc) enrich.DialFunc {
		return func(ctx context.Context, network, address string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, address)
			mu.Unlock()
			return next(ctx, network, address)
		}
	}
	var logs bytes.Buffer
	cfg := &config.Config{Dev: true, Enrich: true, EnrichDNS: dns}
	sources, err := researchSources(cfg, enrich.FetchConfig{Limiter: enrich.Unlimited{}, WrapDial: record},
		func(d string) string { return "http://" + d + ":" + port + "/" }, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.Len(t, sources, 2, "site and DNS; no provider configured")
	site := sources[0]

	res := site.Research(t.Context(), enrich.Query{Domain: "acme-robotics.de"})
	require.Equal(t, enrich.StatusOK, res.Status, res.Reason)

	res = site.Research(t.Context(), enrich.Query{Domain: "outside.de"})
	require.Equal(t, enrich.StatusUnavailable, res.Status)
	require.Contains(t, res.Reason, "refused")
	require.Contains(t, logs.String(), "93.184.215.14", "the refusal is logged")
	mu.Lock()
	defer mu.Unlock()
	for _, a := range dialed {
		require.NotContains(t, a, "93.184.215.14", "refused before any dial left the guard")
	}
}
