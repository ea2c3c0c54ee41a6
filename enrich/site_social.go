package enrich

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// socialProfile recognises a company's profile page on LinkedIn, X,
// GitHub, Facebook or Crunchbase and returns its canonical URL. Share
// buttons, intents and the networks' own pages are not profiles.
func socialProfile(u *url.URL) (Field, string, bool) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", false
	}
	host := strings.ToLower(u.Hostname())
	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	seg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	on := func(domain string) bool { return host == domain || strings.HasSuffix(host, "."+domain) }
	switch {
	case on("linkedin.com"):
		if (seg(0) == "company" || seg(0) == "school") && slug(seg(1)) {
			return FieldLinkedIn, "https://www.linkedin.com/" + seg(0) + "/" + seg(1), true
		}
	case on("twitter.com") || on("x.com"):
		h := seg(0)
		if len(segs) >= 1 && handle(h) && !reserved(h, "intent", "share", "home", "search", "hashtag", "i", "privacy", "tos", "login", "signup", "explore", "settings", "messages", "notifications") {
			return FieldTwitter, "https://x.com/" + h, true
		}
	case on("github.com"):
		org := seg(0)
		if org == "orgs" {
			org = seg(1)
		}
		if slug(org) && !reserved(org, "about", "features", "pricing", "login", "join", "sponsors", "topics", "marketplace", "enterprise", "site", "contact", "security", "collections", "trending", "explore", "settings", "customer-stories", "team", "readme", "apps", "orgs") {
			return FieldGitHub, "https://github.com/" + org, true
		}
	case on("facebook.com") || on("fb.com"):
		p := seg(0)
		if p == "profile.php" {
			if id := u.Query().Get("id"); id != "" && allDigits(id) {
				return FieldFacebook, "https://www.facebook.com/profile.php?id=" + id, true
			}
			return "", "", false
		}
		if slug(strings.ReplaceAll(p, ".", "-")) && !reserved(p, "sharer", "sharer.php", "share", "share.php", "dialog", "plugins", "login", "tr", "groups", "events", "watch", "policies", "privacy", "help", "pages", "people", "hashtag") {
			return FieldFacebook, "https://www.facebook.com/" + p, true
		}
	case on("crunchbase.com"):
		if seg(0) == "organization" && slug(seg(1)) {
			return FieldCrunchbase, "https://www.crunchbase.com/organization/" + seg(1), true
		}
	}
	return "", "", false
}

// slug reports whether s is a plausible profile name: 1 to 100 letters,
// digits, hyphens and underscores.
func slug(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		ascii := r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
		if !ascii && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// handle reports whether s is an X handle: 1 to 15 letters, digits and
// underscores.
func handle(s string) bool {
	if len(s) > 15 {
		return false
	}
	return slug(s) && !strings.Contains(s, "-")
}

func reserved(s string, names ...string) bool {
	s = strings.ToLower(s)
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}
