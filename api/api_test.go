package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// routeServed reports whether the API has a route for r: anything but
// the answer of an unknown endpoint.
func routeServed(t *testing.T, b *bundle, r request) bool {
	t.Helper()
	res := b.do(t, r)
	if res.status != http.StatusNotFound {
		return true
	}
	var e apiError
	require.NoError(t, json.Unmarshal(res.body, &e), "body: %s", res.body)
	return e.Error.Message != "no such endpoint"
}

// Each concern of Config left nil leaves its routes unserved, and only
// those: a process is given what it serves, and nothing is found at run
// time (the webhooks once took the bounce store from the ingestion store
// by a type assertion).
func TestConcernsLeftNilAreNotServed(t *testing.T) {
	t.Parallel()
	type route struct {
		name string
		req  func(b *bundle, webhookKey string) request
	}
	routes := map[string][]route{
		"ingestion": {
			{"track", func(b *bundle, _ string) request {
				return request{path: "/v1/track", key: b.ingest, body: obj{"userId": "u1", "event": "x"}}
			}},
			{"batch", func(b *bundle, _ string) request {
				return request{path: "/v1/batch", key: b.ingest, body: obj{"batch": []obj{}}}
			}},
		},
		"admin": {
			{"contact", func(b *bundle, _ string) request {
				return request{method: http.MethodGet, path: "/v1/contacts/1", key: b.admin, bearer: true}
			}},
			{"message", func(b *bundle, _ string) request {
				return request{method: http.MethodGet, path: "/v1/messages/1", key: b.admin, bearer: true}
			}},
		},
		"recipients": {
			{"pixel", func(*bundle, string) request { return request{method: http.MethodGet, path: "/o/x"} }},
			{"click", func(*bundle, string) request { return request{method: http.MethodGet, path: "/c/x"} }},
			{"preferences", func(*bundle, string) request { return request{method: http.MethodGet, path: "/u/x"} }},
		},
		"webhooks": {
			{"generic", func(_ *bundle, key string) request {
				return request{path: "/v1/webhooks/bounces", key: key, body: obj{"email": "a@example.com", "type": "soft"}}
			}},
			{"sendgrid", func(_ *bundle, key string) request {
				return request{path: "/v1/webhooks/sendgrid", key: key, body: "[]"}
			}},
		},
	}
	leaveOut := map[string]func(*api.Config){
		"ingestion":  func(c *api.Config) { c.Ingestion = nil },
		"admin":      func(c *api.Config) { c.Admin = nil },
		"recipients": func(c *api.Config) { c.Recipients = nil },
		"webhooks":   func(c *api.Config) { c.Webhooks = nil },
	}
	for left, configure := range leaveOut {
		t.Run("without "+left, func(t *testing.T) {
			t.Parallel()
			b := setup(t, configure)
			key := b.newKey(t, nurture.ScopeWebhooks)
			for concern, rs := range routes {
				for _, r := range rs {
					require.Equal(t, concern != left, routeServed(t, b, r.req(b, key)), "%s: %s", concern, r.name)
				}
			}
			require.True(t, routeServed(t, b, request{method: http.MethodGet, path: "/healthz"}))
		})
	}
}

func TestOptionalRoutesOfAConcern(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *api.Config) { c.Admin.Messages, c.Recipients.Templates = nil, nil })
	require.False(t, routeServed(t, b, request{method: http.MethodGet, path: "/v1/messages/1", key: b.admin, bearer: true}))
	require.False(t, routeServed(t, b, request{method: http.MethodGet, path: "/v1/templates/welcome/preview?contact_id=1", key: b.admin, bearer: true}))
	require.False(t, routeServed(t, b, request{method: http.MethodGet, path: "/v/x"}))
	require.True(t, routeServed(t, b, request{method: http.MethodGet, path: "/v1/contacts/1", key: b.admin, bearer: true}))
	require.True(t, routeServed(t, b, request{method: http.MethodGet, path: "/u/x"}))
}

func TestNewRefusesAConcernWithoutItsDependencies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		missing string
		cfg     api.Config
	}{
		{"Ingestion.Store", api.Config{Keys: b.store, Ingestion: &api.Ingestion{}}},
		{"Admin.Contacts", api.Config{Keys: b.store, Admin: &api.Admin{Messages: b.store}}},
		{"Recipients.Store", api.Config{Recipients: &api.Recipients{Signer: b.signer}}},
		{"Recipients.Signer", api.Config{Recipients: &api.Recipients{Store: b.store}}},
		{"Webhooks.Bounces", api.Config{Keys: b.store, Webhooks: &api.Webhooks{}}},
		{"Keys", api.Config{Webhooks: &api.Webhooks{Bounces: b.store}}},
	} {
		_, err := api.New(tc.cfg)
		require.EqualError(t, err, "api: Config."+tc.missing+" is required", tc.missing)
	}
	// The recipient endpoints and health checks ask for no key.
	_, err := api.New(api.Config{Recipients: &api.Recipients{Store: b.store, Signer: b.signer}})
	require.NoError(t, err)
}
