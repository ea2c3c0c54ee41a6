package nurture

import (
	"bytes"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// HitKind is what a recipient's request was: an open (the pixel loaded) or
// a click (a tracked link followed).
type HitKind string

// The kinds of recipient hits.
const (
	HitOpen  HitKind = "open"
	HitClick HitKind = "click"
)

// HitClass says who made a hit: a person, a machine that fetches images on
// the reader's behalf (privacy proxies, image caches), or a bot that follows
// links to check them (security scanners). Only human hits count as "a
// person engaged".
type HitClass string

// The classes of hits.
const (
	ClassHuman   HitClass = "human"
	ClassMachine HitClass = "machine"
	ClassBot     HitClass = "bot"
)

// Hit is one open or click as it arrived.
type Hit struct {
	Kind      HitKind
	MessageID int64
	ContactID int64
	LinkIndex int
	URL       string
	Method    string // the HTTP method
	IP        netip.Addr
	UserAgent string
	At        time.Time
	SentAt    time.Time // when the message was sent; zero when unknown
	// OtherLinks counts the other links of the same message clicked in the
	// second before this one (scanners follow every link at once).
	OtherLinks int
	Class      HitClass
	Reason     string // the rule that classified it; "" for human
}

// HitRule marks hits that match it as Class. All the conditions it sets
// must hold; an unset condition holds for any hit. Rules are data so that
// they can be read, tested and extended without touching the code.
type HitRule struct {
	Name  string // the reason recorded with the hit
	Kind  HitKind
	Class HitClass

	UserAgentIs       []string       // the whole user agent is one of these
	UserAgentContains []string       // the user agent contains one of these (case-insensitive)
	Networks          []netip.Prefix // the address is in one of these
	Method            string         // the request used this method
	WithinOfSend      time.Duration  // the hit came this soon after the send
	MinOtherLinks     int            // at least this many other links hit in the last second
}

func (r *HitRule) matches(h *Hit, ua *userAgent) bool {
	if r.Kind != "" && r.Kind != h.Kind {
		return false
	}
	if len(r.UserAgentIs) > 0 && !containsString(r.UserAgentIs, h.UserAgent) {
		return false
	}
	if len(r.UserAgentContains) > 0 {
		found := false
		for _, s := range r.UserAgentContains {
			if ua.contains(s) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(r.Networks) > 0 {
		found := false
		for _, n := range r.Networks {
			if h.IP.IsValid() && n.Contains(h.IP.Unmap()) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.Method != "" && !strings.EqualFold(r.Method, h.Method) {
		return false
	}
	if r.WithinOfSend > 0 && (h.SentAt.IsZero() || h.At.Sub(h.SentAt) > r.WithinOfSend) {
		return false
	}
	if r.MinOtherLinks > 0 && h.OtherLinks < r.MinOtherLinks {
		return false
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// userAgent is a hit's user agent as the rules compare it, without case.
// Every open and click is classified, so an ASCII user agent is
// lower-cased once into a buffer of its own, and ASCII needles are
// searched in it without copies on the heap; anything else is compared
// through strings.ToLower.
type userAgent struct {
	raw   string
	ascii bool      // raw is ASCII and fits buf
	lower [512]byte // raw lower-cased, when ascii
}

func (u *userAgent) init(s string) {
	u.raw = s
	if len(s) > len(u.lower) {
		return
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= utf8.RuneSelf {
			return
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		u.lower[i] = b
	}
	u.ascii = true
}

// contains reports whether the user agent contains s, without case: as
// strings.Contains(strings.ToLower(ua), strings.ToLower(s)) would.
func (u *userAgent) contains(s string) bool {
	var needle [64]byte
	if !u.ascii || len(s) > len(needle) {
		return strings.Contains(strings.ToLower(u.raw), strings.ToLower(s))
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(u.raw), strings.ToLower(s))
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		needle[i] = b
	}
	return bytes.Contains(u.lower[:len(u.raw)], needle[:len(s)])
}

// Classify sets h.Class and h.Reason by the first rule that matches; a hit
// no rule matches is human.
func Classify(rules []HitRule, h *Hit) {
	var ua userAgent
	ua.init(h.UserAgent)
	for i := range rules {
		if rules[i].matches(h, &ua) {
			h.Class, h.Reason = rules[i].Class, rules[i].Name
			return
		}
	}
	h.Class, h.Reason = ClassHuman, ""
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// datacenterNetworks are address ranges of large clouds where link scanners
// and proxies run, not readers. The list is short on purpose: it is a
// signal combined with timing, never a verdict on its own.
var datacenterNetworks = prefixes(
	"3.0.0.0/8", "13.32.0.0/12", "18.128.0.0/9", "34.64.0.0/10", "35.184.0.0/13",
	"40.64.0.0/10", "52.0.0.0/8", "54.64.0.0/11", "104.40.0.0/13", "104.196.0.0/14",
	"2600:1f00::/24", "2a05:d000::/25",
)

// DefaultHitRules are the rules Nurture classifies opens and clicks with,
// from the most to the least certain.
var DefaultHitRules = []HitRule{
	// Apple Mail Privacy Protection fetches every image through Apple's
	// proxies (17.0.0.0/8) with a bare "Mozilla/5.0" user agent, whether or
	// not the person reads the email.
	{Name: "apple-mail-privacy-protection", Kind: HitOpen, Class: ClassMachine, Networks: prefixes("17.0.0.0/8")},
	{Name: "apple-mail-privacy-protection", Kind: HitOpen, Class: ClassMachine, UserAgentIs: []string{"Mozilla/5.0"}},
	// Gmail and Yahoo load images through their caches; the first load
	// happens when the person opens the email, but later ones may not, and
	// the address and device are the proxy's.
	{Name: "google-image-proxy", Kind: HitOpen, Class: ClassMachine, UserAgentContains: []string{"GoogleImageProxy", "ggpht.com"}},
	{Name: "yahoo-image-proxy", Kind: HitOpen, Class: ClassMachine, UserAgentContains: []string{"YahooMailProxy"}},
	{Name: "datacenter-open-right-after-send", Kind: HitOpen, Class: ClassMachine, Networks: datacenterNetworks, WithinOfSend: 10 * time.Second},
	// Security scanners check links before the person sees the email.
	{Name: "head-request", Kind: HitClick, Class: ClassBot, Method: "HEAD"},
	{Name: "scanner-user-agent", Kind: HitClick, Class: ClassBot, UserAgentContains: []string{
		"barracuda", "mimecast", "proofpoint", "symantec", "forcepoint", "trendmicro", "sophos",
		"safelinks", "microsoft office", "ms-office", "bingpreview", "python-requests", "go-http-client",
		"curl/", "wget/", "headlesschrome", "bot", "spider", "crawler", "scanner",
	}},
	{Name: "click-right-after-delivery", Kind: HitClick, Class: ClassBot, WithinOfSend: 5 * time.Second},
	{Name: "all-links-at-once", Kind: HitClick, Class: ClassBot, MinOtherLinks: 2},
}
