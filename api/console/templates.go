package console

import (
	"context"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// Templates is what the templates pages need: the email templates, and
// the contacts to preview them for.
type Templates struct {
	// Set is the email templates in use; *templates.Set satisfies it.
	// Required.
	Set TemplateSet
	// Contacts finds the contact a preview is for (*postgres.DB).
	// Required.
	Contacts PreviewContacts
}

// TemplateSet renders the email templates.
type TemplateSet interface {
	Names() []string
	Render(name string, d templates.Data) (*templates.Rendered, error)
}

// PreviewContacts reads what a template shows of a contact: their
// profile, their company's record and their engagement, as the API's
// preview does.
type PreviewContacts interface {
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	Engagement(ctx context.Context, id int64) (*nurture.EngagementSummary, error)
	Company(ctx context.Context, id int64) (*nurture.Company, error)
}

// renderCSP is the policy of a rendered email: it runs sandboxed (no
// script, an origin of its own), so that the email's markup cannot act on
// the console that frames it; it may show images and its inline styles.
const renderCSP = "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"

// templateRoutes adds the templates pages to g.
func (k *Console) templateRoutes(g *gin.RouterGroup) {
	g.GET("/templates", k.templatesPage)
	g.GET("/templates/:name", k.templatePage)
	g.GET("/templates/:name/render", k.templateRender)
}

// templateCard is one template of the gallery.
type templateCard struct {
	Name, Subject, Topic, Preview, Error string
}

// previewLen is how much of an email's text the gallery shows.
const previewLen = 160

// templatesPage is the gallery: every template rendered with the sample
// data, by name.
func (k *Console) templatesPage(c *gin.Context) {
	set := k.cfg.Templates.Set
	var cards []templateCard
	for _, name := range set.Names() {
		card := templateCard{Name: name}
		r, err := set.Render(name, sampleData(k.cfg.Product))
		if err != nil {
			card.Error = err.Error()
		} else {
			card.Subject, card.Topic, card.Preview = r.Subject, string(r.Topic), excerpt(r.Preheader, r.Text)
		}
		cards = append(cards, card)
	}
	k.show(c, http.StatusOK, "templates.html", "templates", "Templates", cards)
}

// templateView is the preview page of one template.
type templateView struct {
	Name    string
	Contact string // the form's value, "" for the sample data
	For     string // whom it is rendered for, in words
	Sample  bool
	Error   string
	Email   *templates.Rendered
}

// templatePage previews a template for a contact (or the sample data):
// subject, preheader and text part, and the HTML in two frames, at a
// desktop's width and a phone's.
func (k *Console) templatePage(c *gin.Context) {
	name := c.Param("name")
	if !k.hasTemplate(name) {
		k.errorPage(c, http.StatusNotFound, "There is no email template with this name.")
		return
	}
	v := templateView{Name: name, Contact: strings.TrimSpace(c.Query("contact"))}
	d, who, err := k.previewData(c.Request.Context(), v.Contact)
	status := http.StatusOK
	if err == nil {
		v.Email, err = k.cfg.Templates.Set.Render(name, d)
	}
	if err != nil {
		var msg string
		status, msg = errorStatus(err)
		if status == http.StatusInternalServerError {
			k.cfg.Logger.Error("console: preview", "template", name, "err", err)
		}
		v.Error = msg
	}
	v.For, v.Sample = who, v.Contact == ""
	k.show(c, status, "template.html", "templates", "Template "+name, v)
}

// templateRender answers the HTML of a template rendered for the contact
// the query names, sandboxed, for the preview's frames.
func (k *Console) templateRender(c *gin.Context) {
	name := c.Param("name")
	c.Header("Content-Security-Policy", renderCSP)
	d, _, err := k.previewData(c.Request.Context(), strings.TrimSpace(c.Query("contact")))
	var r *templates.Rendered
	if err == nil {
		r, err = k.cfg.Templates.Set.Render(name, d)
	}
	if err != nil {
		status, msg := errorStatus(err)
		if status == http.StatusInternalServerError {
			k.cfg.Logger.Error("console: render", "template", name, "err", err)
		}
		c.Data(status, "text/html; charset=utf-8", []byte("<!doctype html><title>Not rendered</title><p>"+
			html.EscapeString(msg)+"</p>"))
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(r.HTML))
}

// hasTemplate reports whether the set has a template called name.
func (k *Console) hasTemplate(name string) bool {
	for _, n := range k.cfg.Templates.Set.Names() {
		if n == name {
			return true
		}
	}
	return false
}

// previewData is what a preview renders for the contact named by ref (an
// id or an email address): their profile, company and engagement, as the
// API's preview; "" is the sample data. who says whom it is for.
func (k *Console) previewData(ctx context.Context, ref string) (d templates.Data, who string, err error) {
	if ref == "" {
		return sampleData(k.cfg.Product), "sample data (Ada Lovelace, ada@example.com)", nil
	}
	id, email, err := parseContactRef(ref)
	if err != nil {
		return d, "", err
	}
	store := k.cfg.Templates.Contacts
	var contact *nurture.Contact
	if email != "" {
		contact, err = store.ContactByEmail(ctx, email)
	} else {
		contact, err = store.Contact(ctx, id)
	}
	if err != nil {
		return d, "", contactErr(err)
	}
	eng, err := store.Engagement(ctx, contact.ID)
	if err != nil {
		return d, "", err
	}
	var company templates.Company
	if contact.CompanyID != 0 {
		co, err := store.Company(ctx, contact.CompanyID)
		if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			return d, "", err
		}
		company = templates.CompanyOf(co)
	}
	who = "contact " + strconv.FormatInt(contact.ID, 10)
	if contact.Email != "" {
		who += " (" + contact.Email + ")"
	}
	return templates.Data{Contact: *contact, Company: company, Engagement: *eng, Product: k.cfg.Product}, who, nil
}

// parseContactRef reads how the preview form names a contact: an email
// address (normalised), or Nurture's id of the contact.
func parseContactRef(ref string) (id int64, email string, err error) {
	if strings.Contains(ref, "@") {
		email, err := nurture.NormalizeEmail(ref)
		if err != nil {
			return 0, "", nurture.FieldError("contact", "is not an email address")
		}
		return 0, email, nil
	}
	id, err = strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 {
		return 0, "", nurture.FieldError("contact", "must be a contact's id (a positive whole number) or an email address")
	}
	return id, "", nil
}

// contactErr names the field contact in a store's not_found error.
func contactErr(err error) error {
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return &nurture.Error{Code: nurture.CodeNotFound, Field: "contact", Message: "no contact has this id or email address"}
	}
	return err
}

// sampleData is what a template is previewed with when no contact is
// chosen: someone we know well, with the recipient's links, as the
// templates are tried when they load.
func sampleData(p nurture.Product) templates.Data {
	seen := time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC)
	if p.Name == "" {
		p.Name = "Example"
	}
	return templates.Data{
		Contact: nurture.Contact{
			ID: 1, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
			Company: "Example & Co", Industry: "Software", Title: "Engineer", Role: "Engineering", Department: "R&D",
			TeamSize: "11-50", TimeZone: "Europe/London", Locale: "en-GB",
			Attributes: map[string]any{"plan": "pro", "seats": 5.0},
		},
		Company:    templates.Company{Domain: "example.com", Description: "Makes examples."},
		Engagement: nurture.EngagementSummary{FirstSeen: seen.AddDate(0, -2, 0), LastSeen: seen, PageViews: 12, Actions: map[string]int64{"Project Created": 2}},
		Message:    templates.MessageInfo{ID: 1, Sequence: "onboarding", Step: "day-1"},
		Links: templates.Links{
			Unsubscribe:   "https://links.example.com/u/sample",
			Preferences:   "https://links.example.com/u/sample?preferences",
			ViewInBrowser: "https://links.example.com/v/sample",
		},
		Product: p,
	}
}

// excerpt is the start of an email for the gallery: its preheader, or the
// first words of its text.
func excerpt(preheader, text string) string {
	s := preheader
	if s == "" {
		s = strings.Join(strings.Fields(text), " ")
	}
	if len(s) <= previewLen {
		return s
	}
	cut := previewLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], ' '); i > previewLen/2 {
		cut = i
	}
	return s[:cut] + "…"
}
