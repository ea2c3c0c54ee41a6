package templates

import (
	"flag"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/nurture-email/nurture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// setup returns the embedded templates.
func setup(t testing.TB) *Set {
	t.Helper()
	s, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if content == "" {
			delete(m, name)
			continue
		}
		m[name] = &fstest.MapFile{Data: []byte(content)}
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
		},
		Product: Product{Name: "Acme Cloud", URL: "https://app.acme.test/start", Address: "Acme Inc., 500 Market St, San Francisco, CA 94105, USA"},
	}
}
