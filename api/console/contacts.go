package console

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// Contacts is what the contacts pages need: a search, a contact's page
// (profile with the source of each value, consents, enrollments and a
// timeline), its export and its erasure.
type Contacts struct {
	// Store is the contacts' store. Required.
	Store ContactStore
}

// ContactStore is what the contacts pages read and do. The export and
// the erasure are those of the admin API (GET /v1/contacts/{id}/export,
// DELETE /v1/contacts/{id}).
type ContactStore interface {
	// SearchContacts returns up to limit contacts q finds after the
	// cursor; erased contacts are never found.
	SearchContacts(ctx context.Context, q nurture.ContactQuery, after nurture.ContactCursor, limit int) ([]nurture.ContactMatch, error)
	// Contact returns a contact; an erased or unknown one is not found.
	Contact(ctx context.Context, id int64) (*nurture.Contact, error)
	// ContactTimeline returns up to limit lines of a contact's timeline
	// before the cursor, newest first.
	ContactTimeline(ctx context.Context, id int64, before nurture.TimelineCursor, limit int) ([]nurture.TimelineEntry, error)
	ContactEnrollments(ctx context.Context, contactID int64) ([]nurture.Enrollment, error)
	ContactConsents(ctx context.Context, id int64) (*nurture.Consents, error)
	// ContactSuppression returns the suppression of an address, nil when
	// it may be mailed.
	ContactSuppression(ctx context.Context, email string) (*nurture.Suppression, error)
	// Enrichment returns a contact's lead enrichment; not found when none
	// was ever asked.
	Enrichment(ctx context.Context, contactID int64) (*nurture.Enrichment, error)
	// Company returns a company; not found when it is gone.
	Company(ctx context.Context, id int64) (*nurture.Company, error)
	// ExportContact returns the export document of a contact
	// (docs/export.md); an erased or unknown one is not found.
	ExportContact(ctx context.Context, id int64) ([]byte, error)
	// EraseContact erases a contact and returns once no email to it can
	// still leave; an erased or unknown one is not found.
	EraseContact(ctx context.Context, id int64, by nurture.ErasedBy) error
}

// contactsPageSize is how many contacts a page of search results lists.
const contactsPageSize = 50

// contactRoutes adds the contacts pages to g.
func (k *Console) contactRoutes(g *gin.RouterGroup) {
	g.GET("/contacts", k.contactsPage)
	g.GET("/contacts/:id", k.contactPage)
	g.POST("/contacts/:id/export", k.exportContact)
	g.GET("/contacts/:id/erase", k.eraseContactPage)
	g.POST("/contacts/:id/erase", k.eraseContact)
}

// contactsView is what the search page shows.
type contactsView struct {
	Query    string // as typed
	Error    string // what is wrong with it, naming the field
	Searched bool   // a search was made (the results may be empty)
	Address  bool   // the query was an address
	Matches  []nurture.ContactMatch
	Next     string // the "after" of the next page, "" at the end
	First    bool   // this is the first page of results
}

// contactsPage is /admin/contacts: the search box, and the contacts it
// found, a page at a time.
func (k *Console) contactsPage(c *gin.Context) {
	raw, asked := c.GetQuery("q")
	v := contactsView{Query: raw}
	if !asked {
		k.show(c, http.StatusOK, "contacts.html", "contacts", "Contacts", v)
		return
	}
	q, err := nurture.ParseContactQuery(raw)
	if err == nil {
		v.Query = q.Text
	}
	var after nurture.ContactCursor
	if err == nil {
		after, err = parseSearchCursor(c.Query("after"))
	}
	if err != nil {
		status, msg := errorStatus(err)
		v.Error = msg
		k.show(c, status, "contacts.html", "contacts", "Contacts", v)
		return
	}
	matches, err := k.cfg.Contacts.Store.SearchContacts(c.Request.Context(), q, after, contactsPageSize+1)
	if err != nil {
		k.fail(c, err)
		return
	}
	v.Searched, v.Address, v.First = true, q.Address, after == nurture.ContactCursor{}
	if len(matches) > contactsPageSize {
		matches = matches[:contactsPageSize]
		v.Next = formatSearchCursor(matches[len(matches)-1].Cursor())
	}
	v.Matches = matches
	k.show(c, http.StatusOK, "contacts.html", "contacts", "Contacts", v)
}

// formatSearchCursor writes a search cursor for a URL: the key in
// base64url (it is a lower-cased name or address, any text), a dot, the id.
func formatSearchCursor(cur nurture.ContactCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cur.Key)) + "." + strconv.FormatInt(cur.ID, 10)
}

// parseSearchCursor reads the "after" of a page of results; "" is the
// first page.
func parseSearchCursor(s string) (nurture.ContactCursor, error) {
	if s == "" {
		return nurture.ContactCursor{}, nil
	}
	bad := nurture.FieldError("after", "is not a place in the results: start the search again")
	key, id, ok := strings.Cut(s, ".")
	if !ok || len(key) > 4*nurture.MaxContactQuery {
		return nurture.ContactCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || !utf8.Valid(b) || strings.ContainsRune(string(b), 0) {
		return nurture.ContactCursor{}, bad
	}
	n, err := parseID(id)
	if err != nil {
		return nurture.ContactCursor{}, bad
	}
	return nurture.ContactCursor{Key: string(b), ID: n}, nil
}

// parseID reads a positive whole number written in digits only.
func parseID(s string) (int64, error) {
	if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

// contactID reads the contact's id from the path; on a bad one it has
// answered already.
func (k *Console) contactID(c *gin.Context) (int64, bool) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		k.errorPage(c, http.StatusBadRequest, "id: must be a contact's id, a positive whole number")
		return 0, false
	}
	return id, true
}

// contactPath is the page of contact id, with query values.
func contactPath(id int64, q url.Values) string {
	p := "/admin/contacts/" + strconv.FormatInt(id, 10)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}
