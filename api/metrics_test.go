package api_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// observed is an api.Observer that counts what it is told, by key.
type observed struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *observed) add(key string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[key] += n
}

func (o *observed) IngestRequest(endpoint string, status int) {
	o.add("request "+endpoint+" "+http.StatusText(status), 1)
}
func (o *observed) IngestCalls(callType, outcome string, n int) {
	o.add("calls "+callType+" "+outcome, n)
}
func (o *observed) IngestDuplicates(n int) { o.add("duplicates", n) }
func (o *observed) BounceReports(bounceType, provider string, n int) {
	o.add("bounces "+bounceType+" "+provider, n)
}

// The Observer is told of every ingestion request by its answer (a bad key
// included), of the calls the store took, their duplicates, and the bounce
// reports recorded: what the nurture_ingest_* and nurture_bounce_reports_*
// series count.
func TestObserverIsToldOfIngestionAndBounces(t *testing.T) {
	t.Parallel()
	obs := &observed{}
	b := setup(t, func(c *api.Config) { c.Observer = obs })
	hooksKey := b.newKey(t, nurture.ScopeWebhooks)

	batch := map[string]any{"batch": []map[string]any{
		{"type": "identify", "userId": "u-obs", "messageId": "m1", "traits": map[string]any{"email": "obs@example.com"}},
		{"type": "track", "userId": "u-obs", "event": "signed_up", "messageId": "m2"},
		{"type": "track", "userId": "u-obs", "event": "upgraded", "messageId": "m3"},
	}}
	require.Equal(t, http.StatusOK, b.do(t, request{path: "/v1/batch", key: b.ingest, body: batch}).status)
	require.Equal(t, http.StatusOK, b.do(t, request{path: "/v1/batch", key: b.ingest, body: batch}).status, "the same calls again")
	require.Equal(t, http.StatusBadRequest, b.do(t, request{path: "/v1/track", key: b.ingest, body: map[string]any{"event": "x"}}).status)
	require.Equal(t, http.StatusUnauthorized, b.do(t, request{path: "/v1/identify", key: "nk_wrong", body: map[string]any{}}).status)
	require.Equal(t, http.StatusOK, b.do(t, request{path: "/v1/webhooks/bounces", key: hooksKey, body: []map[string]any{
		{"email": "obs@example.com", "type": "complaint"},
		{"email": "other@example.com", "type": "hard"},
		{"email": "third@example.com", "type": "hard"},
	}}).status)

	require.Equal(t, map[string]int{
		"request batch OK":              2,
		"request track Bad Request":     1,
		"request identify Unauthorized": 1,
		"calls identify accepted":       2,
		"calls track accepted":          4,
		"duplicates":                    3,
		"bounces complaint api":         1,
		"bounces hard api":              2,
	}, obs.counts)
}
