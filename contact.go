package nurture

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
)

// Contact is one person we may email: a sign-up of the product that reports
// to Nurture. Typed fields are the ones the engine itself reads; everything
// else the product sends is kept in Attributes.
type Contact struct {
	ID         int64
	ExternalID string // the product's own user id (Segment's userId), may be empty
	Email      string

	FirstName  string
	LastName   string
	Company    string
	Industry   string
	Title      string
	Role       string
	Department string
	TeamSize   string
	Region     string
	Country    string
	TimeZone   string
	Locale     string
	Phone      string
	LastIP     string // from the calls' context.ip
	UserAgent  string // from the calls' context.userAgent

	Attributes map[string]any
	// TraitTimes records when each profile field and attribute was last set
	// (by the time of the call that set it), so that a late-arriving older
	// call cannot overwrite a newer value. Keys are field names as in
	// ProfileFields, and "attributes.<key>".
	TraitTimes map[string]time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProfileField names a typed profile field and reaches it.
type ProfileField struct {
	Name string
	Get  func(*Contact) *string
}

// ProfileFields lists the typed profile fields other than the email.
var ProfileFields = []ProfileField{
	{"first_name", func(c *Contact) *string { return &c.FirstName }},
	{"last_name", func(c *Contact) *string { return &c.LastName }},
	{"company", func(c *Contact) *string { return &c.Company }},
	{"industry", func(c *Contact) *string { return &c.Industry }},
	{"title", func(c *Contact) *string { return &c.Title }},
	{"role", func(c *Contact) *string { return &c.Role }},
	{"department", func(c *Contact) *string { return &c.Department }},
	{"team_size", func(c *Contact) *string { return &c.TeamSize }},
	{"region", func(c *Contact) *string { return &c.Region }},
	{"country", func(c *Contact) *string { return &c.Country }},
	{"time_zone", func(c *Contact) *string { return &c.TimeZone }},
	{"locale", func(c *Contact) *string { return &c.Locale }},
	{"phone", func(c *Contact) *string { return &c.Phone }},
	{"last_ip", func(c *Contact) *string { return &c.LastIP }},
	{"user_agent", func(c *Contact) *string { return &c.UserAgent }},
}

// Merge applies the non-empty fields and the attributes of src, set at time
// at, to c: each one only when at is not older than when that field was last
// set. It reports whether anything changed (a value, or the time a repeated
// value was last set) and, when an address was replaced by another, the old
// one.
func (c *Contact) Merge(src *Contact, at time.Time) (changed bool, oldEmail string) {
	if c.TraitTimes == nil {
		c.TraitTimes = map[string]time.Time{}
	}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	newer := func(key string) bool {
		last, ok := c.TraitTimes[key]
		return !ok || !at.Before(last)
	}
	// A repeated value changes nothing visible, but its newer time must be
	// kept too, or a late call older than the repeat could overwrite it.
	set := func(key string, dst *string, v string) {
		if v == "" || !newer(key) {
			return
		}
		if !c.TraitTimes[key].Equal(at) {
			c.TraitTimes[key], changed = at, true
		}
		if *dst != v {
			*dst, changed = v, true
		}
	}
	if src.Email != "" && !strings.EqualFold(src.Email, c.Email) && newer("email") {
		oldEmail = c.Email
	}
	set("email", &c.Email, src.Email)
	for _, f := range ProfileFields {
		set(f.Name, f.Get(c), *f.Get(src))
	}
	for k, v := range src.Attributes {
		key := "attributes." + k
		if !newer(key) {
			continue
		}
		if !c.TraitTimes[key].Equal(at) {
			c.TraitTimes[key], changed = at, true
		}
		if old, ok := c.Attributes[k]; !ok || !sameJSON(old, v) {
			c.Attributes[k], changed = v, true
		}
	}
	return changed, oldEmail
}

// Name returns the contact's full name, or "" when neither part is known.
func (c *Contact) Name() string {
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// NormalizeEmail checks that s is one plain address (no display name, no
// list) and returns it trimmed, with the domain lower-cased. The local part
// keeps its case: RFC 5321 lets a server treat it as case sensitive.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldError("email", "is required")
	}
	if len(s) > 254 {
		return "", FieldError("email", "is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", FieldError("email", "is not a valid email address")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", FieldError("email", "must have a domain name such as example.com")
	}
	return local + "@" + domain, nil
}

// sameJSON reports whether a and b are the same JSON value: a stored 3 (read
// back as float64) and an incoming 3 (a json.Number) are.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
