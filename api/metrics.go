package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// Observer is told what the API does, for monitoring: package
// internal/metrics implements it. Config.Observer nil tells nobody.
type Observer interface {
	// IngestRequest: a request to an ingestion endpoint ("identify",
	// "batch", ...) was answered with status.
	IngestRequest(endpoint string, status int)
	// IngestCalls: n calls of a type were accepted (stored, or duplicates),
	// rejected (the store's rules refused the request) or failed (the
	// store failed).
	IngestCalls(callType, outcome string, n int)
	// IngestDuplicates: n accepted calls had been seen before.
	IngestDuplicates(n int)
	// BounceReports: n reports of a bounce type came from a provider and
	// were recorded.
	BounceReports(bounceType, provider string, n int)
}

// noObserver is the Observer of a Config without one.
type noObserver struct{}

func (noObserver) IngestRequest(string, int)         {}
func (noObserver) IngestCalls(string, string, int)   {}
func (noObserver) IngestDuplicates(int)              {}
func (noObserver) BounceReports(string, string, int) {}

// observeIngest counts the requests of the ingestion endpoints by their
// answer, those refused for their key included.
func (a *API) observeIngest(c *gin.Context) {
	c.Next()
	a.cfg.Observer.IngestRequest(strings.TrimPrefix(c.FullPath(), "/v1/"), c.Writer.Status())
}

// observeCalls counts the calls a request gave the store, by type, with
// what the store made of them.
func (a *API) observeCalls(calls []nurture.Call, res *nurture.IngestResult, err error) {
	outcome := "accepted"
	if err != nil {
		outcome = "failed"
		if statusOf(nurture.ErrorCodeOf(err)) < 500 {
			outcome = "rejected"
		}
	}
	byType := map[nurture.EventType]int{}
	for _, call := range calls {
		byType[call.Type]++
	}
	for t, n := range byType {
		a.cfg.Observer.IngestCalls(string(t), outcome, n)
	}
	if res != nil && res.Duplicates > 0 {
		a.cfg.Observer.IngestDuplicates(res.Duplicates)
	}
}

// observeBounces counts the reports recorded, by type and provider.
func (a *API) observeBounces(bounces []nurture.Bounce) {
	type key struct{ typ, provider string }
	counts := map[key]int{}
	for _, b := range bounces {
		counts[key{string(b.Type), b.Provider}]++
	}
	for k, n := range counts {
		a.cfg.Observer.BounceReports(k.typ, k.provider, n)
	}
}

// HitsRecorded counts the opens and clicks this process wrote to the
// database.
func (a *API) HitsRecorded() int64 {
	if a.hits == nil {
		return 0
	}
	return a.hits.recorded.Load()
}

// QueuedHits is how many opens and clicks wait to be written.
func (a *API) QueuedHits() int {
	if a.hits == nil {
		return 0
	}
	return a.hits.queuedHits()
}

// RateLimitSkipped counts the rate-limit checks skipped, their requests
// let through, because Redis failed or was slow.
func (a *API) RateLimitSkipped() int64 { return a.limits.skipped.Load() }
