package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/nurture-email/nurture"
)

// embedded holds the templates that ship with the binary ("all:" because
// the shared files start with an underscore).
//
//go:embed all:mail
var embedded embed.FS

// Where the files of a Set live, relative to the root of its file system.
const (
	mailDir     = "mail"
	layoutFile  = "mail/_layout.html"
	partialsDir = "mail/_partials"
	// Other pages an email may choose with its "page" block: the file
	// mail/_layout-NAME.html defines "layout-NAME".
	otherLayouts = "mail/_layout-*.html"
)

// Set is a parsed and checked collection of email templates. It is safe for
// concurrent use and never changes after Load returns it.
type Set struct {
	mails    map[string]*mail
	names    []string // sorted
	subjects *subjects
}

// mail is one email template, ready to execute.
type mail struct {
	name         string
	topic        nurture.Topic
	track        trackMode
	hasPreheader bool
	lines        *texttemplate.Template  // the .html file parsed as text: "subject" and "preheader"
	html         *htmltemplate.Template  // "layout", in a namespace holding the partials and the file's blocks
	text         *texttemplate.Template  // the .txt file, or nil to generate the text from the HTML
	styles       *styleCache             // shared by the mails of a Set
	cascade      atomic.Pointer[cascade] // the stylesheets of its last email, with what they gave its elements
	size         atomic.Int64            // a little more than the largest HTML so far: the buffer to start with
}

// Default returns the templates embedded in the binary. It parses them on
// each call: keep the Set.
func Default() (*Set, error) {
	return Load(embedded)
}

// Load parses every template under mail/ in fsys (see the package comment for
// the layout of the files) and tries each with sample data, so that a syntax
// error, a missing block, a topic that is not one of the five or a mistake
// that only shows when executing is reported now. Every problem found is
// reported, each prefixed with the name of its file.
//
// To let operators replace the embedded templates with their own, pass
// os.DirFS of a directory laid out like the embedded one.
func Load(fsys fs.FS) (*Set, error) {
	base, err := parseBase(fsys)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, mailDir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", mailDir, err)
	}
	htmlNames := map[string]bool{}
	var errs []error
	var texts []string
	for _, e := range entries {
		file := path.Join(mailDir, e.Name())
		ext := path.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext)
		if e.IsDir() || (ext != ".html" && ext != ".txt") || file == layoutFile {
			continue
		}
		if ok, _ := path.Match(otherLayouts, file); ok {
			continue
		}
		if err := checkName(name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		if ext == ".html" {
			htmlNames[name] = true
		} else {
			texts = append(texts, name)
		}
	}
	for _, name := range texts {
		if !htmlNames[name] {
			errs = append(errs, fmt.Errorf("%s/%s.txt: there is no %s.html beside it", mailDir, name, name))
		}
	}

	s := &Set{mails: make(map[string]*mail, len(htmlNames)), subjects: &subjects{}}
	styles := &styleCache{}
	for name := range htmlNames {
		m, err := loadMail(fsys, base, styles, name, slices.Contains(texts, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mails[name] = m
		s.names = append(s.names, name)
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}
	if len(s.names) == 0 {
		return nil, fmt.Errorf("%s: no email templates", mailDir)
	}
	slices.Sort(s.names)
	return s, nil
}

// Topic returns the topic the template called name declares, without
// rendering it: what an unsubscribe needs to cancel the right messages. ok
// is false when the set has no such template.
func (s *Set) Topic(name string) (topic nurture.Topic, ok bool) {
	m, ok := s.mails[name]
	if !ok {
		return "", false
	}
	return m.topic, true
}

// Names returns the names of the templates, sorted.
func (s *Set) Names() []string {
	return slices.Clone(s.names)
}

// parseBase parses the layout and the partials that every email shares.
func parseBase(fsys fs.FS) (*htmltemplate.Template, error) {
	src, err := fs.ReadFile(fsys, layoutFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layoutFile, err)
	}
	base, err := htmltemplate.New(layoutFile).Funcs(funcs()).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layoutFile, err)
	}
	if err := onlyDefines(base.Tree); err != nil {
		return nil, fmt.Errorf("%s: %w", layoutFile, err)
	}
	if base.Lookup("layout") == nil {
		return nil, fmt.Errorf("%s: no {{define \"layout\"}} block", layoutFile)
	}
	layouts, err := fs.Glob(fsys, otherLayouts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mailDir, err)
	}
	for _, file := range layouts {
		if err := parseDefines(base, fsys, file); err != nil {
			return nil, err
		}
		name := "layout-" + strings.TrimSuffix(strings.TrimPrefix(path.Base(file), "_layout-"), ".html")
		if base.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: no {{define %q}} block", file, name)
		}
	}
	partials, err := fs.Glob(fsys, partialsDir+"/*.html")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", partialsDir, err)
	}
	for _, file := range partials {
		if err := parseDefines(base, fsys, file); err != nil {
			return nil, err
		}
	}
	return base, nil
}

// loadMail parses mail/<name>.html (and mail/<name>.txt when hasText) and
// checks the result by rendering the samples.
func loadMail(fsys fs.FS, base *htmltemplate.Template, styles *styleCache, name string, hasText bool) (*mail, error) {
	file := path.Join(mailDir, name+".html")
	m, err := parseMail(fsys, base, name, hasText)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	m.styles = styles
	for _, d := range samples() {
		if _, err := m.render(d, nil); err != nil {
			return nil, fmt.Errorf("%s: with sample data: %w", file, err)
		}
	}
	return m, nil
}

func parseMail(fsys fs.FS, base *htmltemplate.Template, name string, hasText bool) (*mail, error) {
	file := path.Join(mailDir, name+".html")
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	src := string(raw)
	m := &mail{name: name}

	// The same source twice: as text for the lines that go in headers, as
	// HTML for the body. Both parsers share one grammar, so one error is
	// reported once.
	m.lines, err = parseText(file, src)
	if err != nil {
		return nil, err
	}
	if err := onlyDefines(m.lines.Tree); err != nil {
		return nil, err
	}
	for _, block := range []string{"subject", "topic", "body"} {
		if m.lines.Lookup(block) == nil {
			return nil, fmt.Errorf("no {{define %q}} block", block)
		}
	}
	m.hasPreheader = m.lines.Lookup("preheader") != nil
	var topic strings.Builder
	if err := m.lines.ExecuteTemplate(&topic, "topic", &view{}); err != nil {
		return nil, fmt.Errorf("topic: %w", err)
	}
	m.topic = nurture.Topic(strings.TrimSpace(topic.String()))
	if !m.topic.Valid() {
		return nil, fmt.Errorf("topic %q is not one of %s, %s, %s, %s or %s", m.topic,
			nurture.TopicOnboarding, nurture.TopicEducation, nurture.TopicProduct, nurture.TopicMarketing, nurture.TopicTransactional)
	}

	m.track = trackAll
	if m.lines.Lookup("tracking") != nil {
		var mode strings.Builder
		if err := m.lines.ExecuteTemplate(&mode, "tracking", &view{}); err != nil {
			return nil, fmt.Errorf("tracking: %w", err)
		}
		if m.track, err = parseTrackMode(mode.String()); err != nil {
			return nil, err
		}
	}

	layout := "layout"
	if m.lines.Lookup("page") != nil {
		var page strings.Builder
		if err := m.lines.ExecuteTemplate(&page, "page", &view{}); err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
		if p := strings.TrimSpace(page.String()); p != "" && p != "default" {
			layout = "layout-" + p
		}
	}

	t, err := base.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := t.New(file).Parse(src); err != nil {
		return nil, err
	}
	if m.html = t.Lookup(layout); m.html == nil || layout == "layout-" {
		return nil, fmt.Errorf("page %q: there is no %s/_%s.html defining {{define %q}}", strings.TrimPrefix(layout, "layout-"), mailDir, layout, layout)
	}
	p := &partials{html: t}
	t.Funcs(htmltemplate.FuncMap{"partial": p.call})

	if hasText {
		textFile := path.Join(mailDir, name+".txt")
		raw, err := fs.ReadFile(fsys, textFile)
		if err != nil {
			return nil, err
		}
		m.text, err = parseText(textFile, string(raw))
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// onlyDefines reports text or actions outside {{define}} blocks: they would
// be silently ignored, which is never what the author meant.
func onlyDefines(tree *parse.Tree) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	for _, n := range tree.Root.Nodes {
		if t, ok := n.(*parse.TextNode); ok && strings.TrimSpace(string(t.Text)) == "" {
			continue
		}
		line, _ := tree.ErrorContext(n)
		return fmt.Errorf("%s: content outside a {{define}} block", line)
	}
	return nil
}

// checkName accepts lower case letters, digits, '-' and '_', not first.
func checkName(name string) error {
	if name == "" || name[0] == '_' || name[0] == '-' {
		return errors.New("a template name starts with a letter or a digit (names starting with _ are reserved)")
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return fmt.Errorf("a template name is made of a-z, 0-9, - and _, not %q", r)
		}
	}
	return nil
}

// samples are the data every template is tried with at load time: someone
// we know well, tracked as a real send would be, and someone we know
// nothing about, in a preview.
func samples() []Data {
	product := nurture.Product{Name: "Example", URL: "https://app.example.com/", Address: "1 Example Street, Springfield", AssetsURL: "https://cdn.example.com/email/"}
	seen := time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)
	return []Data{
		{
			Contact: nurture.Contact{
				ID: 1, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
				Company: "Example & Co", Industry: "Software", Title: "Engineer", Role: "Engineering", Department: "R&D",
				TeamSize: "11-50", TimeZone: "Europe/London", Locale: "en-GB",
				Attributes: map[string]any{"plan": "pro", "seats": 5.0},
			},
			Company:    Company{Domain: "example.com", Description: "Makes examples."},
			Engagement: nurture.EngagementSummary{FirstSeen: seen.AddDate(0, -2, 0), LastSeen: seen, PageViews: 12, Actions: map[string]int64{"Project Created": 2}},
			Message:    MessageInfo{ID: 1, Sequence: "onboarding", Step: "day-1", Campaign: "2025-03-newsletter"},
			Links: Links{
				Unsubscribe:   "https://links.example.com/u/token",
				Preferences:   "https://links.example.com/u/token?preferences",
				ViewInBrowser: "https://links.example.com/v/token",
			},
			Product: product,
			Track: &Tracking{
				Click:     func(i int, target string) string { return "https://links.example.com/c/" + strconv.Itoa(i) },
				OpenPixel: "https://links.example.com/o/token",
			},
		},
		{Contact: nurture.Contact{Email: "someone@example.com"}, Product: product},
	}
}

// parseText parses a template executed as plain text: the subject and
// preheader, or a hand-written text body.
func parseText(name, src string) (*texttemplate.Template, error) {
	fm := funcs()
	fm[quietFunc] = quiet
	t, err := texttemplate.New(name).Funcs(fm).Parse(src)
	if err != nil {
		return nil, err
	}
	for _, tmpl := range t.Templates() {
		if tmpl.Tree != nil {
			quietActions(tmpl.Root)
		}
	}
	return t, nil
}

// quietFunc is the function quietActions adds to the end of each printing
// action of a text template.
const quietFunc = "_quiet"

// quiet turns a missing value (an attribute the product never sent, say)
// into nothing, as html/template prints it, where text/template would print
// "<no value>".
func quiet(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// quietActions appends quiet to every action under list that prints, the
// way html/template appends its escapers.
func quietActions(list *parse.ListNode) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				id := parse.NewIdentifier(quietFunc).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
			}
		case *parse.IfNode:
			quietActions(n.List)
			quietActions(n.ElseList)
		case *parse.RangeNode:
			quietActions(n.List)
			quietActions(n.ElseList)
		case *parse.WithNode:
			quietActions(n.List)
			quietActions(n.ElseList)
		}
	}
}

// parseDefines adds the blocks of file, which may hold nothing but
// {{define}}s, to base.
func parseDefines(base *htmltemplate.Template, fsys fs.FS, file string) error {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	t, err := base.New(file).Parse(string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := onlyDefines(t.Tree); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
