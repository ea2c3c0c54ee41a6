package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// Recipients is what the recipient endpoints need: the pixel (/o), the
// click redirect (/c), the preference page and one-click unsubscribe (/u)
// and the email in a browser (/v).
type Recipients struct {
	Store  RecipientStore  // required
	Signer *nurture.Signer // required: verifies the links' tokens
	// Hits records opens and clicks; nil: they are answered, not recorded.
	Hits HitStore
	// Templates renders an email again for /v, and tells which templates
	// are of a topic, so that an opt-out cancels their queued messages.
	// Nil: /v is not served, and an opt-out cancels no queued message in
	// its request (the send path still checks opt-outs at the last moment).
	Templates RecipientTemplates
	// Eraser serves "delete my data" on the preference page,
	// /u/{token}/erase; nil: not served.
	Eraser PageEraser
	// Exporter serves "email me a copy of my data" on the preference
	// page, /u/{token}/export, with ExportQueue (required with it) to
	// queue the email; nil: not served.
	Exporter    PageExporter
	ExportQueue SendEnqueuer
	// PublicURL is the base of the links, when the API is reached under
	// another host (through a proxy): the preference form accepts posts
	// whose Origin is its host or the request's.
	PublicURL string
	// HitRules classify opens and clicks; default nurture.DefaultHitRules.
	HitRules []nurture.HitRule
	// HitQueue is how many opens and clicks may wait while the database is
	// away; past it they are dropped and counted. Default 100,000.
	HitQueue int
	// HitWait is how long an open or click waits for its write to commit
	// before it answers anyway. Default 2s.
	HitWait time.Duration
	// RequireOptIn lists the topics sent only to contacts who opted in
	// (the marketing topic, when the installation requires consent to
	// it): the preference page shows them off until the person opts in,
	// and ticking one there is that opt-in.
	RequireOptIn []nurture.Topic
}

// withDefaults returns r with the defaults of its settings applied.
func (r Recipients) withDefaults() Recipients {
	if r.HitRules == nil {
		r.HitRules = nurture.DefaultHitRules
	}
	if r.HitQueue == 0 {
		r.HitQueue = 100_000
	}
	if r.HitWait == 0 {
		r.HitWait = 2 * time.Second
	}
	return r
}

// RecipientTemplates is what the recipient endpoints need of the
// templates (*templates.Set has it).
type RecipientTemplates interface {
	Previewer
	// Topic returns the topic of the template called name.
	Topic(name string) (nurture.Topic, bool)
	// Names returns the names of every template.
	Names() []string
}

// RecipientStore is what the recipient endpoints need of the store.
type RecipientStore interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	// Company reads the contact's company, for the email in a browser.
	Company(ctx context.Context, id int64) (*nurture.Company, error)
	Message(ctx context.Context, id int64) (*nurture.Message, error)
	OptOuts(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error)
	OptIns(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error)
	// ChangeConsents records the person's opt-outs and opt-ins, cancelling
	// the queued messages of the templates the change names.
	ChangeConsents(ctx context.Context, ch nurture.ConsentChange) error
	InFlight(ctx context.Context, contactID int64, templates []string) (int, error)
}

// The fixed headers of the pixel and of the click's redirect, shared by
// every response (never modified), and set with their canonical keys:
// these are the hottest responses of all.
var (
	pixelNoStore = []string{"no-store, no-cache, must-revalidate, private"}
	pixelNoCache = []string{"no-cache"}
	pixelExpires = []string{"0"}
	pixelType    = []string{"image/gif"}
	clickNoStore = []string{"no-store"}
	noReferrer   = []string{"no-referrer"}
)

// pixel is a transparent 1x1 GIF, 43 bytes.
var pixel = []byte{
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

// token verifies the request's token for purpose.
func (a *API) token(c *gin.Context, purpose nurture.Purpose) (nurture.Token, bool) {
	t, err := a.cfg.Recipients.Signer.Verify(c.Param("token"))
	if err != nil || t.Purpose != purpose {
		return nurture.Token{}, false
	}
	return t, true
}

// recipientMessage is the message the token is about, which must be the
// token's contact's: the one rule every recipient endpoint applies. A
// token is signed, but with the same secret a reset database or a second
// installation holds other people under the same ids, and a link from its
// mail must not act on ours. Opens and clicks, which answer without
// reading the database, have the rule applied where their batch is
// written (HitStore). A missing or foreign message is ErrBadToken.
func (a *API) recipientMessage(ctx context.Context, t nurture.Token) (*nurture.Message, error) {
	m, err := a.cfg.Recipients.Store.Message(ctx, t.MessageID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound || (err == nil && m.ContactID != t.ContactID) {
		return nil, nurture.ErrBadToken
	}
	return m, err
}

// hit is the open or click of token t that r made from addr.
func (a *API) hit(r *http.Request, addr netip.Addr, kind nurture.HitKind, t nurture.Token) nurture.Hit {
	h := nurture.Hit{Kind: kind, MessageID: t.MessageID, ContactID: t.ContactID, LinkIndex: t.LinkIndex, URL: t.URL,
		Method: r.Method, IP: addr, UserAgent: r.UserAgent(), At: a.cfg.Clock.Now(), SentAt: t.IssuedAt}
	if kind == nurture.HitClick {
		h.OtherLinks = a.clicks.add(t.MessageID, t.LinkIndex, h.At)
	}
	nurture.Classify(a.cfg.Recipients.HitRules, &h)
	return h
}

// clientAddr is the client's address: the peer's, unless a trusted proxy
// says otherwise (Gin decides). Without trusted proxies it is read straight
// from the connection's address, the same answer without Gin's detour
// through strings.
func (a *API) clientAddr(c *gin.Context) netip.Addr {
	if len(a.cfg.TrustedProxies) == 0 {
		return peerAddr(c.Request)
	}
	ip, _ := netip.ParseAddr(c.ClientIP())
	return ip
}

// peerAddr is the address of r's peer, as Gin's ClientIP gives it when no
// proxy is trusted; not valid when RemoteAddr is not an address and port.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// open serves GET /o/{token} through Gin (servePixel).
func (a *API) open(c *gin.Context) {
	a.servePixel(c.Writer, c.Request, c.Param("token"), a.clientAddr(c))
}

// click serves GET (and HEAD) /c/{token} through Gin (serveClick).
func (a *API) click(c *gin.Context) {
	if a.serveClick(c.Writer, c.Request, c.Param("token"), a.clientAddr(c)) == http.StatusNotFound {
		c.Abort()
	}
}

// servePixel answers a pixel: the GIF, always, whatever the token and
// whatever the state of the database; a valid token's open is recorded
// first. It returns the status written.
func (a *API) servePixel(w http.ResponseWriter, r *http.Request, token string, addr netip.Addr) int {
	if t, err := a.cfg.Recipients.Signer.Verify(token); err == nil && t.Purpose == nurture.PurposeOpen && a.hits != nil {
		a.hits.record(a.hit(r, addr, nurture.HitOpen, t))
	}
	h := w.Header()
	h["Cache-Control"] = pixelNoStore
	h["Pragma"] = pixelNoCache
	h["Expires"] = pixelExpires
	h["Content-Type"] = pixelType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixel)
	return http.StatusOK
}

// serveClick answers a click: a redirect to the target the token signs,
// and nowhere else, whatever the query string says; the click is recorded
// first. A bad token is a 404 (ErrBadToken). It returns the status written.
func (a *API) serveClick(w http.ResponseWriter, r *http.Request, token string, addr netip.Addr) int {
	t, err := a.cfg.Recipients.Signer.Verify(token)
	if err != nil || t.Purpose != nurture.PurposeClick {
		return writeError(w, nurture.ErrBadToken)
	}
	if a.hits != nil {
		a.hits.record(a.hit(r, addr, nurture.HitClick, t))
	}
	// The redirect is written here rather than by http.Redirect, which
	// parses the URL again and writes an HTML body no browser shows.
	h := w.Header()
	h["Cache-Control"] = clickNoStore
	h["Referrer-Policy"] = noReferrer
	h["Location"] = []string{location(t.URL)}
	w.WriteHeader(http.StatusFound)
	return http.StatusFound
}

// location is a signed target as a Location header: an absolute http(s)
// URL (nurture.SafeLinkTarget) with its non-ASCII bytes percent-encoded, as
// http.Redirect does.
func location(u string) string {
	i := 0
	for i < len(u) && u[i] < utf8.RuneSelf {
		i++
	}
	if i == len(u) {
		return u
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(u)+16)
	b = append(b, u[:i]...)
	for ; i < len(u); i++ {
		if u[i] >= utf8.RuneSelf {
			b = append(b, '%', hex[u[i]>>4], hex[u[i]&15])
		} else {
			b = append(b, u[i])
		}
	}
	return string(b)
}

// preferenceTopics are the topics a person can turn off; transactional mail
// (receipts, password resets) is not theirs to refuse here.
var preferenceTopics = nurture.PreferenceTopics

// unsubscribePage serves GET /u/{token}: the preference page. It changes
// nothing: link scanners follow every link.
func (a *API) unsubscribePage(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	if _, err := a.recipientMessage(c.Request.Context(), t); err != nil {
		fail(c, err)
		return
	}
	a.renderPreferences(c, t, "", http.StatusOK)
}

// unsubscribe serves POST /u/{token}: RFC 8058 one-click unsubscribe
// (List-Unsubscribe=One-Click, form or multipart encoded, no cookie, 200, no
// redirect) and the preference page's own form. The change is committed
// before the answer.
//
// One-click only ever unsubscribes, and mailbox providers send it from
// their own servers: it needs nothing but the link. Every other change,
// above all one that subscribes again, must come from the page's own form
// (pageForm); otherwise nothing changes and the page is shown again, with
// a fresh form, answering 403.
func (a *API) unsubscribe(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeUnsubscribe)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	if ct := c.ContentType(); ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		fail(c, &nurture.Error{Code: nurture.CodeInvalid, Field: "Content-Type",
			Message: "must be application/x-www-form-urlencoded or multipart/form-data"})
		return
	}
	if err := c.Request.ParseMultipartForm(64 << 10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		fail(c, nurture.Errorf(nurture.CodeInvalid, "the form could not be read"))
		return
	}
	ctx := c.Request.Context()
	form := c.Request.PostForm
	oneClick := form.Get("List-Unsubscribe") == "One-Click"
	m, err := a.recipientMessage(ctx, t)
	if err != nil {
		if oneClick && errors.Is(err, nurture.ErrBadToken) {
			if _, cerr := a.cfg.Recipients.Store.Contact(ctx, t.ContactID); nurture.ErrorCodeOf(cerr) == nurture.CodeNotFound {
				// A person erased with their messages: nothing is kept,
				// nothing will be sent, and the mailbox provider hears so.
				c.String(http.StatusOK, "You are unsubscribed.")
				return
			}
		}
		fail(c, err)
		return
	}
	if !oneClick && !a.pageForm(c, form.Get(formTokenField)) {
		a.renderPreferences(c, t, "stale", http.StatusForbidden)
		return
	}
	contact, err := a.cfg.Recipients.Store.Contact(ctx, t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		// An erased person's old link: nothing is kept, nothing to change.
		c.String(http.StatusOK, "You are unsubscribed.")
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	current, err := a.cfg.Recipients.Store.OptOuts(ctx, []int64{contact.ID})
	if err != nil {
		fail(c, err)
		return
	}
	optedOut := slices.Clone(current[contact.ID])
	switch {
	case oneClick:
		topic := a.messageTopic(m)
		if topic == "" || topic == nurture.TopicTransactional {
			optedOut = slices.Clone(preferenceTopics)
		} else if !slices.Contains(optedOut, topic) {
			optedOut = append(optedOut, topic)
		}
	case form.Get("all") != "":
		optedOut = slices.Clone(preferenceTopics)
	default:
		optedOut = nil
		keep := form["topic"]
		for _, topic := range preferenceTopics {
			if !slices.Contains(keep, string(topic)) {
				optedOut = append(optedOut, topic)
			}
		}
	}
	cancelled := a.templatesOf(optedOut)
	ch := nurture.ConsentChange{ContactID: contact.ID, Source: nurture.ConsentPreferencePage, CancelTemplates: cancelled}
	if ip := a.clientAddr(c); ip.IsValid() {
		ch.IP = ip.String()
	}
	if oneClick {
		ch.Source = nurture.ConsentOneClick
	}
	for _, t := range optedOut {
		if !slices.Contains(current[contact.ID], t) {
			ch.OptOut = append(ch.OptOut, t)
		}
	}
	if !oneClick {
		// A topic ticked that was off is the person's opt-in: one they
		// had opted out of, or one that is off until they opt in.
		ch.OptIn, err = a.newOptIns(ctx, contact.ID, current[contact.ID], optedOut)
		if err != nil {
			fail(c, err)
			return
		}
	}
	if err := a.cfg.Recipients.Store.ChangeConsents(ctx, ch); err != nil {
		fail(c, err)
		return
	}
	a.waitInFlight(ctx, contact.ID, cancelled)
	a.cfg.Logger.Info("preferences changed", "contact_id", contact.ID, "opted_out", optedOut, "one_click", oneClick)
	if oneClick {
		c.String(http.StatusOK, "You are unsubscribed.")
		return
	}
	a.renderPreferences(c, t, "saved", http.StatusOK)
}

// newOptIns returns the topics a preference form turns on: those the
// contact had opted out of (wasOut) and that are no longer in nowOut, and
// those that require an opt-in, are not in nowOut, and have none yet.
func (a *API) newOptIns(ctx context.Context, contactID int64, wasOut, nowOut []nurture.Topic) ([]nurture.Topic, error) {
	var in []nurture.Topic
	for _, t := range wasOut {
		if !slices.Contains(nowOut, t) {
			in = append(in, t)
		}
	}
	if len(a.cfg.Recipients.RequireOptIn) == 0 {
		return in, nil
	}
	optIns, err := a.cfg.Recipients.Store.OptIns(ctx, []int64{contactID})
	if err != nil {
		return nil, err
	}
	for _, t := range a.cfg.Recipients.RequireOptIn {
		if !slices.Contains(nowOut, t) && !slices.Contains(in, t) && !slices.Contains(optIns[contactID], t) {
			in = append(in, t)
		}
	}
	return in, nil
}

// formTokenField is the name of the preference form's hidden field that
// carries its form token.
const formTokenField = "form"

// pageForm reports whether a POST of preferences comes from the page's own
// form: it carries the form token the page was served with, for this very
// link and recent enough (nurture.Signer.FormToken), and the browser does
// not say it comes from another site. Sec-Fetch-Site is what browsers of
// the last years send; Origin is checked when it names a site (the page's
// no-referrer policy makes browsers send "null" for it), against the host
// the request came to and the public URL.
func (a *API) pageForm(c *gin.Context, formToken string) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if origin := c.GetHeader("Origin"); origin != "" && origin != "null" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || (!strings.EqualFold(u.Host, c.Request.Host) && !strings.EqualFold(u.Host, a.publicHost)) {
			return false
		}
	}
	return a.cfg.Recipients.Signer.CheckFormToken(c.Param("token"), formToken, a.cfg.Clock.Now())
}

// messageTopic is the topic of the email the link came from.
func (a *API) messageTopic(m *nurture.Message) nurture.Topic {
	if m.Topic == "" && a.cfg.Recipients.Templates != nil {
		t, _ := a.cfg.Recipients.Templates.Topic(m.Template)
		return t
	}
	return m.Topic
}

// templatesOf lists the templates of the given topics, whose queued
// messages an opt-out cancels.
func (a *API) templatesOf(topics []nurture.Topic) []string {
	tmpl := a.cfg.Recipients.Templates
	if tmpl == nil {
		return nil
	}
	var out []string
	for _, name := range tmpl.Names() {
		if t, ok := tmpl.Topic(name); ok && slices.Contains(topics, t) {
			out = append(out, name)
		}
	}
	return out
}

// renderPreferences shows the preference page with code; status is "",
// "saved" (the change is committed) or "stale" (the form was refused and
// nothing changed). Every page carries a new form token.
func (a *API) renderPreferences(c *gin.Context, t nurture.Token, status string, code int) {
	ctx := c.Request.Context()
	contact, err := a.cfg.Recipients.Store.Contact(ctx, t.ContactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		fail(c, nurture.ErrBadToken)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	optOuts, err := a.cfg.Recipients.Store.OptOuts(ctx, []int64{contact.ID})
	if err != nil {
		fail(c, err)
		return
	}
	var optIns map[int64][]nurture.Topic
	if len(a.cfg.Recipients.RequireOptIn) > 0 {
		if optIns, err = a.cfg.Recipients.Store.OptIns(ctx, []int64{contact.ID}); err != nil {
			fail(c, err)
			return
		}
	}
	lang := pickLanguage(contact.Locale, c.GetHeader("Accept-Language"))
	page := preferencePage{
		Lang: lang, T: pageTexts[lang], Email: contact.Email, Action: c.Request.URL.Path, Status: status,
		Product: a.cfg.Product.Name, FormField: formTokenField,
		FormToken: a.cfg.Recipients.Signer.FormToken(c.Param("token"), a.cfg.Clock.Now()),
		CanExport: a.cfg.Recipients.Exporter != nil, CanErase: a.cfg.Recipients.Eraser != nil,
	}
	all := true
	for _, topic := range preferenceTopics {
		on := !slices.Contains(optOuts[contact.ID], topic)
		if slices.Contains(a.cfg.Recipients.RequireOptIn, topic) {
			on = slices.Contains(optIns[contact.ID], topic) // off until the person opts in
		}
		all = all && !on
		page.Topics = append(page.Topics, topicChoice{Topic: string(topic), Label: page.T.Topics[topic], On: on})
	}
	page.AllOff = all
	a.writePage(c, preferencesTemplate, "preference", page, code)
}

// pickLanguage chooses the page's language: the contact's locale, then the
// browser's, then English.
func pickLanguage(locale, acceptLanguage string) string {
	for _, cand := range append([]string{locale}, strings.Split(acceptLanguage, ",")...) {
		cand = strings.ToLower(strings.TrimSpace(cand))
		cand, _, _ = strings.Cut(cand, ";")
		cand, _, _ = strings.Cut(strings.ReplaceAll(cand, "_", "-"), "-")
		if _, ok := pageTexts[cand]; ok {
			return cand
		}
	}
	return "en"
}

// view serves GET /v/{token}: the email in a browser, rendered again for
// its contact, links untracked (a reader who opens it here has opened it).
func (a *API) view(c *gin.Context) {
	t, ok := a.token(c, nurture.PurposeView)
	if !ok {
		fail(c, nurture.ErrBadToken)
		return
	}
	ctx := c.Request.Context()
	m, err := a.recipientMessage(ctx, t)
	if err != nil {
		fail(c, err)
		return
	}
	contact, err := a.cfg.Recipients.Store.Contact(ctx, t.ContactID)
	if err != nil {
		fail(c, err) // an erased contact's email is gone with them
		return
	}
	unsubscribe := strings.TrimSuffix(c.Request.URL.Path, c.Param("token"))
	unsubscribe = strings.Replace(unsubscribe, "/v/", "/u/", 1) + a.cfg.Recipients.Signer.Sign(nurture.Token{
		Purpose: nurture.PurposeUnsubscribe, MessageID: m.ID, ContactID: contact.ID, IssuedAt: t.IssuedAt})
	company, err := companyView(ctx, a.cfg.Recipients.Store, contact)
	if err != nil {
		fail(c, err)
		return
	}
	r, err := a.cfg.Recipients.Templates.Render(m.Template, templates.Data{
		Contact: *contact, Company: company, Product: a.cfg.Product,
		Message: templates.MessageInfo{ID: m.ID, Template: m.Template},
		Links:   templates.Links{Unsubscribe: unsubscribe, Preferences: unsubscribe},
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Content-Security-Policy", "script-src 'none'; frame-ancestors 'none'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(r.HTML))
}

// inFlightWait bounds how long an unsubscribe waits for emails of its
// topics that a worker held when it was made. A worker looks for the
// cancellation every second, so the wait is about that long; a worker that
// holds one longer is not reaching the database, and then cannot send it
// either (its claim lapses before it may start a send).
const inFlightWait = 5 * time.Second

// waitInFlight returns once no cancelled email of the contact's templates
// is still in a worker's hands, or after inFlightWait: an unsubscribe's
// answer then means that nothing of those topics leaves afterwards.
func (a *API) waitInFlight(ctx context.Context, contactID int64, templates []string) {
	if len(templates) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, inFlightWait)
	defer cancel()
	for {
		n, err := a.cfg.Recipients.Store.InFlight(ctx, contactID, templates)
		if err != nil || n == 0 {
			if err != nil && ctx.Err() == nil {
				a.cfg.Logger.Warn("emails in flight after an unsubscribe", "contact_id", contactID, "err", err)
			}
			return
		}
		select {
		case <-ctx.Done():
			a.cfg.Logger.Warn("an unsubscribe answered while a worker still holds an email it cancelled", "contact_id", contactID, "emails", n)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
