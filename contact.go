package nurture

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Contact is one person we may email: a sign-up of the product that reports
// to Nurture. Typed fields are the ones the engine itself reads; everything
// else the product sends is kept in Attributes.
type Contact struct {
	ID         int64
	ExternalID string // the product's own user id (Segment's userId), may be empty
	Email      string
	CompanyID  int64 // the company of its latest group call; 0: none

	FirstName  string
	LastName   string
	Company    string
	Industry   string
	Title      string
	Role       string
	Department string
	Seniority  string // C-level, VP, Director, Manager or Individual contributor
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
	// Told records the fields and attributes the person told us
	// themselves (a correction), with when, keyed as TraitTimes. Neither an
	// identify call (the product's word) nor enrichment overwrites them.
	Told map[string]time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
	// HeldSince is when the contact was held: its address had been erased
	// and came back (a sign-up, an import, a change of address). A held
	// contact gets no email but transactional ones until a new opt-in
	// releases it. Zero: not held.
	HeldSince time.Time
}

// ProfileField names a typed profile field and reaches it.
type ProfileField struct {
	Name string
	Get  func(*Contact) *string
	// Max is the most characters the field may hold. Names, company and
	// title reach email headers (the To display name, subjects), so every
	// typed field is one line of bounded length.
	Max int
}

// MaxEmailLength is the longest address, in octets (RFC 5321's path limit
// less its angle brackets).
const MaxEmailLength = 254

// ProfileFields lists the typed profile fields other than the email.
var ProfileFields = []ProfileField{
	{"first_name", func(c *Contact) *string { return &c.FirstName }, 100},
	{"last_name", func(c *Contact) *string { return &c.LastName }, 100},
	{"company", func(c *Contact) *string { return &c.Company }, 200},
	{"industry", func(c *Contact) *string { return &c.Industry }, 100},
	{"title", func(c *Contact) *string { return &c.Title }, 200},
	{"role", func(c *Contact) *string { return &c.Role }, 100},
	{"department", func(c *Contact) *string { return &c.Department }, 100},
	{"seniority", func(c *Contact) *string { return &c.Seniority }, 50},
	{"team_size", func(c *Contact) *string { return &c.TeamSize }, 20},
	{"region", func(c *Contact) *string { return &c.Region }, 100},
	{"country", func(c *Contact) *string { return &c.Country }, 100},
	{"time_zone", func(c *Contact) *string { return &c.TimeZone }, 64},
	{"locale", func(c *Contact) *string { return &c.Locale }, 35},
	{"phone", func(c *Contact) *string { return &c.Phone }, 40},
	{"last_ip", func(c *Contact) *string { return &c.LastIP }, 64},
	{"user_agent", func(c *Contact) *string { return &c.UserAgent }, 512},
}

// ProfileFieldMax returns the most characters the profile field called
// name may hold (0 for an unknown name).
func ProfileFieldMax(name string) int {
	for _, f := range ProfileFields {
		if f.Name == name {
			return f.Max
		}
	}
	return 0
}

// Limits on a contact's custom attributes (the traits that are not typed
// fields), so that a product cannot grow a contact without bound.
const (
	MaxAttributes        = 500  // custom attributes a contact may have
	MaxAttributesPerCall = 100  // custom traits one identify call may set
	MaxAttributeKey      = 100  // characters in an attribute's name
	MaxAttributeText     = 2000 // characters in each string of an attribute's value
)

// CheckLine returns an invalid-input error about field unless s is one
// line of at most max characters. Control characters (C0, DEL, C1) and the
// Unicode line and paragraph separators are refused: a name with a line
// break in it would break the header it is written into, or be cut short
// there, every time the contact is mailed.
func CheckLine(field, s string, max int) error {
	n := 0
	for _, r := range s {
		if isControl(r) {
			return FieldError(field, "contains a control character (%U); it must be one line of text", r)
		}
		n++
	}
	if n > max {
		return FieldError(field, "is longer than %d characters", max)
	}
	return nil
}

// isControl reports whether r is a C0 or C1 control character, DEL, or a
// Unicode line or paragraph separator.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
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
		if _, told := c.Told[key]; told {
			return false // the person's own word stands
		}
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
	if len(s) > MaxEmailLength {
		return "", FieldError("email", "is longer than %d characters", MaxEmailLength)
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

// NormalizeTeamSize accepts a head count ("42") or a range ("11-50", "1000+")
// and returns it in canonical form. Its error names the team_size field.
func NormalizeTeamSize(s string) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	bad := FieldError("team_size", "%q is not a number or a range such as 11-50", s)
	if lo, ok := strings.CutSuffix(s, "+"); ok {
		if n, err := strconv.Atoi(lo); err != nil || n < 0 {
			return "", bad
		}
		return s, nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return "", bad
		}
		return s, nil
	}
	if n, err := strconv.Atoi(s); err != nil || n < 0 {
		return "", bad
	}
	return s, nil
}

// CheckAttribute checks one custom attribute against the limits on its
// name's length and on the length of every string in its value. field
// names the attributes in errors, as the caller's input does ("traits"):
// a long text is reported as field.key and its path within the value
// ("traits.notes", "traits.bio[0]"), a long name as field itself.
func CheckAttribute(field, key string, v any) error {
	if utf8.RuneCountInString(key) > MaxAttributeKey {
		return FieldError(field, "has a trait whose name is longer than %d characters (%.20q...)", MaxAttributeKey, key)
	}
	if path, ok := longText(v); ok {
		return FieldError(field+"."+key+path, "is longer than %d characters", MaxAttributeText)
	}
	return nil
}

// longText finds a string longer than MaxAttributeText in v, and returns
// its path within v (".a[2]"), built only when there is one.
func longText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return "", len(v) > MaxAttributeText && utf8.RuneCountInString(v) > MaxAttributeText
	case map[string]any:
		for k, e := range v {
			if path, ok := longText(e); ok {
				return "." + k + path, true
			}
		}
	case []any:
		for i, e := range v {
			if path, ok := longText(e); ok {
				return "[" + strconv.Itoa(i) + "]" + path, true
			}
		}
	}
	return "", false
}

// The sources of a profile field's value (FieldSource.Source).
const (
	SourceProduct  = "product"  // sent by the product (identify, import, the admin API)
	SourceEnriched = "enriched" // derived by lead enrichment from a public source
	SourcePerson   = "person"   // told by the person (a correction)
)

// FieldSource is where one of a contact's profile values came from, for
// the export of their data: sent by the product (with the time of the
// call that set it, when known), or enriched from a source at a time.
type FieldSource struct {
	Field  string    `json:"field"`
	Value  string    `json:"value"`
	Source string    `json:"source"`
	From   string    `json:"from,omitempty"`   // enriched: the URL, DNS record or title it was read from
	Method string    `json:"method,omitempty"` // enriched: how it was read
	At     time.Time `json:"at,omitzero"`      // when it was set; zero: not recorded
}

// FieldSources tells, for each of c's profile fields that has a value
// (the address included), where it came from. A value enrichment derived
// is enriched unless a call of the product set that field since (its
// trait time); every other value was sent by the product.
func FieldSources(c *Contact, enriched []EnrichedField) []FieldSource {
	byField := map[string]EnrichedField{}
	for _, f := range enriched {
		byField[f.Field] = f
	}
	var out []FieldSource
	add := func(name, value string) {
		if value == "" {
			return
		}
		s := FieldSource{Field: name, Value: value, Source: SourceProduct, At: c.TraitTimes[name]}
		if e, ok := byField[name]; ok && e.Value == value && !s.At.After(e.At) {
			s = FieldSource{Field: name, Value: value, Source: SourceEnriched, From: e.Source, Method: e.Method, At: e.At}
		}
		out = append(out, s)
	}
	add("email", c.Email)
	for _, f := range ProfileFields {
		add(f.Name, *f.Get(c))
	}
	return out
}
