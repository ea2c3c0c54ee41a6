package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/nurture-email/nurture"
)

func TestRenderWelcomePersonalisation(t *testing.T) {
	t.Parallel()
	s := setup(t)

	tests := []struct {
		name         string
		edit         func(d *Data)
		subject      string
		preheader    string
		inBoth       []string // in the HTML (escaped) and in the text
		notInBoth    []string
		textContains []string
	}{
		{
			name:      "known contact",
			edit:      func(d *Data) {},
			subject:   "Welcome to Acme Cloud, Ada",
			preheader: "Three quick steps to get Analytical Engines up and running.",
			inBoth:    []string{"Hi Ada,", "set up for the Analytical Engines team", "Bring the rest of the Analytical Engines team in", "Thanks for signing up for Acme Cloud.", "The Acme Cloud team", "Acme Inc., 500 Market St, San Francisco, CA 94105, USA"},
			notInBoth: []string{"Hi there,", "ready to go"},
			textContains: []string{
				"Get started (https://app.acme.test/start)",
				"Unsubscribe (https://links.acme.test/u/tok123)",
				"Email preferences (https://links.acme.test/u/tok123?view=preferences&x=1)",
				"View in browser (https://links.acme.test/v/tok123)",
			},
		},
		{
			name:      "nothing known",
			edit:      func(d *Data) { d.Contact = nurture.Contact{Email: "x@example.com"} },
			subject:   "Welcome to Acme Cloud",
			preheader: "Three quick steps to get your team up and running.",
			inBoth:    []string{"Hi there,", "Your account is ready to go.", "Bring the people you work with in"},
			notInBoth: []string{"set up for the", "Hi ,", "<no value>"},
		},
		{
			name:      "blank names count as unknown",
			edit:      func(d *Data) { d.Contact.FirstName, d.Contact.Company = " \t ", "\n" },
			subject:   "Welcome to Acme Cloud",
			preheader: "Three quick steps to get your team up and running.",
			inBoth:    []string{"Hi there,", "Your account is ready to go."},
			notInBoth: []string{"set up for the"},
		},
		{
			name:      "first name is trimmed and kept on one line",
			edit:      func(d *Data) { d.Contact.FirstName = "  Mary \n Ann " },
			subject:   "Welcome to Acme Cloud, Mary Ann",
			preheader: "Three quick steps to get Analytical Engines up and running.",
			inBoth:    []string{"Hi Mary Ann,"},
		},
		{
			name:      "first name without company",
			edit:      func(d *Data) { d.Contact.Company = "" },
			subject:   "Welcome to Acme Cloud, Ada",
			preheader: "Three quick steps to get your team up and running.",
			inBoth:    []string{"Hi Ada,", "Your account is ready to go."},
		},
		{
			name:      "company without first name",
			edit:      func(d *Data) { d.Contact.FirstName = "" },
			subject:   "Welcome to Acme Cloud",
			preheader: "Three quick steps to get Analytical Engines up and running.",
			inBoth:    []string{"Hi there,", "set up for the Analytical Engines team"},
		},
		{
			name:      "ampersand and apostrophe stay plain in subject and preheader",
			edit:      func(d *Data) { d.Product.Name = "Ben & Jerry's"; d.Contact.Company = "Ben & Jerry's" },
			subject:   "Welcome to Ben & Jerry's, Ada",
			preheader: "Three quick steps to get Ben & Jerry's up and running.",
			inBoth:    []string{"set up for the Ben & Jerry's team"},
		},
		{
			name:      "no product name, links or address",
			edit:      func(d *Data) { d.Product = nurture.Product{}; d.Links = Links{} },
			subject:   "Welcome aboard, Ada",
			preheader: "Three quick steps to get Analytical Engines up and running.",
			inBoth:    []string{"Thanks for signing up.", "The team"},
			notInBoth: []string{"Unsubscribe", "preferences", "View in browser", "Get started", "because you signed up for"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := data(ada())
			tt.edit(&d)
			r, err := s.Render("welcome", d)
			require.NoError(t, err, "Render")
			require.Equal(t, tt.subject, r.Subject, "subject")
			require.Equal(t, tt.preheader, r.Preheader, "preheader")
			require.Equal(t, nurture.TopicOnboarding, r.Topic, "topic")
			for _, want := range tt.inBoth {
				require.Contains(t, r.HTML, html.EscapeString(want), "HTML")
				require.Contains(t, unwrap(r.Text), want, "text")
			}
			for _, unwanted := range tt.notInBoth {
				require.NotContains(t, r.HTML, html.EscapeString(unwanted), "HTML")
				require.NotContains(t, unwrap(r.Text), unwanted, "text")
			}
			for _, want := range tt.textContains {
				require.Contains(t, unwrap(r.Text), want, "text")
			}
			require.Contains(t, r.HTML, "<title>"+html.EscapeString(tt.subject)+"</title>", "HTML title is not the subject")
			require.True(t, strings.HasSuffix(r.Text, "\n"), "text does not end with a newline: %q", r.Text[max(0, len(r.Text)-20):])
			require.False(t, strings.HasSuffix(r.Text, "\n\n"), "text ends with more than one newline: %q", r.Text[max(0, len(r.Text)-20):])
		})
	}
}

// unwrap undoes the wrapping of generated text, so tests can look for
// phrases wherever the lines were broken.
func unwrap(text string) string {
	return strings.Join(strings.Fields(text), " ")
}

// hostile are values a contact could send as their name or company.
var hostile = []string{
	`<script>alert(1)</script>`,
	`" onmouseover="x`,
	`' onmouseover='x`,
	`"><img src=x onerror=alert(1)>`,
	`javascript:alert(1)`,
	`</title><script>alert(1)</script>`,
	`{{.Links.Unsubscribe}}`,
}

// attrProbe puts contact data in every context an author might: text,
// quoted and unquoted attributes, URLs and a query string.
const attrProbe = `{{define "subject"}}Hello {{.Contact.FirstName}} at {{.Contact.Company}}{{end}}
{{define "topic"}}product{{end}}
{{define "body"}}
<p title="{{.Contact.FirstName}}" data-company='{{.Contact.Company}}' class={{.Contact.FirstName}}>{{.Contact.FirstName}}</p>
<a href="https://app.acme.test/?name={{.Contact.FirstName}}&company={{.Contact.Company}}">profile</a>
<a href="{{.Contact.Company}}">site</a>
<img alt="{{.Contact.FirstName}}" src="https://cdn.acme.test/x.png">
{{end}}`

func TestRenderEscapesContactData(t *testing.T) {
	t.Parallel()
	probe, err := Load(fsWith(t, map[string]string{"mail/probe.html": attrProbe}))
	require.NoError(t, err, "Load")
	for _, name := range append([]string{"probe"}, starters...) {
		for _, v := range hostile {
			for _, tracked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/tracked=%v", name, v, tracked), func(t *testing.T) {
					t.Parallel()
					d := data(ada())
					if tracked {
						d = full()
					}
					d.Contact.FirstName, d.Contact.Company = v, v
					r, err := probe.Render(name, d)
					require.NoError(t, err, "Render")
					checkSafeHTML(t, r.HTML)
					if name != "probe" {
						require.Contains(t, r.HTML, html.EscapeString(v), "HTML does not show %q as text", v)
					}
					require.Contains(t, unwrap(r.Text), v, "text does not show %q as it is", v)
				})
			}
		}
	}
}

// checkSafeHTML fails unless the document has no script, no event handler
// attribute and no link or source that runs code.
func checkSafeHTML(t *testing.T, src string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	require.NoError(t, err, "parse rendered HTML")
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			require.NotEqual(t, "script", n.Data, "rendered HTML has a <script> element")
			for _, a := range n.Attr {
				require.False(t, strings.HasPrefix(a.Key, "on"), "<%s> has an event handler attribute %s=%q", n.Data, a.Key, a.Val)
				if a.Key == "href" || a.Key == "src" {
					require.False(t, strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"), "<%s %s=%q> runs code", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tests := []struct {
		first string
		want  string
	}{
		{"Ada\r\nBcc: victim@example.com", "Welcome to Acme Cloud, Ada Bcc: victim@example.com"},
		{"Ada\nSubject: other", "Welcome to Acme Cloud, Ada Subject: other"},
		{"Ada\rX-Header: 1", "Welcome to Acme Cloud, Ada X-Header: 1"},
		{"Ada\x00\x07\x1b[31m", "Welcome to Acme Cloud, Ada [31m"},
		{"\tAda\u2028Lovelace\u2029", "Welcome to Acme Cloud, Ada Lovelace"},
		{"Ada\u202eecil", "Welcome to Acme Cloud, Adaecil"},
		{"Ad\xffa", "Welcome to Acme Cloud, Ada"},
		{"\r\n", "Welcome to Acme Cloud"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.first), func(t *testing.T) {
			t.Parallel()
			d := data(ada())
			d.Contact.FirstName = tt.first
			r, err := s.Render("welcome", d)
			require.NoError(t, err, "Render")
			require.Equal(t, tt.want, r.Subject, "subject")
			require.False(t, strings.ContainsAny(r.Subject+r.Preheader, "\r\n"), "a line break reached subject %q or preheader %q", r.Subject, r.Preheader)
		})
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	t.Parallel()
	s := setup(t)
	_, err := s.Render("no-such-thing", data(ada()))
	require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err), "error code (%v)", err)
	require.ErrorContains(t, err, `"no-such-thing"`, "error does not name the template")
}

func TestRenderFailureIsInvalid(t *testing.T) {
	t.Parallel()
	// Fine with the samples Load tries, empty for a contact called Zed.
	s, err := Load(fsWith(t, map[string]string{"mail/picky.html": `
{{define "subject"}}{{if ne .Contact.FirstName "Zed"}}Hello{{end}}{{end}}
{{define "topic"}}product{{end}}
{{define "body"}}<p>Hi</p>{{end}}`}))
	require.NoError(t, err, "Load")
	_, err = s.Render("picky", Data{Contact: nurture.Contact{FirstName: "Zed"}})
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "error code (%v)", err)
	require.ErrorContains(t, err, "picky", "error does not say which template")
	require.ErrorContains(t, err, "subject is empty", "error does not say what went wrong")
}

func TestRenderHandWrittenText(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{
		"mail/note.html": `{{define "subject"}}A note for {{.Contact.Company | default "you"}}{{end}}
{{define "topic"}}transactional{{end}}
{{define "body"}}<p>Hello {{firstName .Contact | default "there"}} &amp; welcome</p>{{end}}`,
		"mail/note.txt": "\r\n\r\nHello {{firstName .Contact | default \"there\"}} & welcome   \r\n" +
			"Plan: {{attr .Contact \"plan\" | default \"free\"}}, seats: [{{.Contact.Attributes.seats}}]\r\n" +
			"Message {{.Message.ID}} ({{.Message.Template}}): {{.Subject}}\r\n" +
			"{{with .Links.Unsubscribe}}Unsubscribe: {{.}}{{end}}\r\n\r\n\r\n",
	}))
	require.NoError(t, err, "Load")
	d := data(ada())
	d.Contact.Company = "Ben & Jerry's"
	r, err := s.Render("note", d)
	require.NoError(t, err, "Render")
	want := "Hello Ada & welcome\n" +
		"Plan: pro, seats: []\n" +
		"Message 7 (note): A note for Ben & Jerry's\n" +
		"Unsubscribe: https://links.acme.test/u/tok123\n"
	require.Equal(t, want, r.Text, "text")
	require.Equal(t, nurture.TopicTransactional, r.Topic, "topic")
	require.Empty(t, r.Preheader, "preheader")
	require.NotContains(t, r.HTML, `class="preheader"`, "HTML has a preheader block though the template has none")
}

func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	s := setup(t)
	want, err := s.Render("newsletter", full())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				r, err := s.Render("newsletter", full())
				if err != nil {
					t.Error(err)
					return
				}
				if *r != *want {
					t.Error("concurrent renders differ")
					return
				}
			}
		})
	}
	wg.Wait()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./templates -update to create it")
	require.Equal(t, string(want), got, "%s differs from the output; if the change is meant, run go test ./templates -update and review the diff", path)
}

func FuzzRender(f *testing.F) {
	s, err := Default()
	require.NoError(f, err)
	f.Add("Ada", "Lovelace", "Analytical Engines", "pro")
	f.Add("", "", "", "")
	f.Add("<script>alert(1)</script>", `" onmouseover="x`, "Ben & Jerry's", "{{.}}")
	f.Add("Ada\r\nBcc: x@example.com", "\x00", "\u202e\u2028", "\xff\xfe")
	f.Fuzz(func(t *testing.T, first, last, company, plan string) {
		d := full()
		c := &d.Contact
		c.FirstName, c.LastName, c.Company, c.Attributes = first, last, company, map[string]any{"plan": plan}
		c.Title, c.Role, c.TeamSize, c.Industry, c.TimeZone, c.Locale = last, company, plan, plan, plan, last
		name := starters[len(first+last+company+plan)%len(starters)]
		r, err := s.Render(name, d)
		require.NoError(t, err, "Render(%s)", name)
		require.Equal(t, 1, strings.Count(r.HTML, `src="https://links.test/o/pixel.gif"`), "open pixels")
		for _, href := range hrefsOf(t, r.HTML) {
			require.False(t, strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "https://links.test/c/") && !strings.HasPrefix(href, "https://links.acme.test/"), "untracked link %q", href)
		}
		require.False(t, strings.ContainsAny(r.Subject, "\r\n") || strings.ContainsAny(r.Preheader, "\r\n"), "line break in subject %q or preheader %q", r.Subject, r.Preheader)
		require.NotEmpty(t, r.Subject, "empty subject")
		require.NotContains(t, strings.ToLower(r.HTML), "<script", "a <script> tag reached the HTML")
		require.NotContains(t, r.Text, "\r", "CR in text body")

	})
}

// BenchmarkRenderWelcome and BenchmarkRenderNewsletter render a tracked
// email as a send does: execute, inline the CSS, rewrite the links, add the
// pixel, write the HTML and the text.
func BenchmarkRenderWelcome(b *testing.B) {
	benchmarkRender(b, "welcome")
}

func BenchmarkRenderNewsletter(b *testing.B) {
	benchmarkRender(b, "newsletter")
}

// BenchmarkRenderCheckIn renders the small personal note (about 2 KB on
// the wire), the message of the small-email send benchmark.
func BenchmarkRenderCheckIn(b *testing.B) {
	benchmarkRender(b, "check-in")
}

func benchmarkRender(b *testing.B, name string) {
	s := setup(b)
	d := full()
	d.Track = &Tracking{
		Click: func(i int, target string) string {
			return "https://links.acme.test/c/" + strconv.Itoa(i) + "/AQIDBAUGBwgJCgsMDQ4PEA"
		},
		OpenPixel: "https://links.acme.test/o/AQIDBAUGBwgJCgsMDQ4PEA",
	}
	r, err := s.Render(name, d)
	require.NoError(b, err)
	b.SetBytes(int64(len(r.HTML) + len(r.Text)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		_, err := s.Render(name, d)
		require.NoError(b, err)

	}
	reportCPU(b, cpu)
}

// reportCPU reports the CPU time the process used since cpu, per
// operation (garbage collection included): on a machine that other work
// keeps busy it moves much less than the wall-clock ns/op.
func reportCPU(b *testing.B, cpu int64) {
	if now := processCPU(); now > 0 {
		b.ReportMetric(float64(now-cpu)/float64(b.N), "cpu-ns/op")
	}
}
