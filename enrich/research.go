package enrich

import (
	"context"
	"fmt"
	"strings"
	"time"

	nurture "github.com/nurture-email/nurture"
)

// StatusPartial is a Profile's status when some sources answered and some
// could not be read: what was found is usable, and trying again later may
// find more. A source's Result is never partial.
const StatusPartial Status = "partial"

// The fields a Profile derives beyond those sources find.
const (
	FieldDepartment Field = "department" // from the title a person gave (ClassifyTitle)
	FieldSeniority  Field = "seniority"  // from the title a person gave (ClassifyTitle)
)

// The methods of derived findings: which rule turned findings (or what a
// person typed) into the value.
const (
	MethodIndustryClassifier = "classifier:industry" // ClassifyIndustry over the site's text
	MethodTitleClassifier    = "classifier:title"    // ClassifyTitle over the given title
	MethodTeamSize           = "team-size"           // ParseTeamSize over an employees finding
	MethodAddress            = "address"             // CountryOfAddress over a country finding
	MethodTLD                = "tld"                 // CountryOfTLD over the domain
)

// Profile is what research made of one sign-up: the derived fields, each
// a Finding whose provenance names the finding(s) or input it came from
// and the rule applied, and how each source went.
type Profile struct {
	Email  string `json:"email"`
	Domain string `json:"domain,omitempty"` // the registrable domain researched
	// Status is ok (every source asked answered), partial (some did),
	// unavailable (none did) or skipped (nothing was asked: Reason is a
	// Refused* code of WorkDomain, or says that every source was off).
	Status  Status         `json:"status"`
	Reason  string         `json:"reason,omitempty"`
	Sources []SourceReport `json:"sources,omitempty"`
	// Fields are the derived values in a stable order: company name,
	// industry, team size, country, mail provider, SaaS tools, social
	// profiles, then department and seniority.
	Fields []Finding `json:"fields"`
	At     time.Time `json:"at"`
	// Results are the sources' raw results, for a caller that keeps them
	// (the derivations can be made again from them with DeriveCompany).
	Results []Result `json:"-"`
}

// SourceReport is how one source went, without its findings.
type SourceReport struct {
	Source   string    `json:"source"`
	Status   Status    `json:"status"`
	Reason   string    `json:"reason,omitempty"`
	Findings int       `json:"findings"`
	At       time.Time `json:"at"`
}

// Field returns the first derived finding of a field.
func (p Profile) Field(f Field) (Finding, bool) {
	for _, x := range p.Fields {
		if x.Field == f {
			return x, true
		}
	}
	return Finding{}, false
}

// Researcher runs the whole research of one sign-up: the work domain of
// the address, every source on it, and the derivations. It holds no
// state between calls and is safe for concurrent use.
type Researcher struct {
	sources []Source
	clock   nurture.Clock
}

// NewResearcher returns a Researcher asking sources, in that order of
// preference, and dating its profiles by clock (nil: the wall clock).
func NewResearcher(clock nurture.Clock, sources ...Source) *Researcher {
	if clock == nil {
		clock = nurture.SystemClock{}
	}
	return &Researcher{sources: sources, clock: clock}
}

// Research researches the company of email and reads title (the job title
// the person gave, possibly empty). An address that names no employer
// (free mail, disposable, unparsable: WorkDomain) gives a skipped profile
// with WorkDomain's reason and no request at all; its title is still
// classified, since that is what the person told us, not research.
func (r *Researcher) Research(ctx context.Context, email, title string) Profile {
	now := r.clock.Now()
	p := Profile{Email: clip(strings.ToValidUTF8(strings.TrimSpace(email), "\uFFFD"), MaxWorkEmailLength), At: now}
	domain, refused := WorkDomain(email)
	if refused != "" {
		p.Status, p.Reason = StatusSkipped, refused
		p.Fields = append([]Finding{}, DeriveTitle(title, now)...)
		return p
	}
	p.Domain = domain
	q := Query{Domain: domain}
	if full, err := QueryFromEmail(email); err == nil {
		q.Email = full.Email
	}
	p.Results = ResearchAll(ctx, q, r.sources...)
	p.Status, p.Reason, p.Sources = Summarise(p.Results)
	// Never nil: a profile's JSON lists its fields, even none.
	p.Fields = append(append([]Finding{}, DeriveCompany(domain, p.Results, now)...), DeriveTitle(title, now)...)
	return p
}

// Summarise reports how the sources went: the profile's status and reason
// (the unavailable sources' reasons, "site: timeout: ..."), and one report
// per source. Sources that were skipped (switched off) do not count.
func Summarise(results []Result) (Status, string, []SourceReport) {
	var reports []SourceReport
	var ok, failed int
	var reasons []string
	for _, res := range results {
		reports = append(reports, SourceReport{Source: res.Source, Status: res.Status, Reason: res.Reason, Findings: len(res.Findings), At: res.At})
		switch res.Status {
		case StatusOK:
			ok++
		case StatusUnavailable:
			failed++
			reasons = append(reasons, res.Source+": "+res.Reason)
		}
	}
	reason := strings.Join(reasons, "; ")
	switch {
	case ok == 0 && failed == 0:
		return StatusSkipped, "no source was asked", reports
	case failed == 0:
		return StatusOK, "", reports
	case ok == 0:
		return StatusUnavailable, reason, reports
	}
	return StatusPartial, reason, reports
}

// DeriveCompany turns the sources' results about domain into the company
// fields, each with the provenance of what it came from. It is pure: the
// same results give the same fields, so a cached set of results can be
// derived again when the rules change. A field nothing supports is left
// out rather than guessed: an industry below the classifier's threshold,
// a country neither the site nor a country-code TLD states. The time of a
// field read from a finding is the finding's; now dates the TLD rule.
func DeriveCompany(domain string, results []Result, now time.Time) []Finding {
	var out []Finding
	var all []Finding // every source's findings, sources in order of preference
	for _, res := range results {
		if res.Status == StatusOK {
			all = append(all, res.Findings...)
		}
	}
	if f, ok := companyName(domain, all); ok {
		out = append(out, f)
	}
	if f, ok := deriveIndustry(results, all); ok {
		out = append(out, f)
	}
	if f, ok := deriveTeamSize(all); ok {
		out = append(out, f)
	}
	if f, ok := deriveCountry(domain, all, now); ok {
		out = append(out, f)
	}
	// Mail provider, tools and profiles are read as they were found.
	for _, field := range []Field{FieldMailHost, FieldSaaS} {
		for _, f := range all {
			if f.Field == field {
				out = append(out, f)
			}
		}
	}
	for _, field := range []Field{FieldLinkedIn, FieldTwitter, FieldGitHub, FieldFacebook, FieldCrunchbase} {
		if f, ok := first(all, field); ok {
			out = append(out, f)
		}
	}
	return dedupe(out)
}

// DeriveTitle reads a job title into department and seniority, each a
// finding whose source is the title as given. It returns nothing for an
// empty title, and only what the title says (ClassifyTitle may know the
// level but not the function).
func DeriveTitle(title string, now time.Time) []Finding {
	title = collapse(title)
	if title == "" {
		return nil
	}
	dept, level := ClassifyTitle(title)
	prov := Provenance{Source: fmt.Sprintf("title %q", truncate(title, 80)), Method: MethodTitleClassifier, At: now}
	var out []Finding
	if dept != "" {
		out = append(out, Finding{Field: FieldDepartment, Value: string(dept), Provenance: prov})
	}
	if level != "" {
		out = append(out, Finding{Field: FieldSeniority, Value: string(level), Provenance: prov})
	}
	return out
}

func first(all []Finding, field Field) (Finding, bool) {
	for _, f := range all {
		if f.Field == field {
			return f, true
		}
	}
	return Finding{}, false
}

// companyName prefers what a site writes for machines (JSON-LD name),
// then what it writes for sharing (og:site_name), then the page title
// cleaned of its tagline; a provider's name comes in its source's order.
func companyName(domain string, all []Finding) (Finding, bool) {
	for _, field := range []Field{FieldName, FieldTitle} {
		for _, f := range all {
			if f.Field != field {
				continue
			}
			v := cleanName(f.Value, domain, field == FieldTitle)
			if v == "" {
				continue
			}
			f.Field, f.Value = FieldName, v
			return f, true
		}
	}
	return Finding{}, false
}

// titleSeparators split a page title into its name and its tagline.
var titleSeparators = []string{" | ", " - ", " – ", " — ", " · ", " :: ", " : ", ": ", " • ", " / "}

// pageWords are title parts that name a page, not a company.
var pageWords = map[string]bool{"home": true, "homepage": true, "home page": true, "welcome": true, "accueil": true,
	"startseite": true, "inicio": true, "bienvenue": true, "willkommen": true, "bienvenido": true, "official site": true, "official website": true}

// cleanName collapses spaces and, for a page title, keeps the part that
// names the company: the one that spells the domain's first label
// ("Home - Acme Robotics" for acme-robotics.com), else the first that is
// not a page word ("Home"), so "Acme | Industrial robots" is "Acme".
func cleanName(v, domain string, fromTitle bool) string {
	v = strings.Trim(collapse(v), " \"'«»“”")
	if !fromTitle || v == "" {
		return clip(v, 200)
	}
	parts := []string{v}
	for _, sep := range titleSeparators {
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
		}
		parts = next
	}
	label := strings.ReplaceAll(domain, "-", "")
	if i := strings.IndexByte(label, '.'); i > 0 {
		label = label[:i]
	}
	var candidates []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || pageWords[strings.Join(words(foldText(p)), " ")] {
			continue
		}
		candidates = append(candidates, p)
		if strings.Join(words(foldText(p)), "") == label {
			return clip(p, 200)
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	return clip(candidates[0], 200)
}

// deriveIndustry classifies the site's visible text with its title and
// descriptions; when that says nothing clear, a provider's industry
// finding is taken as the provider wrote it.
func deriveIndustry(results []Result, all []Finding) (Finding, bool) {
	var texts, sources []string
	var at time.Time
	add := func(src string) {
		for _, s := range sources {
			if s == src {
				return
			}
		}
		sources = append(sources, src)
	}
	for _, f := range all {
		if f.Field == FieldTitle || f.Field == FieldDescription {
			texts = append(texts, f.Value)
		}
	}
	for _, res := range results {
		if res.Status != StatusOK || res.Text == "" {
			continue
		}
		texts = append(texts, res.Text)
	}
	if name, conf := ClassifyIndustry(texts...); name != "" {
		for _, f := range all {
			if f.Field == FieldTitle || f.Field == FieldDescription {
				add(f.Source)
				if at.IsZero() {
					at = f.At
				}
			}
		}
		for _, res := range results {
			if res.Status == StatusOK && res.Text != "" && len(sources) == 0 {
				// Text without a finding to name its page: name the source.
				add(res.Source)
				at = res.At
			}
		}
		return Finding{Field: FieldIndustry, Value: name, Confidence: conf,
			Provenance: Provenance{Source: strings.Join(sources, " "), Method: MethodIndustryClassifier, At: at}}, true
	}
	return first(all, FieldIndustry)
}

// deriveTeamSize reads the first employees finding (JSON-LD numberOfEmployees)
// that parses, then a provider's size.
func deriveTeamSize(all []Finding) (Finding, bool) {
	for _, field := range []Field{FieldEmployees, FieldSize} {
		for _, f := range all {
			if f.Field != field {
				continue
			}
			if size := ParseTeamSize(f.Value); size != "" {
				f.Field, f.Value, f.Method = FieldSize, size, MethodTeamSize
				return f, true
			}
		}
	}
	return Finding{}, false
}

// deriveCountry reads the site's (or a provider's) address country, else the
// domain's country-code TLD.
func deriveCountry(domain string, all []Finding, now time.Time) (Finding, bool) {
	for _, f := range all {
		if f.Field != FieldCountry {
			continue
		}
		if c := CountryOfAddress(f.Value); c != "" {
			f.Value, f.Method = c, MethodAddress
			return f, true
		}
	}
	if c := CountryOfTLD(domain); c != "" {
		return Finding{Field: FieldCountry, Value: c, Provenance: Provenance{Source: domain, Method: MethodTLD, At: now}}, true
	}
	return Finding{}, false
}
