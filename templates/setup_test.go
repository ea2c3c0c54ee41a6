package templates

import (
	"flag"
	"io/fs"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// setup returns the embedded templates.
func setup(t testing.TB) *Set {
	t.Helper()
	s, err := Default()
	require.NoError(t, err, "Default")
	return s
}

// fsWith returns a file system holding the embedded layout and partials and
// the given files, which replace any file of the same name; a file whose
// content is "" is removed.
func fsWith(t testing.TB, files map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(embedded, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(embedded, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	require.NoError(t, err)
	for name, content := range files {
		if content == "" {
			delete(m, name)
			continue
		}
		m[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return m
}

// starters are the templates that ship with the binary, sorted.
var starters = []string{"check-in", "demo-offer", "feature-automation", "feature-education", "feature-integrations", "feature-reports",
	"newsletter", "onboarding-tips", "re-engagement", "welcome"}

// system are the templates the system itself sends, besides the starters.
var system = []string{"confirm-opt-in", "data-export"}

// shipped are all the templates that ship with the binary, sorted.
func shipped() []string {
	return slices.Sorted(slices.Values(append(slices.Clone(starters), system...)))
}

// withoutStarters returns the files argument of fsWith that removes every
// template that ships with the binary.
func withoutStarters() map[string]string {
	m := map[string]string{}
	for _, name := range shipped() {
		m["mail/"+name+".html"] = ""
	}
	return m
}

// ada is a contact we know well.
func ada() nurture.Contact {
	return nurture.Contact{
		ID: 42, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Company: "Analytical Engines", Title: "Mathematician",
		Attributes: map[string]any{"plan": "pro"},
	}
}

// data returns the Data of a welcome email to c from Acme Cloud, with every link.
func data(c nurture.Contact) Data {
	return Data{
		Contact: c,
		Message: MessageInfo{ID: 7},
		Links: Links{
			Unsubscribe:   "https://links.acme.test/u/tok123",
			Preferences:   "https://links.acme.test/u/tok123?view=preferences&x=1",
			ViewInBrowser: "https://links.acme.test/v/tok123",
			Confirm:       "https://links.acme.test/k/tok123",
		},
		Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.test/start", Address: "Acme Inc., 500 Market St, San Francisco, CA 94105, USA"},
	}
}

// full returns the Data of an email to a contact we know everything about,
// tracked as the golden files are: link i leads to https://links.test/c/{i}.
func full() Data {
	d := data(nurture.Contact{
		ID: 42, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Company: "Analytical Engines", Industry: "Manufacturing", Title: "Head of Engineering",
		Role: "Engineering", Department: "R&D", TeamSize: "11-50", Region: "England",
		Country: "GB", TimeZone: "Europe/London", Locale: "en-GB",
		Attributes: map[string]any{"plan": "pro"},
	})
	d.Company = Company{Domain: "analytical-engines.test", Description: "Builds engines that compute."}
	d.Engagement = nurture.EngagementSummary{
		FirstSeen: time.Date(2025, 2, 24, 9, 15, 0, 0, time.UTC),
		LastSeen:  time.Date(2025, 3, 5, 22, 30, 0, 0, time.UTC),
		PageViews: 31,
		Actions:   map[string]int64{"Project Created": 3, "teammate_invited": 1},
	}
	d.Message = MessageInfo{ID: 7, Sequence: "onboarding", Step: "day-3", Campaign: "2025-03-newsletter"}
	d.Product.AssetsURL = "https://cdn.acme.test/email/"
	d.Track = goldenTracking()
	return d
}

// unknown returns the Data of a tracked email to a contact we know nothing
// about but the address.
func unknown() Data {
	d := full()
	d.Contact = nurture.Contact{ID: 43, Email: "someone@example.com"}
	d.Company = Company{}
	d.Engagement = nurture.EngagementSummary{}
	return d
}

// goldenTracking leads link i to https://links.test/c/{i}.
func goldenTracking() *Tracking {
	return &Tracking{
		Click:     func(i int, target string) string { return "https://links.test/c/" + strconv.Itoa(i) },
		OpenPixel: "https://links.test/o/pixel.gif",
	}
}

// clicks records the calls to a Tracking's Click.
type clicks struct {
	mu      sync.Mutex
	targets []string // by index
	bad     []string // calls out of order
}

func (c *clicks) tracking() *Tracking {
	return &Tracking{
		Click: func(i int, target string) string {
			c.mu.Lock()
			defer c.mu.Unlock()
			if i != len(c.targets) {
				c.bad = append(c.bad, strconv.Itoa(i)+" "+target)
			}
			c.targets = append(c.targets, target)
			return "https://links.test/c/" + strconv.Itoa(i)
		},
		OpenPixel: "https://links.test/o/pixel.gif",
	}
}
