package api

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive; it checks nothing else so that a slow
// database does not get a healthy process restarted.
func (a *API) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz says whether every dependency answers, and which do not.
func (a *API) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(a.cfg.Ready))
	for name := range a.cfg.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	checks, status := gin.H{}, http.StatusOK
	for _, name := range names {
		if err := a.cfg.Ready[name](ctx); err != nil {
			a.cfg.Logger.Warn("readiness check failed", "dependency", name, "err", err)
			checks[name], status = "unavailable", http.StatusServiceUnavailable
			continue
		}
		checks[name] = "ok"
	}
	c.JSON(status, gin.H{"status": map[bool]string{true: "ok", false: "unavailable"}[status == http.StatusOK], "checks": checks})
}
