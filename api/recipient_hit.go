package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nurture-email/nurture"
)

// serveHit answers the pixel (GET /o/{token}) and the click redirect (GET
// and HEAD /c/{token}) without Gin, and reports whether r was one of them;
// every other request, these paths with another method included, is
// Gin's. These are the hottest requests of all (every email opened, every
// link followed), and Gin's routing, context and middleware chain were a
// tenth of their handling; what the middleware does for them is done here
// the same way: a panic answers 500 and is logged, a body larger than
// Config.MaxBodyBytes is refused (the handlers read none), and each
// request is logged at debug level with the same attributes.
//
// It serves only when no proxy is trusted: the client's address then is
// the peer's, while with trusted proxies Gin's ClientIP decides, and the
// requests go through Gin.
func (a *API) serveHit(w http.ResponseWriter, r *http.Request) (served bool) {
	path := r.URL.Path
	if len(path) < 4 || path[0] != '/' || path[2] != '/' || strings.IndexByte(path[3:], '/') >= 0 {
		return false
	}
	var route string
	switch {
	case path[1] == 'o' && r.Method == http.MethodGet:
		route = "/o/:token"
	case path[1] == 'c' && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		route = "/c/:token"
	default:
		return false
	}
	defer func() {
		if rec := recover(); rec != nil {
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec)
			}
			a.cfg.Logger.Error("panic in handler", "panic", rec, "path", path)
			writeError(w, &nurture.Error{Code: nurture.CodeInternal, Message: "internal error"})
			served = true // answered: Gin must not serve it again
		}
	}()
	start := a.cfg.Clock.Now()
	addr := peerAddr(r)
	var status int
	switch {
	case r.ContentLength > a.cfg.MaxBodyBytes:
		status = writeError(w, nurture.Errorf(nurture.CodeTooLarge, "request body is larger than %d bytes", a.cfg.MaxBodyBytes))
	case path[1] == 'o':
		status = a.servePixel(w, r, path[3:], addr)
	default:
		status = a.serveClick(w, r, path[3:], addr)
	}
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	if a.cfg.Logger.Enabled(r.Context(), level) {
		client := ""
		if addr.IsValid() {
			client = addr.String()
		}
		a.cfg.Logger.Log(r.Context(), level, "request", "method", r.Method, "path", route, "status", status,
			"took", a.cfg.Clock.Now().Sub(start), "client", client, "errors", "")
	}
	return true
}

// writeError answers with the domain error de, as fail does through Gin,
// and returns the status written.
func writeError(w http.ResponseWriter, de *nurture.Error) int {
	status := statusOf(de.Code)
	body, err := json.Marshal(errorBody{Error: errorDetail{Code: de.Code, Message: de.Message, Field: de.Field}})
	if err != nil {
		body = nil // cannot happen: the body is strings
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// jsonContentType is the Content-Type of error bodies, Gin's.
var jsonContentType = []string{"application/json; charset=utf-8"}
