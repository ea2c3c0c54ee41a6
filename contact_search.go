package nurture

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxContactQuery bounds what a contact search may be given: the longest
// address there is.
const MaxContactQuery = 254

// ContactQuery is what the console's contact search looks for: a prefix
// of an address when the text has an "@" (a whole address is its own
// prefix), otherwise a prefix of a name (first and last, or last alone)
// or of a company. Case is ignored.
type ContactQuery struct {
	Text    string // trimmed, inner spaces folded to one
	Address bool   // Text has an "@": only addresses are searched
}

// ParseContactQuery reads the search box. The field named in errors is "q".
func ParseContactQuery(s string) (ContactQuery, error) {
	if !utf8.ValidString(s) {
		return ContactQuery{}, FieldError("q", "is not valid UTF-8")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) >= 0 {
		return ContactQuery{}, FieldError("q", "contains a control character")
	}
	text := strings.Join(strings.Fields(s), " ")
	switch {
	case text == "":
		return ContactQuery{}, FieldError("q", "is empty: type an address, a name or a company")
	case len(text) > MaxContactQuery:
		return ContactQuery{}, FieldError("q", "is longer than %d bytes", MaxContactQuery)
	}
	return ContactQuery{Text: text, Address: strings.Contains(text, "@")}, nil
}

// The fields a contact search matches on (ContactMatch.Field), in the
// order a contact matching several is listed under the first.
const (
	MatchName     = "name"      // first and last name
	MatchLastName = "last name" // last name alone
	MatchCompany  = "company"
	MatchEmail    = "email"
)

// ContactMatch is a contact a search found: what a list of results shows,
// the field it matched on, and its place in the results (Key, then ID).
type ContactMatch struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Company   string
	CreatedAt time.Time
	Field     string // MatchName, MatchLastName, MatchCompany or MatchEmail
	Key       string // the matched value as the store lower-cased it
}

// Name is the contact's full name, "" when it has none.
func (m ContactMatch) Name() string {
	return strings.TrimSpace(m.FirstName + " " + m.LastName)
}

// ContactCursor is where a page of search results starts: after the match
// with this Key and ID. The zero cursor is the first page.
type ContactCursor struct {
	Key string
	ID  int64
}

// Cursor is the cursor of the page after m.
func (m ContactMatch) Cursor() ContactCursor { return ContactCursor{Key: m.Key, ID: m.ID} }

// TimelineKind is what a line of a contact's timeline is.
type TimelineKind string

// The kinds of a timeline's lines.
const (
	TimelineEvent   TimelineKind = "event"   // an identify, track, page or alias call
	TimelineMessage TimelineKind = "message" // an email, with its status
	TimelineOpen    TimelineKind = "open"
	TimelineClick   TimelineKind = "click"
)

// rank orders lines of the same time: events, then messages, then hits.
func (k TimelineKind) rank() int {
	switch k {
	case TimelineEvent:
		return 3
	case TimelineMessage:
		return 2
	}
	return 1
}

// TimelineEntry is one line of a contact's timeline.
type TimelineEntry struct {
	Kind TimelineKind
	At   time.Time // an event's time, a message's send (or due) time, a hit's time
	ID   int64     // the row's id in its own table (events, messages, email_events)

	// An event: its type (identify, track, page, alias) and name.
	EventType string
	Name      string

	// A message, or the message an open or click was of.
	MessageID int64
	Template  string
	Subject   string
	Status    MessageStatus // a message's
	LastError string        // a message's
	Region    string        // a message's region ("" without regions)

	// An open or a click: who made it (human, machine or bot) and the
	// link clicked.
	Class HitClass
	URL   string
}

// Cursor is the cursor of the page after e.
func (e TimelineEntry) Cursor() TimelineCursor {
	return TimelineCursor{At: e.At, Rank: e.Kind.rank(), ID: e.ID}
}

// TimelineCursor is where a page of a timeline starts, newest first: the
// lines before (At, Rank, ID). The zero cursor is the first page.
type TimelineCursor struct {
	At   time.Time
	Rank int // the kind's order among lines of the same time
	ID   int64
}

// TimelineRank is the Rank of kind in a TimelineCursor.
func TimelineRank(kind TimelineKind) int { return kind.rank() }
