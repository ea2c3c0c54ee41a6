package api

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// CorrectionStore applies a person's corrections to their profile.
type CorrectionStore interface {
	// CorrectContact applies fix to contact id, marking what it names as
	// told by the person, and returns the contact as stored.
	CorrectContact(ctx context.Context, id int64, fix *nurture.Correction) (*nurture.Contact, error)
}

// notCorrectable are keys a correction cannot carry: they are identifiers,
// not traits, and a custom trait of that name would only mislead.
var notCorrectable = map[string]string{
	"userId":      "is the product's id of the contact; it cannot be corrected here (use an alias call)",
	"id":          "is Nurture's id of the contact; it cannot be changed",
	"anonymousId": "is not a trait of the contact",
}

// correctContact serves PATCH /v1/contacts/{id}: the person's correction
// of their profile (the right to rectification), passed on by the
// operator. The body is an object of traits spelled as identify calls
// spell them (firstName or first_name, name, company, ... and custom
// traits); null or "" removes a field, null removes a custom trait. What it
// names is marked as told by the person: no later identify call and no
// enrichment changes it. Invalid input names its field and stores nothing.
// The answer is the contact as GET /v1/contacts/{id} shows it.
func (a *API) correctContact(c *gin.Context) {
	ref, err := parsePathRef(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	data, err := readBody(c.Request, MaxCallBytes)
	if err != nil {
		fail(c, err)
		return
	}
	if err := checkRaw(data, false); err != nil {
		fail(c, err)
		return
	}
	obj, err := decodeObject(data, "body")
	if err != nil {
		fail(c, err)
		return
	}
	fix, err := readCorrection(obj)
	if err != nil {
		fail(c, err)
		return
	}
	ctx := c.Request.Context()
	contact, err := a.lookupContact(ctx, ref)
	if err != nil {
		fail(c, err)
		return
	}
	if _, err := a.cfg.Admin.Corrections.CorrectContact(ctx, contact.ID, fix); err != nil {
		fail(c, err)
		return
	}
	a.cfg.Logger.Info("contact corrected", "contact_id", contact.ID, "fields", len(fix.Fields), "attributes", len(fix.Attributes))
	a.showContact(c, contactRef{id: contact.ID})
}

// readCorrection reads a correction's body: the traits an identify call
// would carry, read and checked by ContactFromTraits (so every spelling it
// knows means the same here), each key then naming the fields it sets.
// Errors name the key as the caller spelled it.
func readCorrection(obj map[string]any) (*nurture.Correction, error) {
	if len(obj) == 0 {
		return nil, nurture.FieldError("body", "names nothing to correct")
	}
	for k, v := range obj {
		if why, ok := notCorrectable[k]; ok {
			return nil, nurture.FieldError(k, "%s", why)
		}
		if s, ok := v.(string); k == "email" && (v == nil || (ok && strings.TrimSpace(s) == "")) {
			return nil, nurture.FieldError("email", "cannot be removed; erase the contact instead")
		}
	}
	if err := storable(obj, ""); err != nil {
		return nil, err
	}
	for k, v := range obj {
		if masked, ok := nurture.ScrubCards(v); ok {
			obj[k] = masked
		}
	}
	profile, err := ContactFromTraits(obj)
	if err != nil {
		return nil, untraited(err)
	}
	fix := &nurture.Correction{Fields: map[string]string{}, Attributes: map[string]any{}}
	set := func(field string) { fix.Fields[field] = *traitTargets[field].Get(profile) }
	for k, v := range obj {
		switch {
		case k == "name":
			set("first_name")
			set("last_name")
		case k == "company":
			set("company")
			if co, ok := v.(map[string]any); ok {
				for key, field := range map[string]string{"name": "company", "industry": "industry", "employee_count": "team_size"} {
					if _, ok := co[key]; ok {
						set(field)
					}
				}
				if _, ok := co["name"]; !ok {
					delete(fix.Fields, "company")
				}
			}
		case traitFields[k] != "":
			set(traitFields[k])
		default:
			fix.Attributes[k] = v
		}
	}
	return fix, nil
}

// untraited renames an error of ContactFromTraits about "traits.X" to one
// about X, the key of the correction's body.
func untraited(err error) error {
	f := nurture.FieldOf(err)
	switch {
	case f == "traits" || f == "":
		return renamed(err, "body")
	case strings.HasPrefix(f, "traits."):
		return renamed(err, strings.TrimPrefix(f, "traits."))
	}
	return err
}
