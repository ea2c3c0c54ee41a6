package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// traitFields maps the trait names products send (Segment's reserved traits
// in camelCase and snake_case, and a few common synonyms) to the typed
// profile field they fill, by its name in nurture.ProfileFields.
var traitFields = map[string]string{
	"email":      "email",
	"firstName":  "first_name",
	"first_name": "first_name",
	"lastName":   "last_name",
	"last_name":  "last_name",
	"industry":   "industry",
	"title":      "title",
	"role":       "role",
	"department": "department",
	"seniority":  "seniority",
	"region":     "region",
	"country":    "country",
	"timezone":   "time_zone",
	"time_zone":  "time_zone",
	"timeZone":   "time_zone",
	"locale":     "locale",
	"phone":      "phone",
	"teamSize":   "team_size",
	"team_size":  "team_size",
	"employees":  "team_size",
}

// traitTargets are the fields traits may fill, by name: the typed profile
// fields and the email.
var traitTargets = func() map[string]nurture.ProfileField {
	m := map[string]nurture.ProfileField{"email": {Name: "email", Get: func(c *nurture.Contact) *string { return &c.Email }, Max: nurture.MaxEmailLength}}
	for _, f := range nurture.ProfileFields {
		m[f.Name] = f
	}
	return m
}()

// ContactFromTraits builds the profile described by traits, as Segment's
// identify call sends them. Known traits fill typed fields, after
// validation: one line each, of bounded length. The rest are kept as
// attributes, within the limits on their number, names and text. The error
// names the offending trait as the caller spelled it. It is the
// nurture.TraitsReader of the stored traits of anonymous identify calls.
func ContactFromTraits(traits map[string]any) (*nurture.Contact, error) {
	c := &nurture.Contact{Attributes: map[string]any{}}
	keyOf := map[*string]string{} // which trait set a field, to name it in errors
	first, last := traitTargets["first_name"].Max, traitTargets["last_name"].Max
	for key, v := range traits {
		if key == "name" {
			s, err := traitString("traits.name", v)
			if err != nil {
				return nil, err
			}
			if err := nurture.CheckLine("traits.name", s, first+1+last); err != nil {
				return nil, err
			}
			f, l, _ := strings.Cut(s, " ")
			l = strings.TrimSpace(l)
			if utf8.RuneCountInString(f) > first || utf8.RuneCountInString(l) > last {
				return nil, nurture.FieldError("traits.name", "is too long: a first name may have %d characters, and the rest %d", first, last)
			}
			c.FirstName, c.LastName = orKeep(c.FirstName, f), orKeep(c.LastName, l)
			continue
		}
		if key == "company" {
			// Segment's company trait is an object; products also send a string.
			if obj, ok := v.(map[string]any); ok {
				if err := companyTraits(c, obj); err != nil {
					return nil, err
				}
				continue
			}
		}
		name, ok := traitFields[key]
		if key == "company" {
			name, ok = "company", true
		}
		if !ok {
			if err := nurture.CheckAttribute("traits", key, v); err != nil {
				return nil, err
			}
			c.Attributes[key] = v
			continue
		}
		target := traitTargets[name]
		s, err := traitString("traits."+key, v)
		if err != nil {
			return nil, err
		}
		if err := nurture.CheckLine("traits."+key, s, target.Max); err != nil {
			return nil, err
		}
		*target.Get(c) = s
		keyOf[target.Get(c)] = key
	}
	if n := len(c.Attributes); n > nurture.MaxAttributesPerCall {
		return nil, nurture.FieldError("traits", "has %d custom traits; one call may set at most %d", n, nurture.MaxAttributesPerCall)
	}
	if c.Email != "" {
		email, err := nurture.NormalizeEmail(c.Email)
		if err != nil {
			return nil, renamed(err, "traits.email")
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
			return nil, nurture.FieldError(name(&c.TimeZone, "traits.timezone"), "%q is not an IANA time zone such as Europe/Paris", c.TimeZone)
		}
	}
	if c.TeamSize != "" {
		size, err := nurture.NormalizeTeamSize(c.TeamSize)
		if err != nil {
			return nil, renamed(err, name(&c.TeamSize, "traits.company.employee_count"))
		}
		c.TeamSize = size
	}
	return c, nil
}

// companyTraits reads Segment's company object: its name, industry and
// head count fill the profile where the traits themselves do not.
func companyTraits(c *nurture.Contact, obj map[string]any) error {
	for _, f := range []struct {
		key    string
		target string
		keep   bool // a trait of its own wins
	}{{"name", "company", false}, {"industry", "industry", true}, {"employee_count", "team_size", true}} {
		v, ok := obj[f.key]
		if !ok {
			continue
		}
		field := "traits.company." + f.key
		s, err := traitString(field, v)
		if err != nil {
			return err
		}
		target := traitTargets[f.target]
		if err := nurture.CheckLine(field, s, target.Max); err != nil {
			return err
		}
		if dst := target.Get(c); !f.keep || *dst == "" {
			*dst = s
		}
	}
	return nil
}

// renamed returns the domain's error about a profile field as an error
// about the trait that filled it, named as the caller spelled it.
func renamed(err error, field string) error {
	var de *nurture.Error
	if !errors.As(err, &de) {
		return err
	}
	return &nurture.Error{Code: de.Code, Field: field, Message: de.Message}
}

func orKeep(current, v string) string {
	if current != "" {
		return current
	}
	return v
}

// traitString reads a trait that must be text; numbers are accepted and
// written out, since products often send ids and sizes as numbers. field
// names the trait in the error.
func traitString(field string, v any) (string, error) {
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
	return "", nurture.FieldError(field, "must be a string")
}
