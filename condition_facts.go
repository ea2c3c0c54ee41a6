package nurture

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Facts is what conditions may know about one contact at one moment, as a
// store fills it: plain values, so that evaluating a condition needs no
// database and a test can write them out. Fill what the conditions read
// (Refs says what that is); what is missing reads as "never happened" or
// "no value".
type Facts struct {
	// Now is the moment the conditions are asked at: "within 7d" counts
	// back from it, and anything dated after it has not happened yet (a
	// simulation adds future events and moves Now forward).
	Now time.Time
	// Contact holds the profile and the custom traits (Attributes).
	Contact *Contact
	// Company holds the fields of the contact's company record
	// (company.NAME) by name, as CompanyRecordFacts gives them; nil when
	// the contact has no company or the conditions read none. A name it
	// lacks (or all of them, when nil) is read from the contact's own
	// profile (see CompanyFacts).
	Company map[string]any
	// Events are the contact's track events, by EventKey of their names.
	Events map[string]*EventFacts
	// Emails are the emails sent to the contact, with their opens and
	// clicks of every class (conditions count only human ones).
	Emails []EmailFacts
	// OptOuts are the topics the contact opted out of.
	OptOuts []OptOut
	// Suppressed is true when no email may reach the address at all
	// (hard bounce, complaint, erasure...).
	Suppressed bool
	// Sequence is the id of the sequence whose steps "opened step X" and
	// "clicked step X" name, and SequenceSince when the enrollment asking
	// began: the emails of an earlier enrollment in the same sequence are
	// not its steps'. The sequence engine sets both.
	Sequence      string
	SequenceSince time.Time
}

// EventFacts is what is known of one event of one contact.
type EventFacts struct {
	// Count is how many times it happened in all; it may be more than
	// len(Occurrences) when a store loads only the recent ones.
	Count int64
	// Occurrences are the ones loaded, with their properties, in any order:
	// at least those within the longest Within of the conditions, and all of
	// them when a condition filters on properties or counts without Within
	// (ConditionRefs.EventHistory).
	Occurrences []EventOccurrence
}

// EventOccurrence is one occurrence of an event.
type EventOccurrence struct {
	At         time.Time
	Properties map[string]any
}

// EmailFacts is one email sent to the contact and what was done with it.
type EmailFacts struct {
	MessageID int64
	Template  string
	Topic     Topic
	Sequence  string // the sequence and step that sent it; empty for other emails
	Step      string
	SentAt    time.Time
	Hits      []EmailHit
}

// EmailHit is one open or click of an email, with its class.
type EmailHit struct {
	Kind  HitKind
	Class HitClass
	At    time.Time
}

// AddEvent records one occurrence of the event called name.
func (f *Facts) AddEvent(name string, at time.Time, props map[string]any) {
	if f.Events == nil {
		f.Events = map[string]*EventFacts{}
	}
	k := EventKey(name)
	e := f.Events[k]
	if e == nil {
		e = &EventFacts{}
		f.Events[k] = e
	}
	e.Count++
	e.Occurrences = append(e.Occurrences, EventOccurrence{At: at, Properties: props})
}

// OptedOut reports whether the contact opted out of topic by f.Now.
func (f *Facts) OptedOut(topic Topic) bool {
	for _, o := range f.OptOuts {
		if o.Topic == topic && !o.Since.After(f.Now) {
			return true
		}
	}
	return false
}

// CompanyFacts returns the company fields that a contact's own profile
// gives, for what no company record says: name, industry, and size, a
// head count read from the team size (a range such as 11-50 counts as its
// lower bound, 1000+ as 1000: what is known for sure), with size_range,
// the team size as sent.
func CompanyFacts(c *Contact) map[string]any {
	out := map[string]any{}
	if c == nil {
		return out
	}
	if s := strings.TrimSpace(c.Company); s != "" {
		out["name"] = s
	}
	if s := strings.TrimSpace(c.Industry); s != "" {
		out["industry"] = s
	}
	addTeamSize(out, c.TeamSize)
	return out
}

// profileCompanyFields are the names CompanyFacts may give.
var profileCompanyFields = []string{"name", "industry", "size", "size_range"}

// addTeamSize sets size_range to the team size s and size to its lower
// bound, when s is not blank.
func addTeamSize(out map[string]any, s string) {
	if s = strings.TrimSpace(s); s == "" {
		return
	}
	out["size_range"] = s
	lo := strings.TrimSuffix(s, "+")
	lo, _, _ = strings.Cut(lo, "-")
	if n, err := strconv.Atoi(strings.TrimSpace(lo)); err == nil {
		out["size"] = float64(n)
	}
}

// listEnrichedFields are the researched fields that may have several
// values (every SaaS tool an SPF record names, every sameAs link):
// company.NAME holds them as a list, so that company.saas contains
// "Salesforce" looks among all of them. Other researched fields hold
// their first value.
var listEnrichedFields = []string{"saas", "same_as"}

// CompanyRecordFacts returns the fields company.NAME reads from a company
// record: its typed fields (name, domain, industry, country, and size and
// size_range from the team size, as CompanyFacts reads it), then its
// custom traits under their own names (company.plan is the group call's
// trait "plan"), then what research found (company.mail_provider,
// company.description, company.linkedin..., each its first value;
// company.saas and company.same_as as lists of every value). A
// name comes from the first of these that has it: a trait never hides a
// typed field, and research never hides what the product said. Blank
// values are left out. A nil record gives nil.
func CompanyRecordFacts(co *Company) map[string]any {
	if co == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range map[string]string{"name": co.Name, "domain": co.Domain, "industry": co.Industry, "country": co.Country} {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	addTeamSize(out, co.TeamSize)
	for k, v := range co.Traits {
		if s, ok := v.(string); v == nil || (ok && strings.TrimSpace(s) == "") {
			continue
		}
		if _, taken := out[k]; !taken {
			out[k] = v
		}
	}
	lists := map[string][]any{}
	for _, e := range co.Enriched {
		v := strings.TrimSpace(e.Value)
		if v == "" {
			continue
		}
		if _, taken := out[e.Field]; taken {
			continue
		}
		switch {
		case slices.Contains(listEnrichedFields, e.Field):
			lists[e.Field] = append(lists[e.Field], v)
		case e.Field == "size":
			if _, taken := out["size_range"]; !taken {
				addTeamSize(out, v)
			}
		default:
			out[e.Field] = v
		}
	}
	for k, l := range lists {
		out[k] = l
	}
	return out
}

// traitValue returns the value of traits.PATH: a typed profile field (or
// the email, or the full name) by its name, case and underscores ignored
// (first_name, firstName, time_zone, timezone...), else a custom trait,
// followed into nested maps.
func traitValue(c *Contact, path []string) (any, bool) {
	if c == nil || len(path) == 0 {
		return nil, false
	}
	if len(path) == 1 {
		text := func(s string) (any, bool) {
			if s = strings.TrimSpace(s); s != "" {
				return s, true
			}
			return nil, false
		}
		switch {
		case SameFieldName(path[0], "name"):
			return text(c.Name())
		case SameFieldName(path[0], "email"):
			return text(c.Email)
		}
		for _, pf := range ProfileFields {
			if SameFieldName(path[0], pf.Name) {
				return text(*pf.Get(c))
			}
		}
	}
	return lookupPath(c.Attributes, path)
}

// SameFieldName reports whether a names the field called name (lower
// case, ASCII) once case and underscores are ignored: first_name,
// firstName and FIRSTNAME name one field. It is the rule of traits.NAME
// for typed profile fields, wherever conditions are evaluated.
func SameFieldName(a, name string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == '_' {
			i++
		}
		for j < len(name) && name[j] == '_' {
			j++
		}
		if i == len(a) || j == len(name) {
			return i == len(a) && j == len(name)
		}
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[j] {
			return false
		}
		i, j = i+1, j+1
	}
}

// lookupPath follows path into nested maps.
func lookupPath(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return v, v != nil
}
