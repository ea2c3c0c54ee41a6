package nurture

import (
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

	Attributes map[string]any

	CreatedAt time.Time
	UpdatedAt time.Time
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
