package nurture

import (
	"strings"
	"time"
)

// Correction is what a person asks to change in their profile (the right
// to rectification): typed fields by their name in ProfileFields, or
// "email", where an empty value removes the field; and custom attributes,
// where a nil value removes one. Whoever passes it on (the admin API, the
// preference page) speaks for the person.
type Correction struct {
	Fields     map[string]string
	Attributes map[string]any
}

// Correct applies fix to c at time at. Each field and attribute it names
// is marked as told by the person (Told), even when its value stays the
// same: from then on no identify call and no enrichment changes it. It
// reports whether anything changed and, when the address was replaced,
// the old one. A correction that would give c more than MaxAttributes
// custom attributes is refused, and c is left as it was.
func (c *Contact) Correct(fix *Correction, at time.Time) (changed bool, oldEmail string, err error) {
	added := 0
	for k, v := range fix.Attributes {
		if _, ok := c.Attributes[k]; !ok && v != nil {
			added++
		}
	}
	if added > 0 && len(c.Attributes)+added > MaxAttributes {
		return false, "", FieldError("attributes", "would give the contact %d custom attributes; a contact may have at most %d",
			len(c.Attributes)+added, MaxAttributes)
	}
	if c.TraitTimes == nil {
		c.TraitTimes = map[string]time.Time{}
	}
	if c.Told == nil {
		c.Told = map[string]time.Time{}
	}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	mark := func(key string) {
		if !c.Told[key].Equal(at) || !c.TraitTimes[key].Equal(at) {
			c.Told[key], c.TraitTimes[key], changed = at, at, true
		}
	}
	for name, v := range fix.Fields {
		var dst *string
		if name == "email" {
			dst = &c.Email
		} else {
			for _, f := range ProfileFields {
				if f.Name == name {
					dst = f.Get(c)
				}
			}
		}
		if dst == nil {
			continue // the caller checked the names; an unknown one sets nothing
		}
		if name == "email" && v != "" && !strings.EqualFold(v, c.Email) && c.Email != "" {
			oldEmail = c.Email
		}
		if *dst != v {
			*dst, changed = v, true
		}
		mark(name)
	}
	for k, v := range fix.Attributes {
		old, had := c.Attributes[k]
		switch {
		case v == nil && had:
			delete(c.Attributes, k)
			changed = true
		case v != nil && (!had || !sameJSON(old, v)):
			c.Attributes[k], changed = v, true
		}
		mark("attributes." + k)
	}
	return changed, oldEmail, nil
}
