package templates

import (
	"bytes"
	"testing"
)

func benchExec(b *testing.B, name string) {
	s := setup(b)
	m := s.mails[name]
	d := full()
	fillCompany(&d)
	v := newView(&d)
	v.Subject, v.Preheader = "Subject here", "Preheader here"
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		m.html.Execute(&buf, v)
	}
}
func BenchmarkZExecWelcome(b *testing.B)    { benchExec(b, "welcome") }
func BenchmarkZExecNewsletter(b *testing.B) { benchExec(b, "newsletter") }
