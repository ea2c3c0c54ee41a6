package console

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

// queuesPath is where the queue UI is mounted; Config.Queues must be
// built with it as its root path (asynqmon.Options.RootPath).
const queuesPath = "/admin/queues"

// queueRoutes mounts the queue UI (Config.Queues) at /admin/queues, for
// every method, behind the sign-in (g checks the session).
//
// The UI is a single-page application of its own: its scripts, its
// styles, and JSON calls that carry no CSRF token of ours. So it gets a
// Content-Security-Policy of its own (its two inline scripts allowed by
// their hashes, nothing from other sites), and a change (any method but
// GET and HEAD) is refused unless the browser says it comes from this
// origin (Sec-Fetch-Site, or else Origin): with the SameSite=Strict
// session cookie, another site can neither read nor change the queues.
// Every change that succeeds goes to the audit log.
func (k *Console) queueRoutes(g *gin.RouterGroup) {
	csp := queueCSP(k.cfg.Queues)
	sameOrigin := http.NewCrossOriginProtection()
	serve := func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		change := c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead
		if change {
			if err := sameOrigin.Check(c.Request); err != nil {
				k.pageHeaders(c)
				k.errorPage(c, http.StatusForbidden, "This request did not come from the console's own pages.")
				return
			}
		}
		k.cfg.Queues.ServeHTTP(c.Writer, c.Request)
		if change && c.Writer.Status() < http.StatusBadRequest {
			target := "queue:" + strings.TrimPrefix(c.Request.URL.Path, queuesPath+"/api/")
			k.audit(c, "queue.change", target, c.Request.Method)
		}
	}
	g.Any("/queues", serve)
	g.Any("/queues/*path", serve)
}

// inlineScript finds the inline scripts of a page.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// queueCSP is the Content-Security-Policy of the queue UI: its scripts
// from the console's origin plus the inline ones its index page has when
// the console starts (by their SHA-256: nothing injected into the page
// could run), styles from the console's origin and inline (its component
// library writes style elements), connections to the console's origin.
// Its web fonts, from another site, are not loaded: the browser's own
// fonts stand in.
func queueCSP(ui http.Handler) string {
	rec := httptest.NewRecorder()
	ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, queuesPath+"/", nil))
	scripts := "'self'"
	for _, m := range inlineScript.FindAllStringSubmatch(rec.Body.String(), -1) {
		sum := sha256.Sum256([]byte(m[1]))
		scripts += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'self'; script-src " + scripts + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self' data:; connect-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
}
