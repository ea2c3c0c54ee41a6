package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

const (
	sessionCookie = "nurture_console"
	// signInCookie carries the sign-in form's CSRF token (double submit):
	// there is no session yet to derive it from.
	signInCookie = "nurture_console_signin"
	csrfField    = "csrf"
	sessionKey   = "console.session" // gin context: the *signedIn
)

// signedIn is the session a request comes with.
type signedIn struct {
	nurture.ConsoleSession
	token string // the cookie's value: the CSRF token derives from it
}

// sessionOf is the request's session; requireSession has set it.
func sessionOf(c *gin.Context) *signedIn {
	s, _ := c.Get(sessionKey)
	si, _ := s.(*signedIn)
	if si == nil {
		return &signedIn{}
	}
	return si
}

// csrfToken is the token every form of a session carries: an HMAC of a
// fixed label under the session's own token, which only the browser holding
// the (HttpOnly) cookie and the server can know.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("nurture console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requireSession lets through requests with a live session; others are
// sent to the sign-in page (a GET, with the page they asked for) or
// refused (anything else).
func (k *Console) requireSession(c *gin.Context) {
	token, err := c.Cookie(sessionCookie)
	if err == nil && token != "" {
		s, err := k.cfg.Sessions.ConsoleSession(c.Request.Context(), hashToken(token), k.cfg.Clock.Now())
		if err == nil {
			c.Set(sessionKey, &signedIn{ConsoleSession: *s, token: token})
			c.Next()
			return
		}
		var de *nurture.Error
		if !errors.As(err, &de) || de.Code != nurture.CodeNotFound {
			k.cfg.Logger.Error("console: session look-up", "err", err)
			k.pageHeaders(c)
			k.errorPage(c, http.StatusServiceUnavailable, "The database did not answer. Try again in a moment.")
			return
		}
	}
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Redirect(http.StatusSeeOther, "/admin/sign-in?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	k.pageHeaders(c)
	k.errorPage(c, http.StatusUnauthorized, "Your session has ended. Sign in again.")
}

// requireCSRF refuses a form (any method but GET and HEAD) whose CSRF
// token is not the session's.
func (k *Console) requireCSRF(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	want := csrfToken(sessionOf(c).token)
	if got := c.PostForm(csrfField); subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		k.errorPage(c, http.StatusForbidden, "This form has expired or did not come from the console. Go back, reload the page and try again.")
		return
	}
	c.Next()
}

// signInForm is what the sign-in page shows.
type signInForm struct {
	Next  string
	Error string
}

// safeNext is where to go after signing in: a path of the console, never
// another site (no open redirect).
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) ||
		(u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/")) || strings.HasPrefix(u.Path, "/admin/sign-") {
		return "/admin"
	}
	return u.RequestURI()
}

func (k *Console) signInPage(c *gin.Context) {
	k.renderSignIn(c, http.StatusOK, signInForm{Next: safeNext(c.Query("next"))})
}

// renderSignIn shows the sign-in form with a fresh double-submit token.
func (k *Console) renderSignIn(c *gin.Context, status int, f signInForm) {
	token := randomToken()
	k.setCookie(c, signInCookie, token, 600)
	k.render(c, status, "sign-in.html", view{Title: "Sign in", CSRF: token, Data: f})
}

// signIn exchanges an admin API key for a session.
func (k *Console) signIn(c *gin.Context) {
	ctx := c.Request.Context()
	f := signInForm{Next: safeNext(c.PostForm("next"))}
	cookie, _ := c.Cookie(signInCookie)
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(c.PostForm(csrfField))) != 1 {
		f.Error = "The form expired. Please try again."
		k.renderSignIn(c, http.StatusForbidden, f)
		return
	}
	if l := k.cfg.SignInLimiter; l != nil {
		if ok, _, err := l.Allow(ctx, "console-sign-in:"+c.ClientIP()); err == nil && !ok {
			f.Error = "Too many attempts from your address. Wait a minute and try again."
			k.renderSignIn(c, http.StatusTooManyRequests, f)
			return
		}
	}
	key := strings.TrimSpace(c.PostForm("key"))
	if key == "" {
		f.Error = "Enter an admin API key."
		k.renderSignIn(c, http.StatusBadRequest, f)
		return
	}
	now := k.cfg.Clock.Now()
	found, err := k.cfg.Keys.APIKeyByHash(ctx, nurture.HashAPIKey(key))
	var de *nurture.Error
	switch {
	case err != nil && (!errors.As(err, &de) || de.Code != nurture.CodeNotFound):
		k.cfg.Logger.Error("console: key look-up", "err", err)
		f.Error = "The database did not answer. Try again in a moment."
		k.renderSignIn(c, http.StatusServiceUnavailable, f)
		return
	case err != nil || !found.RevokedAt.IsZero():
		f.Error = "That key is not valid."
		k.renderSignIn(c, http.StatusUnauthorized, f)
		return
	case !found.Has(nurture.ScopeAdmin):
		f.Error = "That key does not have the admin scope."
		k.renderSignIn(c, http.StatusForbidden, f)
		return
	}
	token := randomToken()
	if err := k.cfg.Sessions.CreateConsoleSession(ctx, hashToken(token), found.ID, now.Add(k.cfg.SessionTTL)); err != nil {
		k.cfg.Logger.Error("console: create session", "err", err)
		f.Error = "The database did not answer. Try again in a moment."
		k.renderSignIn(c, http.StatusServiceUnavailable, f)
		return
	}
	k.setCookie(c, sessionCookie, token, int(k.cfg.SessionTTL.Seconds()))
	k.setCookie(c, signInCookie, "", -1)
	c.Set(sessionKey, &signedIn{ConsoleSession: nurture.ConsoleSession{KeyID: found.ID, KeyName: found.Name}, token: token})
	k.audit(c, "session.sign-in", "api_key:"+itoa(found.ID), "")
	c.Redirect(http.StatusSeeOther, f.Next)
}

// signOut ends the session.
func (k *Console) signOut(c *gin.Context) {
	s := sessionOf(c)
	if err := k.cfg.Sessions.DeleteConsoleSession(c.Request.Context(), hashToken(s.token), k.cfg.Clock.Now()); err != nil {
		k.cfg.Logger.Error("console: delete session", "err", err)
		k.errorPage(c, http.StatusServiceUnavailable, "The database did not answer; you are still signed in. Try again in a moment.")
		return
	}
	k.audit(c, "session.sign-out", "api_key:"+itoa(s.KeyID), "")
	k.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/admin/sign-in")
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, on /admin,
// Secure when the console is served over https.
func (k *Console) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: k.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}
