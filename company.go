package nurture

import (
	"strings"
	"time"
)

// Company is an account of a B2B product: the organisation its users work
// for, as Segment's group call reports it. Contacts link to at most one.
type Company struct {
	ID       int64
	GroupID  string // the product's own id for the account (Segment's groupId)
	Domain   string // lower case, without "www."; may be empty
	Name     string
	Industry string
	TeamSize string // a head count or a range, as NormalizeTeamSize gives it
	Country  string

	// Traits holds what the group calls said beyond the typed fields.
	Traits map[string]any
	// TraitTimes records when each field and trait was last set (keys
	// "name", "traits.plan"...), so that a late call older than the
	// stored value does not overwrite it, as for contacts.
	TraitTimes map[string]time.Time

	// Enriched is what lead enrichment found about the company, each
	// value with its provenance; EnrichedAt when (zero: never). A typed
	// field holds a researched value only where no group call set it.
	Enriched   []EnrichedField
	EnrichedAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Limits on a company's custom traits, the same as a contact's attributes.
const (
	MaxCompanyTraits = MaxAttributes
)

// CompanyFields lists a company's typed fields other than the group id,
// with their longest length, for the API to check and the store to reach.
var CompanyFields = []struct {
	Name string
	Get  func(*Company) *string
	Max  int
}{
	{"domain", func(c *Company) *string { return &c.Domain }, 253},
	{"name", func(c *Company) *string { return &c.Name }, 200},
	{"industry", func(c *Company) *string { return &c.Industry }, 100},
	{"team_size", func(c *Company) *string { return &c.TeamSize }, 20},
	{"country", func(c *Company) *string { return &c.Country }, 100},
}

// Merge applies the non-empty fields and the traits of src, told at time
// at, to c: each only when at is not older than when it was last set. It
// reports whether anything changed.
func (c *Company) Merge(src *Company, at time.Time) bool {
	if c.TraitTimes == nil {
		c.TraitTimes = map[string]time.Time{}
	}
	if c.Traits == nil {
		c.Traits = map[string]any{}
	}
	changed := false
	newer := func(key string) bool {
		last, ok := c.TraitTimes[key]
		return !ok || !at.Before(last)
	}
	for _, f := range CompanyFields {
		v := *f.Get(src)
		if v == "" || !newer(f.Name) {
			continue
		}
		if !c.TraitTimes[f.Name].Equal(at) {
			c.TraitTimes[f.Name], changed = at, true
		}
		if dst := f.Get(c); *dst != v {
			*dst, changed = v, true
		}
	}
	for k, v := range src.Traits {
		key := "traits." + k
		if !newer(key) {
			continue
		}
		if !c.TraitTimes[key].Equal(at) {
			c.TraitTimes[key], changed = at, true
		}
		if old, ok := c.Traits[k]; !ok || !sameJSON(old, v) {
			c.Traits[k], changed = v, true
		}
	}
	return changed
}

// NormalizeDomain returns a web site's host as a company's domain: lower
// case, without scheme, path, port or a leading "www.". It returns "" when
// s names no host with a dot in it.
func NormalizeDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:] // user info, or an address given as the site
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "www."), ".")
	if !strings.Contains(s, ".") || strings.ContainsAny(s, " \t[]") {
		return ""
	}
	return s
}

// CompanyLink ties a contact to a company. Both may be new, their ids known
// only once the store inserts them.
type CompanyLink struct {
	Contact *Contact
	Company *Company
}

// planGroup applies a group call: the company of call.GroupID (created when
// new) takes the call's traits, and c, the caller (nil while anonymous),
// joins it. A domain that already belongs to another company is left out
// with a warning, as an address that belongs to another contact is.
func (p *IngestPlan) planGroup(s *IngestState, call *Call, c *Contact) error {
	co := s.CompanyByGroup[call.GroupID]
	if co == nil && call.Company != nil && call.Company.Domain != "" {
		// A company that only a work email's domain made (no group call
		// named it yet) becomes the group's: it is the same account.
		if owner := s.CompanyByDomain[call.Company.Domain]; owner != nil && owner.GroupID == "" && owner.ID != 0 {
			co = owner
			co.GroupID = call.GroupID
			s.CompanyByGroup[call.GroupID] = co
			if !p.companyUpdated[co] {
				p.companyUpdated[co] = true
				p.CompaniesUpdated = append(p.CompaniesUpdated, co)
			}
		}
	}
	if co == nil {
		co = &Company{GroupID: call.GroupID, Traits: map[string]any{}, TraitTimes: map[string]time.Time{}}
		s.CompanyByGroup[call.GroupID] = co
		p.CompaniesCreated = append(p.CompaniesCreated, co)
		p.companyCreated[co] = true
	}
	if call.Company != nil {
		src := *call.Company
		if added := newTraits(co, &src); len(added) > 0 && len(co.Traits)+len(added) > MaxCompanyTraits {
			return &CallError{MessageID: call.MessageID, Err: FieldError("traits",
				"would give the company %d custom traits; a company may have at most %d (it has %d)",
				len(co.Traits)+len(added), MaxCompanyTraits, len(co.Traits))}
		}
		if src.Domain != "" {
			if owner := s.CompanyByDomain[src.Domain]; owner != nil && owner != co {
				p.Warnings = append(p.Warnings, Warning{MessageID: call.MessageID, Field: "traits.website",
					Message: "the domain belongs to another company; it was not changed"})
				src.Domain = ""
			}
		}
		oldDomain := co.Domain
		if co.Merge(&src, call.Timestamp) && !p.companyCreated[co] && !p.companyUpdated[co] {
			p.companyUpdated[co] = true
			p.CompaniesUpdated = append(p.CompaniesUpdated, co)
		}
		if co.Domain != oldDomain {
			delete(s.CompanyByDomain, oldDomain)
			s.CompanyByDomain[co.Domain] = co
		}
	}
	if c != nil {
		p.joinCompany(c, co)
	}
	return nil
}

// joinCompany links c to co; a contact belongs to the company of its latest
// group call.
func (p *IngestPlan) joinCompany(c *Contact, co *Company) {
	i, ok := p.companyLinked[c]
	switch {
	case ok:
		p.CompanyLinks[i].Company = co // a later call of the batch wins
	case c.CompanyID != 0 && c.CompanyID == co.ID:
		return // already there
	default:
		p.companyLinked[c] = len(p.CompanyLinks)
		p.CompanyLinks = append(p.CompanyLinks, CompanyLink{Contact: c, Company: co})
	}
	p.touch(c)
}

func newTraits(co, src *Company) []string {
	var added []string
	for k := range src.Traits {
		if _, ok := co.Traits[k]; !ok {
			added = append(added, k)
		}
	}
	return added
}
