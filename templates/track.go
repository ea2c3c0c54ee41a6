package templates

import (
	"fmt"
	"strings"

	"github.com/nurture-email/nurture"
)

// Tracking is how the caller counts opens and clicks of one email. Signing
// the links is the caller's business; the renderer only decides which links
// are tracked and puts the caller's URLs in their place.
type Tracking struct {
	// Click returns the tracked URL that leads to target, the index-th
	// tracked link of the email (from 0, in document order). It is called
	// once per tracked link; returning "" leaves that link as it is.
	Click func(index int, target string) string
	// OpenPixel is the absolute http(s) URL of the 1x1 image that records
	// an open, or "" for none.
	OpenPixel string
}

// trackMode is what a template lets the caller track, from its "tracking"
// block.
type trackMode uint8

const (
	trackClicks trackMode = 1 << iota
	trackOpens
	trackNone trackMode = 0
	trackAll            = trackClicks | trackOpens
)

// parseTrackMode reads the text of a "tracking" block.
func parseTrackMode(s string) (trackMode, error) {
	switch strings.TrimSpace(s) {
	case "all":
		return trackAll, nil
	case "clicks":
		return trackClicks, nil
	case "opens":
		return trackOpens, nil
	case "none":
		return trackNone, nil
	}
	return 0, fmt.Errorf("tracking %q is not one of all, clicks, opens or none", strings.TrimSpace(s))
}

// noTrackAttr marks a link the author does not want tracked:
// <a href="..." data-notrack>. The renderer removes the attribute.
const noTrackAttr = "data-notrack"

// tracker rewrites the links of one email and adds its open pixel.
type tracker struct {
	mode   trackMode
	track  *Tracking
	exempt [6]string // the recipient's own links, as given and as html/template writes them
	index  int       // of the next tracked link
	calls  []string  // what Click returned, by index
	replay []string  // what it returned in an earlier pass over the same email
	// targets maps each tracked target to its first tracked URL, for a
	// hand-written text body, when record says there is one.
	targets map[string]string
	record  bool
}

func newTracker(mode trackMode, d *Data) *tracker {
	t := &tracker{mode: mode, track: d.Track}
	for i, l := range []string{d.Links.Unsubscribe, d.Links.Preferences, d.Links.ViewInBrowser} {
		l = strings.TrimSpace(l)
		t.exempt[2*i], t.exempt[2*i+1] = l, normalizeURL(l)
	}
	return t
}

// link decides the target of one <a href>, given as written (trimmed):
// it returns the tracked URL to put in its place, or "" to leave it. A link
// is trackable when its href is an absolute http or https URL that
// nurture.SafeLinkTarget accepts and it is none of the recipient's own
// links (unsubscribe, preferences, view in browser). Others (mailto:, tel:,
// anchors, a target the click endpoint would refuse) are left alone.
func (t *tracker) link(target string) string {
	if t.mode&trackClicks == 0 || t.track == nil || t.track.Click == nil {
		return ""
	}
	if !trackable(target) || t.isExempt(target) {
		return ""
	}
	var tracked string
	if t.index < len(t.replay) {
		tracked = t.replay[t.index]
	} else {
		tracked = t.track.Click(t.index, target)
		if t.calls == nil {
			t.calls = make([]string, 0, 16)
		}
		t.calls = append(t.calls, tracked)
	}
	t.index++
	if tracked == "" {
		return ""
	}
	if t.record {
		if t.targets == nil {
			t.targets = map[string]string{}
		}
		if _, ok := t.targets[target]; !ok {
			t.targets[target] = tracked
		}
	}
	return tracked
}

// clicks reports whether links may be tracked at all.
func (t *tracker) clicks() bool {
	return t.mode&trackClicks != 0 && t.track != nil && t.track.Click != nil
}

// pixel returns the open pixel to add at the end of the body, or "".
func (t *tracker) pixel() (string, error) {
	if t.mode&trackOpens == 0 || t.track == nil || t.track.OpenPixel == "" {
		return "", nil
	}
	if !nurture.SafeLinkTarget(t.track.OpenPixel) {
		return "", fmt.Errorf("the open pixel %q is not an absolute http(s) URL", t.track.OpenPixel)
	}
	var b strings.Builder
	b.WriteString(`<img src="`)
	escapeAttr(&b, t.track.OpenPixel)
	b.WriteString(`" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;">`)
	return b.String(), nil
}

// trackable reports whether href is a link the click endpoint will follow.
func trackable(href string) bool {
	if len(href) < 8 || !hasPrefixFold(href, "http://") && !hasPrefixFold(href, "https://") {
		return false
	}
	return safeTargets.get(href, nurture.SafeLinkTarget)
}

// safeTargets remembers what nurture.SafeLinkTarget says of the links of
// the templates, which are the same in every email of a campaign.
var safeTargets = memo[string, bool]{max: 4096}

func (t *tracker) isExempt(target string) bool {
	for _, e := range t.exempt {
		if e != "" && e == target {
			return true
		}
	}
	return false
}

// retarget replaces, in a hand-written text body, each URL that is the
// target of a tracked link of the HTML with that link's tracked URL, so that
// clicks in either part are counted alike. A URL ends at a space or at one
// of <>"'; punctuation that ends a sentence is not part of it.
func (t *tracker) retarget(text string) string {
	if len(t.targets) == 0 || !strings.Contains(text, "http") {
		return text
	}
	var b strings.Builder
	for {
		i := indexURL(text)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		text = text[i:]
		end := strings.IndexFunc(text, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '<' || r == '>' || r == '"' || r == '\''
		})
		if end < 0 {
			end = len(text)
		}
		u := strings.TrimRight(text[:end], ".,;:!?)]")
		if tracked, ok := t.targets[u]; ok {
			b.WriteString(tracked)
		} else {
			b.WriteString(u)
		}
		text = text[len(u):]
	}
}

// indexURL returns the index of the first "http://" or "https://" in s, in
// any case, or -1.
func indexURL(s string) int {
	for i := 0; i+7 <= len(s); i++ {
		if s[i] != 'h' && s[i] != 'H' {
			continue
		}
		rest := strings.ToLower(s[i:min(len(s), i+8)])
		if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") {
			return i
		}
	}
	return -1
}

// normalizeURL writes u as html/template writes a URL it puts in an href:
// the bytes other than letters, digits, -._~, the reserved characters and
// valid %XX escapes percent-encoded. The renderer compares links in the
// output with the recipient's links in both forms.
func normalizeURL(u string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0,
			'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			continue
		}
		b.WriteString(u[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		return u
	}
	b.WriteString(u[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
