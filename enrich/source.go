package enrich

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Source is one place research looks: a web site, DNS, a provider. It never
// returns an error: what went wrong is the Result's status and reason, so a
// caller can record it and try again later (quiet failure).
type Source interface {
	// Name names the source in results and logs ("site", "dns", "provider").
	Name() string
	// Research looks the query's domain up and reports what it found.
	Research(ctx context.Context, q Query) Result
}

// Query is what research starts from: a normalised ASCII domain, and the
// email address when there is one (only a provider may use it).
type Query struct {
	Domain string
	Email  string
}

// Status says how a source's research went.
type Status string

// The statuses of a Result.
const (
	// StatusOK: the source answered; Findings may still be empty.
	StatusOK Status = "ok"
	// StatusUnavailable: the source could not be read (refused, timed
	// out, disallowed by robots.txt, bad answer); Reason says why.
	StatusUnavailable Status = "unavailable"
	// StatusSkipped: the source was not asked (switched off, or the
	// input cannot be researched); Reason says why.
	StatusSkipped Status = "skipped"
)

// Field names a fact about a company. The values are stable: they are
// stored and shown with their provenance.
type Field string

// The fields sources find.
const (
	FieldName        Field = "name"          // the company's name (JSON-LD name, og:site_name)
	FieldLegalName   Field = "legal_name"    // JSON-LD legalName
	FieldTitle       Field = "title"         // the page's <title>
	FieldDescription Field = "description"   // meta or OpenGraph description, JSON-LD description
	FieldLogo        Field = "logo"          // JSON-LD logo (an absolute URL)
	FieldImage       Field = "image"         // og:image (an absolute URL)
	FieldEmployees   Field = "employees"     // JSON-LD numberOfEmployees: "250" or "51-200"
	FieldCountry     Field = "country"       // JSON-LD address.addressCountry, as written
	FieldFounded     Field = "founded"       // JSON-LD foundingDate, as written
	FieldSameAs      Field = "same_as"       // JSON-LD sameAs, one finding per URL
	FieldLinkedIn    Field = "linkedin"      // a linkedin.com/company/... page
	FieldTwitter     Field = "twitter"       // an x.com or twitter.com profile
	FieldGitHub      Field = "github"        // a github.com organisation
	FieldFacebook    Field = "facebook"      // a facebook.com page
	FieldCrunchbase  Field = "crunchbase"    // a crunchbase.com/organization/... page
	FieldMailHost    Field = "mail_provider" // from MX: "Google Workspace", "Microsoft 365", ...
	FieldSaaS        Field = "saas"          // from SPF includes: "Salesforce", "SendGrid", ...
	FieldIndustry    Field = "industry"      // from a provider's mapping
	FieldSize        Field = "size"          // from a provider's mapping
)

// The methods that produced a finding.
const (
	MethodJSONLD    = "json-ld"
	MethodOpenGraph = "opengraph"
	MethodMeta      = "meta"
	MethodTitle     = "title"
	MethodLink      = "link"
	MethodMX        = "mx"
	MethodSPF       = "spf"
	MethodProvider  = "provider"
)

// Provenance says where a value was read (a URL or a DNS record), how (a
// Method* constant) and when.
type Provenance struct {
	Source string    `json:"source"`
	Method string    `json:"method"`
	At     time.Time `json:"at"`
}

// Finding is one value of one field, with its provenance.
type Finding struct {
	Field Field  `json:"field"`
	Value string `json:"value"`
	// Confidence is set by a classifier that has one (the industry's, in
	// [0, 1]); zero for a value read as written.
	Confidence float64 `json:"confidence,omitempty"`
	Provenance `json:"provenance"`
}

// Result is what one source reported about one domain. Findings come in
// the source's order of preference: the first finding of a field is the
// best one.
type Result struct {
	Source   string    `json:"source"`
	Domain   string    `json:"domain"`
	Status   Status    `json:"status"`
	Reason   string    `json:"reason,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	At       time.Time `json:"at"`
	// Text is the visible text the source read (the site's pages, at most
	// MaxText bytes), for classifiers; it is not a finding and not stored.
	Text string `json:"-"`
}

// MaxText bounds Result.Text.
const MaxText = 16 << 10

// First returns the preferred finding of a field.
func (r Result) First(f Field) (Finding, bool) {
	for _, x := range r.Findings {
		if x.Field == f {
			return x, true
		}
	}
	return Finding{}, false
}

// All returns every finding of a field, in order of preference.
func (r Result) All(f Field) []Finding {
	var out []Finding
	for _, x := range r.Findings {
		if x.Field == f {
			out = append(out, x)
		}
	}
	return out
}

// normalise checks a query a source was given: its domain goes through
// ParseDomain (so a caller that skipped it still cannot make a source
// fetch a bad name), and a refusal is a skipped Result with the reason.
func normalise(source string, q Query, now time.Time) (Query, Result, bool) {
	d, err := ParseDomain(q.Domain)
	if err != nil {
		return q, Result{Source: source, Domain: clip(strings.ToValidUTF8(q.Domain, "\uFFFD"), MaxDomainLength), Status: StatusSkipped, Reason: err.Error(), At: now}, false
	}
	q.Domain = d
	return q, Result{}, true
}

func unavailable(source, domain, reason string, at time.Time) Result {
	return Result{Source: source, Domain: domain, Status: StatusUnavailable, Reason: reason, At: at}
}

// MaxDomainLength is the longest domain name DNS allows (RFC 1035: 253
// characters in text form).
const MaxDomainLength = 253

// ErrBadInput is wrapped by every error of ParseDomain and QueryFromEmail:
// the input cannot be researched, and trying again will not help.
var ErrBadInput = errors.New("cannot research")

// ParseDomain turns what a person typed (a domain, or a URL's host) into
// the lower-case ASCII form research uses. An internationalised name is
// converted to its A-label (xn--) form with IDNA's lookup profile, which
// rejects disallowed runes and bidi mistakes; a homograph (Cyrillic "о" in
// "gооgle.com") is researched as the different domain it is. Everything it refuses comes back as an error whose message is fit
// to record as the reason.
func ParseDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", fmt.Errorf("%w: empty domain", ErrBadInput)
	}
	// Checked before IDNA so a huge input costs nothing.
	if len(s) > 4*MaxDomainLength {
		return "", fmt.Errorf("%w: domain of %d characters is longer than %d", ErrBadInput, len(s), MaxDomainLength)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: domain is not valid UTF-8", ErrBadInput)
	}
	ascii, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("%w: domain %q is not a valid name: %s", ErrBadInput, truncate(s, 80), err.Error())
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > MaxDomainLength {
		return "", fmt.Errorf("%w: domain of %d characters is longer than %d", ErrBadInput, len(ascii), MaxDomainLength)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: %q has no dot: not a public domain", ErrBadInput, ascii)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Errorf("%w: label %q of %q is not a host name label", ErrBadInput, truncate(l, 80), truncate(ascii, 80))
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("%w: %q looks like an IP address, not a domain", ErrBadInput, ascii)
	}
	return ascii, nil
}

// QueryFromEmail builds the query for an email address: its domain, parsed
// by ParseDomain, and the address itself.
func QueryFromEmail(email string) (Query, error) {
	email = strings.TrimSpace(email)
	if len(email) > 4*MaxDomainLength {
		return Query{}, fmt.Errorf("%w: email of %d characters is too long", ErrBadInput, len(email))
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email {
		return Query{}, fmt.Errorf("%w: %q is not a plain email address", ErrBadInput, truncate(email, 80))
	}
	at := strings.LastIndexByte(email, '@')
	d, err := ParseDomain(email[at+1:])
	if err != nil {
		return Query{}, err
	}
	return Query{Domain: d, Email: email[:at+1] + d}, nil
}

// validLabel reports whether l is a host name label (RFC 1123): 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '-' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// truncate shortens s for an error message, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clip(s, n) + "…"
}

// ResearchAll asks every source about q at once and returns their results
// in the sources' order. A source that panics is reported unavailable
// rather than taking the caller down: research reads the outside world,
// and a parser bug must cost one result, not the worker.
func ResearchAll(ctx context.Context, q Query, sources ...Source) []Result {
	out := make([]Result, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					out[i] = Result{Source: s.Name(), Domain: q.Domain, Status: StatusUnavailable,
						Reason: fmt.Sprintf("internal: %v", v)}
				}
			}()
			out[i] = s.Research(ctx, q)
		})
	}
	wg.Wait()
	return out
}
