package enrich

import "strings"

// isoCountries holds the ISO 3166-1 alpha-2 codes, lower case, as listed
// in the tz database's iso3166.tab (public domain).
const isoCountries = `ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br
bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee
eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm
hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc
li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na
nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw
sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to
tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw`

// genericCCTLDs are country-code top-level domains that are sold
// worldwide for what their letters spell, so a site under them says
// nothing about where its company is: .io (input/output), .co (company),
// .ai (artificial intelligence), .me, .tv, .ly (Libya, but bit.ly), .fm
// and .am (radio), .cc, .ws ("web site"), .to, .sh, .ac, .gg (gaming),
// .nu ("now" in Swedish), .la (Los Angeles), .tk/.ml/.ga/.cf/.gq (handed
// out free), .vc (venture capital), .st, .bz, .pw, .gs, .ms, .md, .so,
// .gd, .ag, .im, .cx, .ps, .sx, .vg, .mu, .tf, .cd, .gl. CountryOfTLD returns ""
// for all of them: a wrong country is worse than none.
var genericCCTLDs = map[string]bool{
	"io": true, "co": true, "ai": true, "me": true, "tv": true, "ly": true,
	"fm": true, "am": true, "cc": true, "ws": true, "to": true, "sh": true,
	"ac": true, "gg": true, "nu": true, "la": true, "tk": true, "ml": true,
	"ga": true, "cf": true, "gq": true, "vc": true, "st": true, "bz": true,
	"pw": true, "gs": true, "ms": true, "md": true, "so": true, "gd": true,
	"ag": true, "im": true, "cx": true, "ps": true, "sx": true, "vg": true,
	"mu": true, "tf": true, "cd": true, "gl": true,
}

// ccTLDCountry maps ccTLDs whose ISO code differs: .uk is GB. (.eu, .su
// and .asia are not countries and are simply absent.)
var ccTLDCountry = map[string]string{"uk": "GB"}

var isoCountrySet = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(isoCountries) {
		m[c] = true
	}
	return m
}()

// CountryOfTLD returns the ISO 3166-1 alpha-2 code (upper case: "FR",
// "GB") of the country a domain's country-code top-level domain stands
// for, or "" for generic TLDs (.com, .org, .app), for ccTLDs used for
// their letters rather than their country (see genericCCTLDs: .io, .co,
// .ai, .me, .tv, .ly...), and for anything else. It is a last resort for
// a company's country, after what the company's own site says.
func CountryOfTLD(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	if c, ok := ccTLDCountry[tld]; ok {
		return c
	}
	if len(tld) != 2 || genericCCTLDs[tld] || !isoCountrySet[tld] {
		return ""
	}
	return strings.ToUpper(tld)
}
