package nurture

import (
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
	// Company holds the company fields (company.NAME) by name: the
	// researched company record when there is one. When nil, the fields
	// come from the contact's profile (see CompanyFacts).
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
// gives, for when no company record is known: name, industry, and size, a
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
	if s := strings.TrimSpace(c.TeamSize); s != "" {
		out["size_range"] = s
		lo := strings.TrimSuffix(s, "+")
		lo, _, _ = strings.Cut(lo, "-")
		if n, err := strconv.Atoi(strings.TrimSpace(lo)); err == nil {
			out["size"] = float64(n)
		}
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
		case sameName(path[0], "name"):
			return text(c.Name())
		case sameName(path[0], "email"):
			return text(c.Email)
		}
		for _, pf := range ProfileFields {
			if sameName(path[0], pf.Name) {
				return text(*pf.Get(c))
			}
		}
	}
	return lookupPath(c.Attributes, path)
}

// sameName reports whether a names the field called name (lower case, ASCII)
// once case and underscores are ignored: first_name, firstName and
// FIRSTNAME name one field.
func sameName(a, name string) bool {
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
