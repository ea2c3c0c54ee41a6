package templates

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/nurture-email/nurture"
)

// TestStartersGolden keeps every starter email, both bodies, under review
// for a contact we know well and for one we know nothing about, tracked
// with deterministic URLs: go test ./templates -update rewrites the files.
func TestStartersGolden(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, name := range starters {
		for _, who := range []struct {
			suffix string
			data   Data
		}{{"", full()}, {"_unknown", unknown()}} {
			t.Run(name+who.suffix, func(t *testing.T) {
				t.Parallel()
				r, err := s.Render(name, who.data)
				require.NoError(t, err, "Render")
				text := fmt.Sprintf("Subject: %s\nPreheader: %s\nTopic: %s\n\n%s", r.Subject, r.Preheader, r.Topic, r.Text)
				golden(t, name+who.suffix+".html.golden", r.HTML)
				golden(t, name+who.suffix+".txt.golden", text)
			})
		}
	}
}

// TestStartersRenderForAnyone renders each starter for a full and an empty
// contact, with and without what the product may leave out, and looks for
// the signs of a missing value.
func TestStartersRenderForAnyone(t *testing.T) {
	t.Parallel()
	s := setup(t)
	bare := func() Data { d := unknown(); d.Product = nurture.Product{}; d.Links = Links{}; d.Track = nil; return d }
	cases := []struct {
		name string
		data func() Data
	}{
		{"full", full},
		{"empty", unknown},
		{"empty, no product, links or tracking", bare},
		{"blank fields", func() Data {
			d := full()
			c := &d.Contact
			c.FirstName, c.Company, c.Industry, c.TeamSize, c.Role, c.Department, c.Title, c.TimeZone = " ", "\t", " ", "\n", " ", " ", " ", " "
			return d
		}},
	}
	for _, name := range starters {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				r, err := s.Render(name, tc.data())
				require.NoError(t, err, "Render")
				require.NotEmpty(t, r.Subject, "subject")
				require.NotEmpty(t, r.Topic, "topic")
				for part, text := range map[string]string{"subject": r.Subject, "preheader": r.Preheader, "HTML": r.HTML, "text": unwrap(r.Text)} {
					for _, bad := range []string{"<no value>", "Hi ,", "Hi  ", " ,", ", ,", "()", "the  team", "  team", "%!"} {
						require.NotContains(t, text, bad, part)
					}
				}
				require.Contains(t, unwrap(r.Text), "Hi ", "no greeting in the text")
				checkSafeHTML(t, r.HTML)
				checkImages(t, r.HTML)
			})
		}
	}
}

// checkImages fails when an image has no alt attribute or an http source.
func checkImages(t *testing.T, src string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	require.NoError(t, err)
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "img" {
			continue
		}
		alt, hasAlt := "", false
		for _, a := range n.Attr {
			if a.Key == "alt" {
				alt, hasAlt = a.Val, true
			}
		}
		require.True(t, hasAlt, "<img src=%q> has no alt", attrValue(n, "src"))
		require.True(t, strings.HasPrefix(attrValue(n, "src"), "https://"), "<img alt=%q> is not on https: %q", alt, attrValue(n, "src"))
	}
}

func TestStarterTopics(t *testing.T) {
	t.Parallel()
	s := setup(t)
	want := map[string]nurture.Topic{
		"check-in":             nurture.TopicOnboarding,
		"welcome":              nurture.TopicOnboarding,
		"onboarding-tips":      nurture.TopicOnboarding,
		"feature-education":    nurture.TopicEducation,
		"feature-reports":      nurture.TopicEducation,
		"feature-automation":   nurture.TopicEducation,
		"feature-integrations": nurture.TopicEducation,
		"demo-offer":           nurture.TopicMarketing,
		"re-engagement":        nurture.TopicMarketing,
		"newsletter":           nurture.TopicMarketing,
		"confirm-opt-in":       nurture.TopicTransactional,
	}
	for name, topic := range want {
		r, err := s.Render(name, full())
		require.NoError(t, err, "Render(%s)", name)
		require.Equal(t, topic, r.Topic, "%s: topic", name)
	}
}

// TestCheckInIsSmall keeps the personal note what it is meant to be: a
// short email on the plain page, with no stylesheet and no images.
func TestCheckInIsSmall(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, d := range []Data{full(), unknown()} {
		r, err := s.Render("check-in", d)
		require.NoError(t, err, "Render")
		require.GreaterOrEqual(t, len(r.HTML), 600, "HTML bytes, want about 800 to 1,000")
		require.LessOrEqual(t, len(r.HTML), 1100, "HTML bytes, want about 800 to 1,000")
		require.GreaterOrEqual(t, len(r.Text), 250, "text bytes, want about 400:\n%s", r.Text)
		require.LessOrEqual(t, len(r.Text), 550, "text bytes, want about 400:\n%s", r.Text)
		for _, unwanted := range []string{"<style", "<table", "class=", "cdn.acme.test"} {
			require.NotContains(t, r.HTML, unwanted, "HTML")
		}
		for _, want := range []string{"I'm Sam", "Just reply", "Unsubscribe (https://links.acme.test/u/tok123)"} {
			require.Contains(t, unwrap(r.Text), want, "text")
		}
	}
	d := full()
	d.Contact.Attributes = map[string]any{"account_manager": "Grace <Hopper>"}
	r, err := s.Render("check-in", d)
	require.NoError(t, err, "Render")
	require.Contains(t, r.HTML, "I'm Grace &lt;Hopper&gt;", "the sender's name is not shown as text")
	require.Contains(t, r.Text, "Grace <Hopper>\n", "the sender's name is not shown as text")

}
