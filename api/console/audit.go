package console

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// auditPageSize is how many lines the audit page shows at a time.
const auditPageSize = 100

// auditView is what the audit page shows.
type auditView struct {
	Entries []nurture.AuditEntry
	Older   string // the "before" of the next page, "" at the end
}

// auditPage lists what was done through the console, newest first.
func (k *Console) auditPage(c *gin.Context) {
	var before time.Time
	if b := c.Query("before"); b != "" {
		t, err := time.Parse(time.RFC3339Nano, b)
		if err != nil {
			k.errorPage(c, http.StatusBadRequest, "before: must be a time such as 2026-12-01T10:00:00Z")
			return
		}
		before = t
	}
	entries, err := k.cfg.Audit.AuditLog(c.Request.Context(), before, auditPageSize)
	if err != nil {
		k.fail(c, err)
		return
	}
	v := auditView{Entries: entries}
	if len(entries) == auditPageSize {
		v.Older = entries[len(entries)-1].At.UTC().Format(time.RFC3339Nano)
	}
	k.show(c, http.StatusOK, "audit.html", "audit", "Audit log", v)
}
