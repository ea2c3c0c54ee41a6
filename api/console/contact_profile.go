package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// timelinePageSize is how many lines of a timeline a page shows.
const timelinePageSize = 50

// contactView is what a contact's page shows.
type contactView struct {
	Contact     *nurture.Contact
	Heading     string
	Profile     []sourcedValue
	Attributes  []sourcedValue
	Company     *companyView // nil: none
	Enrichment  *nurture.Enrichment
	Consents    *nurture.Consents
	Suppression *nurture.Suppression
	Enrollments []nurture.Enrollment
	Timeline    []timelineLine
	Newest      bool   // the timeline starts at the newest line
	Older       string // the link to the timeline's next page, "" at the end
}

// sourcedValue is a value with where it came from.
type sourcedValue struct {
	Field  string
	Value  string
	Source string // "Product", "Enriched", "The person", "Group call"
	Detail string // enriched: from what, how
	At     time.Time
}

// companyView is the contact's company, each value with its source.
type companyView struct {
	ID         int64
	Name       string
	Fields     []sourcedValue
	EnrichedAt time.Time
}

// timelineLine is a line of the timeline as the page writes it.
type timelineLine struct {
	At     time.Time
	Kind   nurture.TimelineKind
	What   string
	Detail string
	Status string // a message's status
	Error  string // a message's last error
}

// contactPage is /admin/contacts/:id.
func (k *Console) contactPage(c *gin.Context) {
	id, ok := k.contactID(c)
	if !ok {
		return
	}
	before, err := parseTimelineCursor(c.Query("before"))
	if err != nil {
		k.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	store := k.cfg.Contacts.Store
	contact, err := store.Contact(ctx, id)
	if err != nil {
		k.fail(c, notFoundContact(err))
		return
	}
	v := contactView{Contact: contact, Heading: contactHeading(contact), Newest: before == nurture.TimelineCursor{}}
	var enriched []nurture.EnrichedField
	if v.Enrichment, err = store.Enrichment(ctx, id); err == nil {
		enriched = v.Enrichment.Fields
	} else if nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
		k.fail(c, err)
		return
	}
	v.Profile, v.Attributes = profileSources(contact, enriched)
	if contact.CompanyID != 0 {
		co, err := store.Company(ctx, contact.CompanyID)
		if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			k.fail(c, err)
			return
		}
		if co != nil {
			v.Company = companySources(co)
		}
	}
	if v.Consents, err = store.ContactConsents(ctx, id); err != nil {
		k.fail(c, err)
		return
	}
	if contact.Email != "" {
		if v.Suppression, err = store.ContactSuppression(ctx, contact.Email); err != nil {
			k.fail(c, err)
			return
		}
	}
	if v.Enrollments, err = store.ContactEnrollments(ctx, id); err != nil {
		k.fail(c, err)
		return
	}
	lines, err := store.ContactTimeline(ctx, id, before, timelinePageSize+1)
	if err != nil {
		k.fail(c, err)
		return
	}
	if len(lines) > timelinePageSize {
		lines = lines[:timelinePageSize]
		v.Older = olderTimeline(id, formatTimelineCursor(lines[len(lines)-1].Cursor()))
	}
	for _, l := range lines {
		v.Timeline = append(v.Timeline, newTimelineLine(l))
	}
	k.show(c, http.StatusOK, "contact.html", "contacts", v.Heading, v)
}

// notFoundContact says plainly that there is no such contact (erased
// ones included).
func notFoundContact(err error) error {
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "There is no contact with this id: it may have been erased."}
	}
	return err
}

// contactHeading names a contact on its page: its name, else its
// address, else its number.
func contactHeading(c *nurture.Contact) string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	if c.Email != "" {
		return c.Email
	}
	return "Contact " + strconv.FormatInt(c.ID, 10)
}

// label writes a field's name for people: "first_name" is "First name".
func label(field string) string {
	s := strings.ReplaceAll(field, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// profileSources is each profile value and attribute of c with its
// source: what nurture.FieldSources says (the product, or enrichment),
// unless the person told it themselves (a correction, which nothing
// overwrites).
func profileSources(c *nurture.Contact, enriched []nurture.EnrichedField) (profile, attrs []sourcedValue) {
	for _, f := range nurture.FieldSources(c, enriched) {
		v := sourcedValue{Field: label(f.Field), Value: f.Value, Source: "Product", At: f.At}
		switch {
		case !c.Told[f.Field].IsZero():
			v.Source, v.At = "The person", c.Told[f.Field]
		case f.Source == nurture.SourceEnriched:
			v.Source, v.Detail = "Enriched", "from "+f.From
			if f.Method != "" {
				v.Detail += " (" + f.Method + ")"
			}
		}
		profile = append(profile, v)
	}
	keys := make([]string, 0, len(c.Attributes))
	for key := range c.Attributes {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := sourcedValue{Field: key, Value: attributeText(c.Attributes[key]), Source: "Product", At: c.TraitTimes["attributes."+key]}
		if at := c.Told["attributes."+key]; !at.IsZero() {
			v.Source, v.At = "The person", at
		}
		attrs = append(attrs, v)
	}
	return profile, attrs
}

// attributeText writes an attribute's value: text as it is, anything
// else as JSON.
func attributeText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// companySources is each typed value of co with its source: a group call
// of the product when one set it, else lead enrichment when it found that
// value (its field "size" is the team size), else the product.
func companySources(co *nurture.Company) *companyView {
	enriched := map[string]nurture.EnrichedField{}
	for _, e := range co.Enriched {
		name := e.Field
		if name == "size" {
			name = "team_size"
		}
		enriched[name] = e
	}
	out := &companyView{ID: co.ID, Name: co.Name, EnrichedAt: co.EnrichedAt}
	if out.Name == "" {
		out.Name = co.Domain
	}
	for _, f := range nurture.CompanyFields {
		value := *f.Get(co)
		if value == "" {
			continue
		}
		v := sourcedValue{Field: label(f.Name), Value: value, Source: "Product"}
		if at, ok := co.TraitTimes[f.Name]; ok {
			v.Source, v.At = "Group call", at
		} else if e, ok := enriched[f.Name]; ok && e.Value == value {
			v.Source, v.Detail, v.At = "Enriched", "from "+e.Source, e.At
			if e.Method != "" {
				v.Detail += " (" + e.Method + ")"
			}
		}
		out.Fields = append(out.Fields, v)
	}
	return out
}

// newTimelineLine writes a line of the timeline for people.
func newTimelineLine(e nurture.TimelineEntry) timelineLine {
	l := timelineLine{At: e.At, Kind: e.Kind}
	email := "“" + e.Template + "”"
	if e.Template == "" {
		email = "an email"
	}
	switch e.Kind {
	case nurture.TimelineEvent:
		l.What = label(e.EventType)
		l.Detail = e.Name
	case nurture.TimelineMessage:
		l.What = "Email " + email
		l.Detail = e.Subject
		if e.Region != "" {
			l.Detail += " · region " + e.Region
		}
		l.Status, l.Error = string(e.Status), e.LastError
	case nurture.TimelineOpen:
		l.What = "Opened " + email
		l.Detail = hitClassText(e.Class)
	case nurture.TimelineClick:
		l.What = "Clicked a link in " + email
		l.Detail = e.URL
		if t := hitClassText(e.Class); t != "" {
			l.Detail += " · " + t
		}
	}
	return l
}

// hitClassText says who made an open or a click, when not a person.
func hitClassText(c nurture.HitClass) string {
	switch c {
	case nurture.ClassHuman:
		return "by the person"
	case "":
		return ""
	}
	return "by a " + string(c) + " (not counted as engagement)"
}

// formatTimelineCursor writes a timeline cursor for a URL: the time in
// Unix microseconds (the database's precision), the rank, the id.
func formatTimelineCursor(cur nurture.TimelineCursor) string {
	return strconv.FormatInt(cur.At.UnixMicro(), 10) + "-" + strconv.Itoa(cur.Rank) + "-" + strconv.FormatInt(cur.ID, 10)
}

// parseTimelineCursor reads the "before" of a page of the timeline; ""
// is the newest page.
func parseTimelineCursor(s string) (nurture.TimelineCursor, error) {
	if s == "" {
		return nurture.TimelineCursor{}, nil
	}
	bad := nurture.FieldError("before", "is not a place in the timeline: open the contact again")
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return nurture.TimelineCursor{}, bad
	}
	micros, err1 := parseID(parts[0])
	rank, err2 := parseID(parts[1])
	id, err3 := parseID(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || rank > int64(nurture.TimelineRank(nurture.TimelineEvent)) ||
		micros > time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() {
		return nurture.TimelineCursor{}, bad
	}
	return nurture.TimelineCursor{At: time.UnixMicro(micros).UTC(), Rank: int(rank), ID: id}, nil
}

// olderTimeline is the link to the timeline's next page.
func olderTimeline(id int64, before string) string {
	return contactPath(id, url.Values{"before": {before}}) + "#timeline"
}
