package nurture_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestClassifyHits(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	person := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	home := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		name       string
		hit        nurture.Hit
		wantClass  nurture.HitClass
		wantReason string
	}{
		{"a person opens an hour later", nurture.Hit{Kind: nurture.HitOpen, UserAgent: person, IP: home, At: sent.Add(time.Hour)}, nurture.ClassHuman, ""},
		{"Apple Mail Privacy Protection by address", nurture.Hit{Kind: nurture.HitOpen, UserAgent: person, IP: netip.MustParseAddr("17.58.101.3"), At: sent.Add(time.Hour)},
			nurture.ClassMachine, "apple-mail-privacy-protection"},
		{"Apple Mail Privacy Protection by its bare user agent", nurture.Hit{Kind: nurture.HitOpen, UserAgent: "Mozilla/5.0", IP: home, At: sent.Add(time.Hour)},
			nurture.ClassMachine, "apple-mail-privacy-protection"},
		{"Gmail image proxy", nurture.Hit{Kind: nurture.HitOpen, UserAgent: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", IP: home, At: sent.Add(time.Hour)},
			nurture.ClassMachine, "google-image-proxy"},
		{"Yahoo image proxy", nurture.Hit{Kind: nurture.HitOpen, UserAgent: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", IP: home, At: sent.Add(time.Hour)},
			nurture.ClassMachine, "yahoo-image-proxy"},
		{"a data-centre open two seconds after sending", nurture.Hit{Kind: nurture.HitOpen, UserAgent: person, IP: netip.MustParseAddr("52.1.2.3"), At: sent.Add(2 * time.Second), SentAt: sent},
			nurture.ClassMachine, "datacenter-open-right-after-send"},
		{"a data-centre open an hour later is a person on a VPN", nurture.Hit{Kind: nurture.HitOpen, UserAgent: person, IP: netip.MustParseAddr("52.1.2.3"), At: sent.Add(time.Hour), SentAt: sent},
			nurture.ClassHuman, ""},
		{"a person clicks", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: person, IP: home, At: sent.Add(time.Hour), SentAt: sent}, nurture.ClassHuman, ""},
		{"HEAD request", nurture.Hit{Kind: nurture.HitClick, Method: "HEAD", UserAgent: person, IP: home, At: sent.Add(time.Hour), SentAt: sent},
			nurture.ClassBot, "head-request"},
		{"scanner user agent", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: "Mozilla/5.0 (compatible; Barracuda Sentinel)", IP: home, At: sent.Add(time.Hour), SentAt: sent},
			nurture.ClassBot, "scanner-user-agent"},
		{"click within seconds of delivery", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: person, IP: home, At: sent.Add(3 * time.Second), SentAt: sent},
			nurture.ClassBot, "click-right-after-delivery"},
		{"every link within a second", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: person, IP: home, At: sent.Add(time.Hour), SentAt: sent, OtherLinks: 4},
			nurture.ClassBot, "all-links-at-once"},
		{"a second link a moment later is still a person", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: person, IP: home, At: sent.Add(time.Hour), SentAt: sent, OtherLinks: 1},
			nurture.ClassHuman, ""},
		{"Apple's address on a click is not an MPP open", nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: person, IP: netip.MustParseAddr("17.58.101.3"), At: sent.Add(time.Hour), SentAt: sent},
			nurture.ClassHuman, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.hit
			nurture.Classify(nurture.DefaultHitRules, &h)
			require.Equal(t, tt.wantClass, h.Class)
			require.Equal(t, tt.wantReason, h.Reason)
		})
	}
}

// FuzzClassifyUserAgentContains: a rule's UserAgentContains matches
// exactly when the lower-cased user agent contains the lower-cased needle,
// whatever the alphabet (Classify compares ASCII in place, without copies).
func FuzzClassifyUserAgentContains(f *testing.F) {
	for _, seed := range [][2]string{
		{"Mozilla/5.0 (compatible; Barracuda Sentinel)", "barracuda"},
		{"Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "GoogleImageProxy"},
		{"SAFELIN\u212aS scanner", "safelinks"}, // the Kelvin sign lower-cases to k
		{"\u0130stanbul bot", "i"},
		{"Bot", ""},
		{"", "bot"},
		{"caf\u00c9 crawler", "CAF\u00e9"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, userAgent, needle string) {
		rules := []nurture.HitRule{{Name: "r", Class: nurture.ClassBot, UserAgentContains: []string{needle}}}
		h := nurture.Hit{Kind: nurture.HitClick, UserAgent: userAgent}
		nurture.Classify(rules, &h)
		want := strings.Contains(strings.ToLower(userAgent), strings.ToLower(needle))
		if got := h.Class == nurture.ClassBot; got != want {
			t.Fatalf("user agent %q, needle %q: matched %v, want %v", userAgent, needle, got, want)
		}
	})
}

// BenchmarkClassify classifies a person's click by the default rules: every
// rule is tried, the scanner list in full.
func BenchmarkClassify(b *testing.B) {
	sent := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		h := nurture.Hit{Kind: nurture.HitClick, Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
			IP: netip.MustParseAddr("198.51.100.7"), At: sent.Add(time.Hour), SentAt: sent}
		nurture.Classify(nurture.DefaultHitRules, &h)
	}
}
