package enrich

import (
	_ "embed" // the domain lists are text files beside this one
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// The reasons WorkDomain gives for refusing an address. They are stable
// codes, meant to be recorded beside the contact ("skipped: free_mail") and
// counted, not shown as sentences.
const (
	// RefusedUnparsable: the input is not an email address at all.
	RefusedUnparsable = "unparsable"
	// RefusedTooLong: the address is longer than MaxWorkEmailLength, or its
	// domain is longer than DNS allows (253 octets, 63 a label).
	RefusedTooLong = "too_long"
	// RefusedInvalidDomain: the domain is not a valid host name once
	// converted to ASCII (a bad IDN, a label starting with a hyphen, an IP
	// literal, a name under no known top-level domain such as .local).
	RefusedInvalidDomain = "invalid_domain"
	// RefusedNoRegistrable: the domain is a public suffix itself (co.uk,
	// github.io): nobody's company.
	RefusedNoRegistrable = "no_registrable_domain"
	// RefusedFreeMail: the domain is a free-mail provider's (gmail.com).
	RefusedFreeMail = "free_mail"
	// RefusedDisposable: the domain is a throw-away inbox (mailinator.com).
	RefusedDisposable = "disposable"
)

// MaxWorkEmailLength is the longest input WorkDomain reads. Anything longer
// is refused before parsing, so a hostile 300-character (or 3 MB) string
// costs nothing.
const MaxWorkEmailLength = 254

//go:embed domains_freemail.txt
var freeMailText string

//go:embed domains_disposable.txt
var disposableText string

var (
	freeMail   = parseDomainList(freeMailText)
	disposable = parseDomainList(disposableText)
)

// domainList is a parsed list: exact domains, and brands listed as NAME.*
// that match NAME under any public suffix.
type domainList struct {
	exact  map[string]bool
	brands map[string]bool
}

func parseDomainList(text string) domainList {
	l := domainList{exact: map[string]bool{}, brands: map[string]bool{}}
	for line := range strings.SplitSeq(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.ToLower(strings.TrimSpace(line))
		if line == "" {
			continue
		}
		if brand, ok := strings.CutSuffix(line, ".*"); ok {
			l.brands[brand] = true
			continue
		}
		l.exact[line] = true
	}
	return l
}

// has reports whether host, or its registrable domain reg, is on the list.
func (l domainList) has(host, reg string) bool {
	if l.exact[host] || l.exact[reg] {
		return true
	}
	suffix, _ := publicsuffix.PublicSuffix(reg)
	brand := strings.TrimSuffix(strings.TrimSuffix(reg, suffix), ".")
	return brand != "" && l.brands[brand]
}

// IsFreeMail reports whether domain (a host name, any case, subdomains
// allowed) belongs to a free-mail provider on the embedded list
// (domains_freemail.txt).
func IsFreeMail(domain string) bool {
	host, reg, reason := registrable(domain)
	return reason == "" && freeMail.has(host, reg)
}

// IsDisposable reports whether domain belongs to a throw-away mail service
// on the embedded list (domains_disposable.txt).
func IsDisposable(domain string) bool {
	host, reg, reason := registrable(domain)
	return reason == "" && disposable.has(host, reg)
}

// WorkDomain returns the registrable domain of a work email address, the
// one its company's site is found at: "Ada@Mail.Example.co.uk" gives
// "example.co.uk". When the address tells nothing about an employer it
// returns "" and one of the Refused* reasons instead, so that the caller
// can record why it did not research: bad input is a reason, never a
// panic. An internationalised domain that is valid is accepted and
// returned in its ASCII (punycode) form, the form DNS and HTTP use.
func WorkDomain(email string) (domain, reason string) {
	if len(email) > MaxWorkEmailLength {
		return "", RefusedTooLong
	}
	if !utf8.ValidString(email) {
		return "", RefusedUnparsable
	}
	email = strings.TrimSpace(email)
	// net/mail accepts display names ("Ada <ada@x.com>"); a sign-up form's
	// address field should hold the bare address, so anything else is
	// refused rather than guessed at.
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", RefusedUnparsable
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at <= 0 || at == len(addr.Address)-1 {
		return "", RefusedUnparsable
	}
	host, reg, reason := registrable(addr.Address[at+1:])
	switch {
	case reason != "":
		return "", reason
	case freeMail.has(host, reg):
		return "", RefusedFreeMail
	case disposable.has(host, reg):
		return "", RefusedDisposable
	}
	return reg, ""
}

// idnaProfile converts a domain to ASCII with the rules a browser's
// address bar applies (UTS 46, transitional processing off) and checks
// the hyphen and length rules of host names.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// registrable checks a domain and returns it in lower-case ASCII together
// with its registrable domain (eTLD+1), or a Refused* reason.
func registrable(domain string) (host, reg, reason string) {
	domain = strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if domain == "" {
		return "", "", RefusedUnparsable
	}
	if len(domain) > 253 {
		return "", "", RefusedTooLong
	}
	// An IP literal ([192.0.2.1]) is a valid address but names no company.
	if strings.HasPrefix(domain, "[") {
		return "", "", RefusedInvalidDomain
	}
	host, err := idnaProfile.ToASCII(domain)
	if err != nil {
		for label := range strings.SplitSeq(domain, ".") {
			if len(label) > 63 {
				return "", "", RefusedTooLong
			}
		}
		return "", "", RefusedInvalidDomain
	}
	host = strings.ToLower(host)
	if !strings.Contains(host, ".") {
		return "", "", RefusedInvalidDomain
	}
	// A name under no top-level domain of the ICANN root (.local, .lan,
	// .internal, an all-digit "TLD" of a dotted IPv4 address) cannot be
	// a company's public site.
	tld := host[strings.LastIndexByte(host, '.')+1:]
	if _, icann := publicsuffix.PublicSuffix(tld); !icann {
		return "", "", RefusedInvalidDomain
	}
	reg, err = publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", "", RefusedNoRegistrable
	}
	return host, reg, ""
}
