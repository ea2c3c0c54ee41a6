package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

//go:embed pages/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

// view is what every page template receives: the frame (title, menu,
// session, CSRF token) and the page's own Data.
type view struct {
	Title   string
	Section string // the menu entry to mark as current
	KeyName string // who is signed in; "" on the sign-in page
	CSRF    string // the token every form posts as "csrf"
	Menu    []menuItem
	Product string
	Notice  string // a line confirming what was just done
	Data    any
}

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"num":      formatInt,
	"pct":      formatPercent,
	"when":     formatTime,
	"date":     func(t time.Time) string { return formatDate(t) },
	"lower":    strings.ToLower,
	"join":     strings.Join,
	"barChart": barChart,
}

// parsePages parses every page file with the layout (pages/_*.html are
// the layout and partials, shared by all).
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(pageFiles, "pages/_*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	names, err := fs.Glob(pageFiles, "pages/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(pageFiles, n)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pageHeaders are the headers of every console page: never cached, no
// framing by other sites, scripts and styles from the console only.
func (k *Console) pageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// page fills the frame of v for the signed-in operator.
func (k *Console) page(c *gin.Context, section, title string, data any) view {
	s := sessionOf(c)
	return view{Title: title, Section: section, KeyName: s.KeyName, CSRF: csrfToken(s.token), Menu: k.menu,
		Product: k.cfg.Product.Name, Notice: c.Query("done"), Data: data}
}

// show renders a page of the signed-in operator's console.
func (k *Console) show(c *gin.Context, status int, file, section, title string, data any) {
	k.render(c, status, file, k.page(c, section, title, data))
}

// render writes the page file with v.
func (k *Console) render(c *gin.Context, status int, file string, v view) {
	t, ok := k.pages[file]
	if !ok {
		k.cfg.Logger.Error("console: no page file", "file", file)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	if v.Product == "" {
		v.Product = k.cfg.Product.Name
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := t.ExecuteTemplate(c.Writer, file, v); err != nil && !errors.Is(err, context.Canceled) {
		k.cfg.Logger.Error("console: render "+file, "err", err)
	}
}

// errorPage answers with a page saying what went wrong, and stops.
func (k *Console) errorPage(c *gin.Context, status int, message string) {
	k.show(c, status, "error.html", "", http.StatusText(status), message)
	c.Abort()
}

// fail answers for an error from a store: a domain error's message is
// shown with its status, anything else is logged and reported plainly.
func (k *Console) fail(c *gin.Context, err error) {
	status, msg := errorStatus(err)
	if status == http.StatusInternalServerError {
		k.cfg.Logger.Error("console: "+c.FullPath(), "err", err)
	}
	k.errorPage(c, status, msg)
}

// static serves the embedded stylesheet and scripts.
func (k *Console) static(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	b, err := staticFiles.ReadFile("static/" + name)
	if err != nil || name == "" {
		c.Status(http.StatusNotFound)
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, ct, b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// formatInt writes n with thousands separators: 1,234,567.
func formatInt(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int32:
		v = int64(x)
	case int64:
		v = x
	default:
		return fmt.Sprint(n)
	}
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// formatPercent writes a fraction as a percentage: 0.0123 is "1.23%".
func formatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
}

// formatTime writes t in UTC to the minute; the zero time is "—".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}
