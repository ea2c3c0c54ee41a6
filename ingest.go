package nurture

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Call is one validated call of the tracking API (identify, track, page,
// alias or group), its timestamp already corrected for the sender's clock skew and
// every card-like value already masked.
type Call struct {
	Type        EventType
	MessageID   string
	UserID      string
	AnonymousID string
	PreviousID  string         // alias: the id being aliased
	Name        string         // track: the event; page: the page's name; group: the groupId
	GroupID     string         // group: the company's id in the product
	Company     *Company       // group: the traits as a company
	Profile     *Contact       // identify: the traits as a profile
	Context     CallContext    // what the call's context says of the person
	Properties  map[string]any // track and page properties; identify traits
	Raw         map[string]any // the whole call as received, masked
	Timestamp   time.Time
}

// A call's time, once corrected for the sender's clock, must fall within a
// window around its arrival: a call dated years ahead would stay a
// contact's last visit for good, and one from long ago is no visit to act
// on.
const (
	MaxEventAgeYears = 5              // how long before its arrival a call may be dated
	MaxEventLead     = 24 * time.Hour // how long after
)

// CallContext is what a call's context tells about the person: it fills the
// profile where traits do not.
type CallContext struct {
	IP, UserAgent, TimeZone, Locale string
}

// IngestState is what the store knows, before a batch, of the people the
// batch mentions. The planner changes it as it goes.
type IngestState struct {
	ByExternalID map[string]*Contact
	ByEmail      map[string]*Contact // by lower-cased address
	Anonymous    map[string]*Contact // anonymous id -> the contact it belongs to
	// CompanyByGroup and CompanyByDomain hold the stored companies the
	// batch's group calls name, or whose domain they claim; the store
	// loads them only for a batch with group calls.
	CompanyByGroup  map[string]*Company
	CompanyByDomain map[string]*Company
	// Pending holds, per anonymous id of the batch, the stored events of
	// that id that no contact owns yet, oldest first.
	Pending map[string][]Event
	// ReadTraits reads the properties of a stored identify event (its
	// traits, as the tracking API received them) as a profile, when the
	// anonymous id that sent it joins a contact. Only the adapter that
	// received them knows their spelling; when nil, stored traits fill
	// nothing.
	ReadTraits TraitsReader
}

// TraitsReader reads the traits of an identify call, spelled as the
// tracking API that received them spells them, into a profile: typed
// fields, validated, and the rest as attributes.
type TraitsReader func(traits map[string]any) (*Contact, error)

// NewIngestState indexes contacts and links.
func NewIngestState(contacts []*Contact, links map[string]int64, pending map[string][]Event) *IngestState {
	s := &IngestState{ByExternalID: map[string]*Contact{}, ByEmail: map[string]*Contact{},
		Anonymous: map[string]*Contact{}, Pending: pending,
		CompanyByGroup: map[string]*Company{}, CompanyByDomain: map[string]*Company{}}
	byID := map[int64]*Contact{}
	for _, c := range contacts {
		byID[c.ID] = c
		s.index(c)
	}
	for anon, id := range links {
		if c := byID[id]; c != nil {
			s.Anonymous[anon] = c
		}
	}
	return s
}

// AddCompanies indexes stored companies by group id and domain.
func (s *IngestState) AddCompanies(cs []*Company) {
	for _, co := range cs {
		if co.GroupID != "" {
			s.CompanyByGroup[co.GroupID] = co
		}
		if co.Domain != "" {
			s.CompanyByDomain[co.Domain] = co
		}
	}
}

func (s *IngestState) index(c *Contact) {
	if c.ExternalID != "" {
		s.ByExternalID[c.ExternalID] = c
	}
	if c.Email != "" {
		s.ByEmail[strings.ToLower(c.Email)] = c
	}
}

// PlannedEvent is an event to store, with the contact it belongs to (nil
// while anonymous).
type PlannedEvent struct {
	Call    *Call
	Contact *Contact
}

// AnonymousLink ties an anonymous id, and the events stored under it, to a contact.
type AnonymousLink struct {
	AnonymousID string
	Contact     *Contact
}

// EmailChange records that a contact's address was replaced.
type EmailChange struct {
	Contact  *Contact
	Old, New string
	At       time.Time
}

// Warning is something of an accepted call that was not applied.
type Warning struct {
	MessageID string // the call's messageId
	Field     string
	Message   string
}

// IngestPlan is what a batch of calls does to the store. Contacts in it are
// pointers so that the ids of created ones, known only once inserted, reach
// every event and link that refers to them.
type IngestPlan struct {
	Created      []*Contact
	Updated      []*Contact // existing contacts that changed
	Events       []PlannedEvent
	Links        []AnonymousLink
	Relinked     []PlannedEvent // stored anonymous events that now have a contact
	EmailChanges []EmailChange
	Warnings     []Warning
	// Companies that group calls create or change, and the contacts they
	// link: the store writes companies first, so that their ids reach the
	// contacts.
	CompaniesCreated []*Company
	CompaniesUpdated []*Company
	CompanyLinks     []CompanyLink

	updated        map[*Contact]bool
	created        map[*Contact]bool
	companyCreated map[*Company]bool
	companyUpdated map[*Company]bool
	companyLinked  map[*Contact]int // index in CompanyLinks
}

func (p *IngestPlan) touch(c *Contact) {
	if p.created[c] || p.updated[c] {
		return
	}
	p.updated[c] = true
	p.Updated = append(p.Updated, c)
}

func (p *IngestPlan) create(s *IngestState, c *Contact) *Contact {
	c.TraitTimes = map[string]time.Time{}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	p.created[c] = true
	p.Created = append(p.Created, c)
	s.index(c)
	return c
}

// CallError is an error about one call of a batch, which the API names by
// its position in the batch: only the API knows it, the plan knows the
// call's messageId.
type CallError struct {
	MessageID string
	Err       *Error
}

// Error says which call, and what is wrong with it.
func (e *CallError) Error() string { return fmt.Sprintf("call %s: %v", e.MessageID, e.Err) }

// Unwrap gives the domain error, with its code and field.
func (e *CallError) Unwrap() error { return e.Err }

// PlanIngest decides, in order, what each call does: which contact it
// belongs to (creating one for a new user), which profile fields it sets
// (newer wins, field by field), which anonymous history it links, and what
// is stored. Two different users are never merged: a call that would merge
// them is stored, and its conflicting part left out with a warning.
//
// A call that would give a contact more than MaxAttributes custom
// attributes is an error (a *CallError), and the whole batch is refused.
// The store plans with the batch's contacts locked, so the limit holds
// across calls and concurrent requests.
func PlanIngest(s *IngestState, calls []Call) (*IngestPlan, error) {
	p := &IngestPlan{updated: map[*Contact]bool{}, created: map[*Contact]bool{},
		companyCreated: map[*Company]bool{}, companyUpdated: map[*Company]bool{}, companyLinked: map[*Contact]int{}}
	for i := range calls {
		call := &calls[i]
		c := p.resolve(s, call)
		if c != nil && call.Type == EventIdentify && call.Profile != nil {
			if err := p.apply(s, call, c, call.Profile, call.Timestamp); err != nil {
				return nil, err
			}
		}
		if call.Type == EventGroup {
			if err := p.planGroup(s, call, c); err != nil {
				return nil, err
			}
		}
		if c != nil {
			p.fillFromContext(c, call)
			if call.AnonymousID != "" {
				p.link(s, call, call.AnonymousID, c)
			}
		}
		p.Events = append(p.Events, PlannedEvent{Call: call, Contact: c})
	}
	return p, nil
}

// resolve finds or creates the contact a call is about.
func (p *IngestPlan) resolve(s *IngestState, call *Call) *Contact {
	if call.Type == EventAlias {
		return p.alias(s, call)
	}
	email := ""
	if call.Type == EventIdentify && call.Profile != nil {
		email = strings.ToLower(call.Profile.Email)
	}
	if call.UserID != "" {
		if c := s.ByExternalID[call.UserID]; c != nil {
			return c
		}
		// A lead known by address or by this anonymous id, who had no
		// user id yet, is this user; a contact of another user is not.
		for _, c := range []*Contact{s.ByEmail[email], s.Anonymous[call.AnonymousID]} {
			if c != nil && c.ExternalID == "" && (email == "" || c == s.ByEmail[email] || s.ByEmail[email] == nil) {
				c.ExternalID = call.UserID
				s.index(c)
				p.touch(c)
				return c
			}
		}
		return p.create(s, &Contact{ExternalID: call.UserID})
	}
	if c := s.Anonymous[call.AnonymousID]; call.AnonymousID != "" && c != nil {
		return c
	}
	if email != "" {
		c := s.ByEmail[email]
		if c == nil {
			return p.create(s, &Contact{})
		}
		if c.ExternalID == "" {
			return c // a lead known only by address, as a sign-up form reports
		}
		// The write key of a web page is public: a call without a user id
		// cannot speak for a signed-up user. It stays anonymous.
		p.Warnings = append(p.Warnings, Warning{MessageID: call.MessageID, Field: "traits.email",
			Message: "belongs to a signed-up user; an anonymous call cannot change their profile"})
		call.Profile = nil
		return nil
	}
	return nil
}

// alias ties previousId to userId: a known user renamed, or an anonymous
// visitor who turned out to be the user.
func (p *IngestPlan) alias(s *IngestState, call *Call) *Contact {
	prev, target := s.ByExternalID[call.PreviousID], s.ByExternalID[call.UserID]
	switch {
	case prev != nil && target != nil && prev != target:
		p.Warnings = append(p.Warnings, Warning{MessageID: call.MessageID, Field: "previousId",
			Message: "both ids belong to existing users; they were not merged"})
		return target
	case prev != nil:
		if target == nil {
			delete(s.ByExternalID, prev.ExternalID)
			prev.ExternalID = call.UserID
			s.index(prev)
			p.touch(prev)
		}
		return prev
	}
	if target == nil {
		target = p.create(s, &Contact{ExternalID: call.UserID})
	}
	p.link(s, call, call.PreviousID, target)
	return target
}

// apply merges an identify call's profile into c, keeping an address that
// belongs to someone else out, and refusing attributes past the limit.
func (p *IngestPlan) apply(s *IngestState, call *Call, c *Contact, profile *Contact, at time.Time) error {
	if added := newAttributes(c, profile); len(added) > 0 && len(c.Attributes)+len(added) > MaxAttributes {
		return &CallError{MessageID: call.MessageID, Err: FieldError("traits",
			"would give the contact %d custom attributes; a contact may have at most %d (it has %d)",
			len(c.Attributes)+len(added), MaxAttributes, len(c.Attributes))}
	}
	src := *profile
	if src.Email != "" {
		if owner := s.ByEmail[strings.ToLower(src.Email)]; owner != nil && owner != c {
			p.Warnings = append(p.Warnings, Warning{MessageID: call.MessageID, Field: "traits.email",
				Message: "belongs to another contact; the address was not changed"})
			src.Email = ""
		}
	}
	oldAddr := c.Email
	changed, old := c.Merge(&src, at)
	if !changed {
		return nil
	}
	if c.Email != oldAddr {
		delete(s.ByEmail, strings.ToLower(oldAddr))
		s.index(c)
	}
	if old != "" {
		p.EmailChanges = append(p.EmailChanges, EmailChange{Contact: c, Old: old, New: c.Email, At: at})
	}
	p.touch(c)
	return nil
}

// newAttributes returns, sorted, the names of profile's attributes that c
// does not have yet.
func newAttributes(c, profile *Contact) []string {
	var added []string
	for k := range profile.Attributes {
		if _, ok := c.Attributes[k]; !ok {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	return added
}

// fitAttributes returns profile, less the new attributes that do not fit
// in c's limit (the first by name are kept), and warns about those left
// out. History that a link brings along is not refused: it was accepted
// when it came.
func (p *IngestPlan) fitAttributes(call *Call, c, profile *Contact) *Contact {
	added := newAttributes(c, profile)
	room := max(MaxAttributes-len(c.Attributes), 0)
	if len(added) <= room {
		return profile
	}
	fit := *profile
	fit.Attributes = make(map[string]any, len(profile.Attributes))
	for k, v := range profile.Attributes {
		fit.Attributes[k] = v
	}
	for _, k := range added[room:] {
		delete(fit.Attributes, k)
	}
	p.Warnings = append(p.Warnings, Warning{MessageID: call.MessageID, Field: "traits",
		Message: fmt.Sprintf("%d custom attributes of earlier anonymous calls were not kept: a contact may have at most %d",
			len(added)-room, MaxAttributes)})
	return &fit
}

// fillFromContext keeps the last address and browser (a late call older
// than the stored value does not replace it), and fills the time zone and
// locale from the device when the profile has none. A value seen again does
// not rewrite the contact: these change rarely and arrive with every call.
func (p *IngestPlan) fillFromContext(c *Contact, call *Call) {
	ctx := call.Context
	if c.TraitTimes == nil {
		c.TraitTimes = map[string]time.Time{}
	}
	changed := false
	for _, f := range []struct {
		key         string
		dst         *string
		v           string
		onlyIfUnset bool
	}{
		{"last_ip", &c.LastIP, ctx.IP, false}, {"user_agent", &c.UserAgent, ctx.UserAgent, false},
		{"time_zone", &c.TimeZone, ctx.TimeZone, true}, {"locale", &c.Locale, ctx.Locale, true},
	} {
		if f.v == "" || *f.dst == f.v || (f.onlyIfUnset && *f.dst != "") || call.Timestamp.Before(c.TraitTimes[f.key]) {
			continue
		}
		if _, told := c.Told[f.key]; told {
			continue // a field the person corrected, even to nothing
		}
		*f.dst, c.TraitTimes[f.key], changed = f.v, call.Timestamp, true
	}
	if changed {
		p.touch(c)
	}
}

// link ties an anonymous id to c, unless it already belongs to someone, and
// brings its stored history along: events now count for c, and the traits of
// anonymous identify calls fill c's profile (newer wins, as always). call is
// the call that links them, to which warnings go.
func (p *IngestPlan) link(s *IngestState, call *Call, anon string, c *Contact) {
	if s.Anonymous[anon] != nil {
		return
	}
	s.Anonymous[anon] = c
	p.Links = append(p.Links, AnonymousLink{AnonymousID: anon, Contact: c})
	for _, ev := range s.Pending[anon] {
		if ev.Type == EventIdentify && s.ReadTraits != nil {
			if profile, err := s.ReadTraits(ev.Properties); err == nil {
				profile.Email = "" // an anonymous visitor's address claim is not trusted to re-key a user
				if changed, _ := c.Merge(p.fitAttributes(call, c, profile), ev.OccurredAt); changed {
					p.touch(c)
				}
			}
		}
		if ev.Type == EventGroup {
			p.joinEarlier(s, c, ev.Name)
		}
		p.Relinked = append(p.Relinked, PlannedEvent{Call: &Call{Type: ev.Type, Name: ev.Name, Timestamp: ev.OccurredAt}, Contact: c})
	}
	delete(s.Pending, anon)
	// Earlier anonymous calls of this batch were planned without a contact:
	// they belong to c now, and their traits fill its profile too.
	for i := range p.Events {
		ev := &p.Events[i]
		if ev.Contact != nil || ev.Call.AnonymousID != anon {
			continue
		}
		ev.Contact = c
		if ev.Call.Type == EventGroup {
			p.joinEarlier(s, c, ev.Call.GroupID)
		}
		if ev.Call.Type == EventIdentify && ev.Call.Profile != nil {
			profile := *ev.Call.Profile
			profile.Email = "" // as above: not trusted to re-key a user
			if changed, _ := c.Merge(p.fitAttributes(call, c, &profile), ev.Call.Timestamp); changed {
				p.touch(c)
			}
		}
	}
}

// joinEarlier links c to the company of an anonymous group call it made
// before it was known, unless c has a company already: an earlier call
// does not move a contact.
func (p *IngestPlan) joinEarlier(s *IngestState, c *Contact, groupID string) {
	_, linked := p.companyLinked[c]
	if co := s.CompanyByGroup[groupID]; co != nil && c.CompanyID == 0 && !linked {
		p.joinCompany(c, co)
	}
}

// IngestResult says what a batch of calls did.
type IngestResult struct {
	Stored     int       // calls stored as new events
	Duplicates int       // calls whose messageId was seen before
	Warnings   []Warning // parts of calls that were not applied
}

// EngagementSummary is what a contact did, kept current as events arrive.
// Email opens and clicks count only when a person made them, not a machine.
type EngagementSummary struct {
	FirstSeen time.Time
	LastSeen  time.Time
	PageViews int64
	Actions   map[string]int64
	LastOpen  time.Time
	LastClick time.Time
}

// Engagement is a change to a contact's engagement summary.
type Engagement struct {
	FirstSeen, LastSeen time.Time
	PageViews           int64
	Actions             map[string]int64 // track events by name
}

// Summarize adds up what events say about each contact's engagement.
func Summarize(events []PlannedEvent) map[*Contact]*Engagement {
	out := map[*Contact]*Engagement{}
	for _, ev := range events {
		if ev.Contact == nil {
			continue
		}
		e := out[ev.Contact]
		if e == nil {
			e = &Engagement{FirstSeen: ev.Call.Timestamp, LastSeen: ev.Call.Timestamp, Actions: map[string]int64{}}
			out[ev.Contact] = e
		}
		if ev.Call.Timestamp.Before(e.FirstSeen) {
			e.FirstSeen = ev.Call.Timestamp
		}
		if ev.Call.Timestamp.After(e.LastSeen) {
			e.LastSeen = ev.Call.Timestamp
		}
		switch ev.Call.Type {
		case EventPage:
			e.PageViews++
		case EventTrack:
			e.Actions[ev.Call.Name]++
		}
	}
	return out
}
