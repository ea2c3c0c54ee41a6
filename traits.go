package nurture

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// traitFields maps the trait names products send (Segment's reserved traits
// in camelCase and snake_case, and a few common synonyms) to the typed
// profile field they fill.
var traitFields = map[string]func(*Contact) *string{
	"email":      func(c *Contact) *string { return &c.Email },
	"firstName":  func(c *Contact) *string { return &c.FirstName },
	"first_name": func(c *Contact) *string { return &c.FirstName },
	"lastName":   func(c *Contact) *string { return &c.LastName },
	"last_name":  func(c *Contact) *string { return &c.LastName },
	"industry":   func(c *Contact) *string { return &c.Industry },
	"title":      func(c *Contact) *string { return &c.Title },
	"role":       func(c *Contact) *string { return &c.Role },
	"department": func(c *Contact) *string { return &c.Department },
	"region":     func(c *Contact) *string { return &c.Region },
	"country":    func(c *Contact) *string { return &c.Country },
	"timezone":   func(c *Contact) *string { return &c.TimeZone },
	"time_zone":  func(c *Contact) *string { return &c.TimeZone },
	"timeZone":   func(c *Contact) *string { return &c.TimeZone },
	"locale":     func(c *Contact) *string { return &c.Locale },
	"phone":      func(c *Contact) *string { return &c.Phone },
	"teamSize":   func(c *Contact) *string { return &c.TeamSize },
	"team_size":  func(c *Contact) *string { return &c.TeamSize },
	"employees":  func(c *Contact) *string { return &c.TeamSize },
}

// ContactFromTraits builds the profile described by traits, as sent with an
// identify call. Known traits fill typed fields, after validation; the rest
// are kept as attributes. The error names the offending trait.
func ContactFromTraits(traits map[string]any) (*Contact, error) {
	c := &Contact{Attributes: map[string]any{}}
	keyOf := map[*string]string{} // which trait set a field, to name it in errors
	for key, v := range traits {
		if key == "name" {
			s, err := traitString(key, v)
			if err != nil {
				return nil, err
			}
			if first, last, ok := strings.Cut(s, " "); ok {
				c.FirstName, c.LastName = orKeep(c.FirstName, first), orKeep(c.LastName, strings.TrimSpace(last))
			} else {
				c.FirstName = orKeep(c.FirstName, s)
			}
			continue
		}
		if key == "company" {
			// Segment's company trait is an object; products also send a string.
			if obj, ok := v.(map[string]any); ok {
				c.Company, _ = obj["name"].(string)
				if c.Industry == "" {
					c.Industry, _ = obj["industry"].(string)
				}
				if n, ok := obj["employee_count"]; ok && c.TeamSize == "" {
					c.TeamSize = fmt.Sprint(n)
				}
				continue
			}
		}
		field, ok := traitFields[key]
		if !ok && key != "company" {
			c.Attributes[key] = v
			continue
		}
		s, err := traitString(key, v)
		if err != nil {
			return nil, err
		}
		if key == "company" {
			c.Company = s
			continue
		}
		*field(c) = s
		keyOf[field(c)] = key
	}
	if c.Email != "" {
		email, err := NormalizeEmail(c.Email)
		if err != nil {
			return nil, &Error{Code: CodeInvalid, Field: "traits.email", Message: err.(*Error).Message}
		}
		c.Email = email
	}
	name := func(field *string, fallback string) string {
		if k, ok := keyOf[field]; ok {
			return "traits." + k
		}
		return fallback
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
			return nil, FieldError(name(&c.TimeZone, "traits.timezone"), "%q is not an IANA time zone such as Europe/Paris", c.TimeZone)
		}
	}
	if c.TeamSize != "" {
		size, err := NormalizeTeamSize(c.TeamSize)
		if err != nil {
			err.(*Error).Field = name(&c.TeamSize, "traits.company.employee_count")
			return nil, err
		}
		c.TeamSize = size
	}
	return c, nil
}

func orKeep(current, v string) string {
	if current != "" {
		return current
	}
	return v
}

// traitString reads a trait that must be text; numbers are accepted and
// written out, since products often send ids and sizes as numbers.
func traitString(key string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", FieldError("traits."+key, "must be a string")
}

// NormalizeTeamSize accepts a head count ("42") or a range ("11-50", "1000+")
// and returns it in canonical form.
func NormalizeTeamSize(s string) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	bad := FieldError("traits.teamSize", "%q is not a number or a range such as 11-50", s)
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
