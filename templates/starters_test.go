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
				if r.Subject == "" || r.Topic == "" {
					t.Errorf("subject %q, topic %q", r.Subject, r.Topic)
				}
				for part, text := range map[string]string{"subject": r.Subject, "preheader": r.Preheader, "HTML": r.HTML, "text": unwrap(r.Text)} {
					for _, bad := range []string{"<no value>", "Hi ,", "Hi  ", " ,", ", ,", "()", "the  team", "  team", "%!"} {
						if strings.Contains(text, bad) {
							t.Errorf("%s has %q", part, bad)
						}
					}
				}
				if !strings.Contains(unwrap(r.Text), "Hi ") {
					t.Errorf("no greeting in the text:\n%s", r.Text)
				}
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
		if !hasAlt {
			t.Errorf("<img src=%q> has no alt", attrValue(n, "src"))
		}
		if !strings.HasPrefix(attrValue(n, "src"), "https://") {
			t.Errorf("<img alt=%q> is not on https: %q", alt, attrValue(n, "src"))
		}
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
	}
	for name, topic := range want {
		r, err := s.Render(name, full())
		if err != nil {
			t.Fatalf("Render(%s): %v", name, err)
		}
		if r.Topic != topic {
			t.Errorf("%s: topic %q, want %q", name, r.Topic, topic)
		}
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
		if n := len(r.HTML); n < 600 || n > 1100 {
			t.Errorf("HTML is %d bytes, want about 800 to 1,000", n)
		}
		if n := len(r.Text); n < 250 || n > 550 {
			t.Errorf("text is %d bytes, want about 400:\n%s", n, r.Text)
		}
		for _, unwanted := range []string{"<style", "<table", "class=", "cdn.acme.test"} {
			if strings.Contains(r.HTML, unwanted) {
				t.Errorf("HTML has %q", unwanted)
			}
		}
		for _, want := range []string{"I'm Sam", "Just reply", "Unsubscribe (https://links.acme.test/u/tok123)"} {
			if !strings.Contains(unwrap(r.Text), want) {
				t.Errorf("text lacks %q:\n%s", want, r.Text)
			}
		}
	}
	d := full()
	d.Contact.Attributes = map[string]any{"account_manager": "Grace <Hopper>"}
	r, err := s.Render("check-in", d)
	require.NoError(t, err, "Render")
	if !strings.Contains(r.HTML, "I'm Grace &lt;Hopper&gt;") || !strings.Contains(r.Text, "Grace <Hopper>\n") {
		t.Errorf("the sender's name is not shown as text:\n%s\n%s", r.HTML, r.Text)
	}
}
