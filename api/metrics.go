package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// metrics serves GET /metrics in Prometheus' text format: the counters a
// person running Nurture needs to see that nothing is being lost. It needs
// an admin key (a Prometheus job sends it as a bearer token).
func (a *API) metrics(c *gin.Context) {
	var recorded, dropped, queued int64
	if a.hits != nil {
		recorded, dropped, queued = a.hits.recorded.Load(), a.hits.dropped.Load(), int64(a.hits.queuedHits())
	}
	c.Header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	c.Status(http.StatusOK)
	for _, m := range []struct {
		name, kind, help string
		value            int64
	}{
		{"nurture_hits_recorded_total", "counter", "Opens and clicks written to the database by this process.", recorded},
		{"nurture_hits_dropped_total", "counter", "Opens and clicks dropped because the queue was full while the database was away.", dropped},
		{"nurture_hits_queued", "gauge", "Opens and clicks waiting to be written.", queued},
		{"nurture_ratelimit_skipped_total", "counter", "Rate-limit checks skipped, their requests let through, because Redis failed or was slow (and for a second after each such failure).", a.limits.skipped.Load()},
	} {
		fmt.Fprintf(c.Writer, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.kind, m.name, m.value)
	}
}
