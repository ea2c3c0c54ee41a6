package templates

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.Equal(t, shipped(), s.Names(), "Names()")
	// Names returns a copy: changing it changes nothing in the set.
	s.Names()[0] = "changed"
	require.Equal(t, shipped()[0], s.Names()[0], "Names() exposes the set's own slice")
	for _, name := range s.Names() {
		_, err := s.Render(name, data(ada()))
		require.NoError(t, err, "Render(%q)", name)
	}
}

// good is a minimal valid email template.
const good = `{{define "subject"}}Hi{{end}}{{define "topic"}}education{{end}}{{define "body"}}<p>Hi</p>{{end}}`

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // every fragment must be in the error
	}{
		{
			name:  "topic not one of the five",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}spam{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", `topic "spam" is not one of`},
		},
		{
			name:  "empty topic",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", `topic "" is not one of`},
		},
		{
			name:  "tracking not one of the four",
			files: map[string]string{"mail/bad.html": good + `{{define "tracking"}}sometimes{{end}}`},
			want:  []string{"mail/bad.html", `tracking "sometimes" is not one of all, clicks, opens or none`},
		},
		{
			name:  "missing subject",
			files: map[string]string{"mail/bad.html": `{{define "topic"}}product{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", `no {{define "subject"}} block`},
		},
		{
			name:  "missing topic",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", `no {{define "topic"}} block`},
		},
		{
			name:  "missing body",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}product{{end}}`},
			want:  []string{"mail/bad.html", `no {{define "body"}} block`},
		},
		{
			name:  "subject empty even for a known contact",
			files: map[string]string{"mail/bad.html": `{{define "subject"}} {{.Contact.Attributes.nothing}} {{end}}{{define "topic"}}product{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", "subject is empty"},
		},
		{
			name:  "syntax error",
			files: map[string]string{"mail/bad.html": "{{define \"subject\"}}Hi{{end}}\n{{define \"topic\"}}product{{end}}\n{{define \"body\"}}{{.Contact.FirstName}{{end}}"},
			want:  []string{"mail/bad.html", "bad.html:3"},
		},
		{
			name:  "unknown function",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}{{shout .Contact.FirstName}}{{end}}{{define "topic"}}product{{end}}{{define "body"}}x{{end}}`},
			want:  []string{"mail/bad.html", `function "shout" not defined`},
		},
		{
			name:  "misspelt field, found by the trial render",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}product{{end}}{{define "body"}}{{.Contact.FristName}}{{end}}`},
			want:  []string{"mail/bad.html", "with sample data", "FristName"},
		},
		{
			name:  "HTML that html/template cannot escape",
			files: map[string]string{"mail/bad.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}product{{end}}{{define "body"}}<a href="{{.Product.URL}}{{end}}`},
			want:  []string{"mail/bad.html", "with sample data"},
		},
		{
			name:  "content outside a define block",
			files: map[string]string{"mail/bad.html": good + "\n<p>lost</p>\n"},
			want:  []string{"mail/bad.html", "content outside a {{define}} block"},
		},
		{
			name:  "template name with capitals",
			files: map[string]string{"mail/Bad.html": good},
			want:  []string{"mail/Bad.html", "a template name is made of"},
		},
		{
			name:  "reserved name",
			files: map[string]string{"mail/_extra.html": good},
			want:  []string{"mail/_extra.html", "reserved"},
		},
		{
			name:  "text body without an HTML one",
			files: map[string]string{"mail/orphan.txt": "Hello"},
			want:  []string{"mail/orphan.txt", "no orphan.html"},
		},
		{
			name:  "syntax error in a text body",
			files: map[string]string{"mail/bad.html": good, "mail/bad.txt": "Hello {{.Contact.FirstName"},
			want:  []string{"mail/bad.html", "mail/bad.txt:1"},
		},
		{
			name:  "missing layout",
			files: map[string]string{"mail/_layout.html": ""},
			want:  []string{"mail/_layout.html", "file does not exist"},
		},
		{
			name:  "layout without a layout block",
			files: map[string]string{"mail/_layout.html": `{{define "page"}}{{template "body" .}}{{end}}`},
			want:  []string{"mail/_layout.html", `no {{define "layout"}} block`},
		},
		{
			name:  "syntax error in a partial",
			files: map[string]string{"mail/_partials/button.html": `{{define "button"}}{{if}}{{end}}`},
			want:  []string{"mail/_partials/button.html", "missing value for if"},
		},
		{
			name:  "no templates",
			files: withoutStarters(),
			want:  []string{"mail: no email templates"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(fsWith(t, tt.files))
			require.Error(t, err, "Load accepted it")
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestLoadReportsEveryBadFile(t *testing.T) {
	t.Parallel()
	_, err := Load(fsWith(t, map[string]string{
		"mail/one.html": `{{define "subject"}}Hi{{end}}{{define "topic"}}spam{{end}}{{define "body"}}x{{end}}`,
		"mail/two.html": `{{define "topic"}}product{{end}}{{define "body"}}x{{end}}`,
	}))
	require.Error(t, err, "Load accepted two bad templates")
	for _, file := range []string{"mail/one.html", "mail/two.html"} {
		require.ErrorContains(t, err, file, "error does not name %s", file)
	}
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, f := range fsWith(t, map[string]string{
		"mail/reset.html": strings.Replace(good, "education", "transactional", 1),
		"mail/README.md":  "Files other than .html and .txt are ignored.",
	}) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, f.Data, 0o644))
	}
	s, err := Load(os.DirFS(dir))
	require.NoError(t, err, "Load")
	require.Equal(t, slices.Sorted(slices.Values(append([]string{"reset"}, shipped()...))), s.Names(), "Names()")
	r, err := s.Render("reset", Data{})
	require.NoError(t, err, "Render")
	require.Equal(t, nurture.TopicTransactional, r.Topic, "topic")
	require.Equal(t, "Hi", r.Subject, "subject")
	require.Equal(t, "Hi\n", r.Text, "text")
}

func TestTopicValid(t *testing.T) {
	t.Parallel()
	for _, topic := range []nurture.Topic{nurture.TopicOnboarding, nurture.TopicEducation, nurture.TopicProduct, nurture.TopicMarketing, nurture.TopicTransactional} {
		require.True(t, topic.Valid(), "%q is not valid", topic)
	}
	for _, topic := range []nurture.Topic{"", "Marketing", "spam", " onboarding"} {
		require.False(t, topic.Valid(), "%q is valid", topic)
	}
}

// TestLoadPage checks that an email can choose another page than the
// layout, and that a page nobody defines is reported at load time.
func TestLoadPage(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{
		"mail/_layout-bare.html": `{{define "layout-bare"}}<html><body><main>{{template "body" .}}</main></body></html>{{end}}`,
		"mail/bare.html":         good + `{{define "page"}}bare{{end}}`,
		"mail/plain.html":        good + `{{define "page"}} default {{end}}`,
	}))
	require.NoError(t, err, "Load")
	r, err := s.Render("bare", data(ada()))
	require.NoError(t, err, "Render")
	require.True(t, strings.HasPrefix(r.HTML, "<html><body><main><p>Hi</p>"), "bare page: %s", r.HTML)
	require.NotContains(t, r.HTML, "<style", "bare page")
	r, err = s.Render("plain", data(ada()))
	require.NoError(t, err, "default page")
	require.Contains(t, r.HTML, `class="content"`, "default page")
	require.NotContains(t, s.Names(), "_layout-bare", "a page is listed as a template")
	for want, files := range map[string]map[string]string{
		`page "nowhere": there is no mail/_layout-nowhere.html`: {"mail/bad.html": good + `{{define "page"}}nowhere{{end}}`},
		`no {{define "layout-x"}} block`:                        {"mail/_layout-x.html": `{{define "layout-y"}}{{template "body" .}}{{end}}`},
	} {
		_, err := Load(fsWith(t, files))
		require.ErrorContains(t, err, want, "Load")

	}
}
