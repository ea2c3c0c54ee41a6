package console

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// suppressionPageSize is how many suppressions the list shows at a time.
const suppressionPageSize = 50

// maxRemovalReason is the longest reason a removal may give (it goes to
// the audit log as it is).
const maxRemovalReason = 500

// Suppressions is what the suppressions pages need.
type Suppressions struct {
	Store SuppressionStore
}

// SuppressionStore lists, finds and removes suppressions, each keyed by
// the SHA-256 of its lower-cased address (nurture.EmailHash).
type SuppressionStore interface {
	// SuppressionList returns up to limit suppressions newest first, after
	// the entry (at, hash) ending the page before; a zero at: from the newest.
	SuppressionList(ctx context.Context, at time.Time, hash []byte, limit int) ([]nurture.SuppressedAddress, error)
	// SuppressionByHash returns one suppression, or nurture.CodeNotFound.
	SuppressionByHash(ctx context.Context, hash []byte) (*nurture.SuppressedAddress, error)
	// RemoveSuppression takes the address off the list so that it may be
	// mailed again, or answers nurture.CodeNotFound.
	RemoveSuppression(ctx context.Context, hash []byte) (*nurture.SuppressedAddress, error)
}

// suppressionRoutes adds the suppressions pages to g.
func (k *Console) suppressionRoutes(g *gin.RouterGroup) {
	g.GET("/suppressions", k.suppressionList)
	g.GET("/suppressions/:hash", k.suppressionPage)
	g.POST("/suppressions/:hash/remove", k.removeSuppression)
}

// suppressionRow is one suppression as the pages show it.
type suppressionRow struct {
	nurture.SuppressedAddress
	Key    string // the hex of the hash: the entry's path
	Reason string // in words
}

func newSuppressionRow(s nurture.SuppressedAddress) suppressionRow {
	return suppressionRow{SuppressedAddress: s, Key: hex.EncodeToString(s.EmailHash), Reason: reasonInWords(s.Reason)}
}

// reasonInWords says why an address is suppressed, for people.
func reasonInWords(r nurture.SuppressionReason) string {
	switch r {
	case nurture.SuppressHardBounce:
		return "Hard bounce"
	case nurture.SuppressComplaint:
		return "Spam complaint"
	case nurture.SuppressUnsubscribe:
		return "Unsubscribed"
	case nurture.SuppressErasure:
		return "Erased"
	case nurture.SuppressManual:
		return "Added by hand"
	}
	return string(r)
}

// suppressionListView is what the list page shows: a search's result, or
// a page of the list.
type suppressionListView struct {
	Email    string // the address searched for; "" for the list
	Searched bool
	Rows     []suppressionRow
	Older    string // the "before" of the next page, "" at the end
	First    bool   // the newest page
}

// suppressionList is /admin/suppressions: the address searched for
// (?email=, an exact match through the primary key on the address's
// hash), or the list newest first, 50 at a time.
func (k *Console) suppressionList(c *gin.Context) {
	ctx := c.Request.Context()
	store := k.cfg.Suppressions.Store
	v := suppressionListView{Email: strings.TrimSpace(c.Query("email"))}
	if v.Email != "" {
		v.Searched = true
		s, err := store.SuppressionByHash(ctx, nurture.EmailHash(v.Email))
		switch {
		case nurture.ErrorCodeOf(err) == nurture.CodeNotFound:
		case err != nil:
			k.fail(c, err)
			return
		default:
			v.Rows = []suppressionRow{newSuppressionRow(*s)}
		}
		k.show(c, http.StatusOK, "suppressions.html", "suppressions", "Suppressions", v)
		return
	}
	at, hash, err := parseSuppressionCursor(c.Query("before"))
	if err != nil {
		k.errorPage(c, http.StatusBadRequest, "before: not a place in the list; start again from the first page.")
		return
	}
	v.First = at.IsZero()
	list, err := store.SuppressionList(ctx, at, hash, suppressionPageSize)
	if err != nil {
		k.fail(c, err)
		return
	}
	for _, s := range list {
		v.Rows = append(v.Rows, newSuppressionRow(s))
	}
	if len(list) == suppressionPageSize {
		last := list[len(list)-1]
		v.Older = formatSuppressionCursor(last.Since, last.EmailHash)
	}
	k.show(c, http.StatusOK, "suppressions.html", "suppressions", "Suppressions", v)
}

// formatSuppressionCursor is the "before" of the list page after the
// entry (at, hash).
func formatSuppressionCursor(at time.Time, hash []byte) string {
	return at.UTC().Format(time.RFC3339Nano) + "_" + hex.EncodeToString(hash)
}

// parseSuppressionCursor reads the "before" of a list page: the time and
// the hash of the entry that ended the page before, "<RFC 3339>_<hex>".
// "" is the first page (a zero time).
func parseSuppressionCursor(s string) (time.Time, []byte, error) {
	if s == "" {
		return time.Time{}, nil, nil
	}
	at, h, ok := strings.Cut(s, "_")
	if !ok {
		return time.Time{}, nil, nurture.FieldError("before", "is not a place in the list")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, nil, nurture.FieldError("before", "is not a place in the list")
	}
	hash, err := hex.DecodeString(h)
	if err != nil {
		return time.Time{}, nil, nurture.FieldError("before", "is not a place in the list")
	}
	return t, hash, nil
}

// removalView is the page of one suppression with its removal form: the
// confirmation step before a removal.
type removalView struct {
	Row    suppressionRow
	Reason string // what was typed, when the form comes back
	Error  string // why the form was refused
}

// suppressionByPath finds the suppression of the path's :hash, or answers
// 404 and returns nil.
func (k *Console) suppressionByPath(c *gin.Context) *nurture.SuppressedAddress {
	hash, err := hex.DecodeString(c.Param("hash"))
	if err != nil || len(hash) == 0 {
		k.errorPage(c, http.StatusNotFound, "There is no such suppression.")
		return nil
	}
	s, err := k.cfg.Suppressions.Store.SuppressionByHash(c.Request.Context(), hash)
	if err != nil {
		k.fail(c, err)
		return nil
	}
	return s
}

// suppressionPage shows one suppression and the form that removes it.
func (k *Console) suppressionPage(c *gin.Context) {
	s := k.suppressionByPath(c)
	if s == nil {
		return
	}
	k.show(c, http.StatusOK, "suppression.html", "suppressions", "Remove a suppression", removalView{Row: newSuppressionRow(*s)})
}

// removeSuppression takes an address off the list, with the operator's
// reason (required) and their confirmation (the "confirm" box), and
// writes the audit line: the hash as target and the reason as detail,
// never the address.
func (k *Console) removeSuppression(c *gin.Context) {
	s := k.suppressionByPath(c)
	if s == nil {
		return
	}
	reason := strings.TrimSpace(c.PostForm("reason"))
	v := removalView{Row: newSuppressionRow(*s), Reason: reason}
	switch {
	case reason == "":
		v.Error = "reason: say why this address may be mailed again (it goes in the audit log)."
	case utf8.RuneCountInString(reason) > maxRemovalReason:
		v.Error = "reason: keep it under 500 characters."
	case s.Email != "" && strings.Contains(strings.ToLower(reason), strings.ToLower(s.Email)):
		v.Error = "reason: leave the address out; the audit log keeps no addresses."
	case c.PostForm("confirm") != "yes":
		v.Error = "confirm: tick the box to confirm that this address may be mailed again."
	}
	if v.Error != "" {
		k.show(c, http.StatusBadRequest, "suppression.html", "suppressions", "Remove a suppression", v)
		return
	}
	if _, err := k.cfg.Suppressions.Store.RemoveSuppression(c.Request.Context(), s.EmailHash); err != nil {
		k.fail(c, err)
		return
	}
	k.audit(c, "suppression.remove", "email_hash:"+hex.EncodeToString(s.EmailHash), reason)
	c.Redirect(http.StatusSeeOther, "/admin/suppressions?done="+url.QueryEscape("Suppression removed: the address may be mailed again."))
}
