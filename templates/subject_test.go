package templates

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestCheckSubject(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tests := []struct {
		name, subject, wantErr string
	}{
		{"plain text", "Your first report, in two minutes", ""},
		{"personalised", "{{with .Contact.FirstName}}{{.}}, y{{else}}Y{{end}}our first report", ""},
		{"empty", "  ", "empty"},
		{"two lines", "Hello\r\nBcc: someone@example.com", "one line"},
		{"too long", strings.Repeat("a", MaxSubject+1), "at most 200"},
		{"bad syntax", "Hello {{.Contact.FirstName", "unclosed action"},
		{"unknown field", "Hello {{.Contact.Nickname}}", "Nickname"},
		{"empty for a stranger", "{{.Contact.FirstName}}", "comes out empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := s.CheckSubject(tt.subject)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// A subject override replaces the template's subject, personalised like
// it, and the body (its <title> included) follows; the template's own
// subject is used when there is none.
func TestRenderSubjectOverride(t *testing.T) {
	t.Parallel()
	s := setup(t)
	d := Data{Contact: nurture.Contact{Email: "ada@example.com", FirstName: "Ada"},
		Product: nurture.Product{Name: "Acme", URL: "https://app.acme.example/"}}
	own, err := s.Render("welcome", d)
	require.NoError(t, err)

	d.Subject = "{{.Contact.FirstName}}, one thing to try <today>"
	r, err := s.Render("welcome", d)
	require.NoError(t, err)
	require.Equal(t, "Ada, one thing to try <today>", r.Subject)
	require.NotEqual(t, own.Subject, r.Subject)
	require.Contains(t, r.HTML, "<title>Ada, one thing to try &lt;today&gt;</title>", "the HTML escapes the subject it shows")

	d.Subject = "Hello\nBcc: x@example.com"
	_, err = s.Render("welcome", d)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "an override that is not one line is refused, never sent: %v", err)
}
