package mailer_test

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/mailer"
)

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	e := newEmail("welcome-1")

	before := time.Now().Add(-time.Second)
	if err := b.mailer.Send(t.Context(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := b.relay.WaitForMessages(t, 1, 5*time.Second)[0]

	if m.From != "team@nurture.test" || strings.Join(m.To, ",") != "joerg@example.com" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	headers := map[string]string{
		"From":                  `"Nurture Team" <team@nurture.test>`,
		"To":                    "Jörg Müller <joerg@example.com>",
		"Subject":               e.Subject,
		"Message-ID":            "<welcome-1@nurture.test>",
		"MIME-Version":          "1.0",
		"List-Unsubscribe":      "<https://links.example.com/u/abc123>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Nurture-Step":        "onboarding/2 – tips",
		"Reply-To":              "Søren Support <support@nurture.test>",
		"User-Agent":            "",
		"X-Mailer":              "",
		"Bcc":                   "",
	}
	for name, want := range headers {
		if got := m.Header(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	date, err := mail.ParseDate(m.Header("Date"))
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %q (%v), want now", m.Header("Date"), err)
	}
	if ct := m.Header("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	if got := strings.ReplaceAll(m.Part("text/plain"), "\r\n", "\n"); got != e.Text {
		t.Errorf("text part = %q, want %q", got, e.Text)
	}
	if got := m.Part("text/html"); got != e.HTML {
		t.Errorf("html part = %q, want %q", got, e.HTML)
	}
	data := string(m.Data)
	plain, html := strings.Index(data, "Content-Type: text/plain; charset=UTF-8"), strings.Index(data, "Content-Type: text/html; charset=UTF-8")
	if plain < 0 || html < 0 || plain > html {
		t.Errorf("want a UTF-8 text/plain part before a UTF-8 text/html part:\n%s", data)
	}
	if n := strings.Count(data, "Content-Transfer-Encoding: quoted-printable"); n != 2 {
		t.Errorf("%d quoted-printable parts, want 2", n)
	}
	if m.User != "" {
		t.Errorf("authenticated as %q without credentials", m.User)
	}
}

func TestSendSinglePart(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	textOnly, htmlOnly := newEmail("text-only"), newEmail("html-only")
	textOnly.HTML, htmlOnly.Text = "", ""
	for _, e := range []*nurture.Email{textOnly, htmlOnly} {
		if err := b.mailer.Send(t.Context(), e); err != nil {
			t.Fatalf("Send %s: %v", e.MessageID, err)
		}
	}
	msgs := b.relay.WaitForMessages(t, 2, 5*time.Second)
	if ct := msgs[0].Header("Content-Type"); !strings.HasPrefix(ct, "text/plain") || msgs[0].Part("text/plain") == "" {
		t.Errorf("text-only message has Content-Type %q", ct)
	}
	if ct := msgs[1].Header("Content-Type"); !strings.HasPrefix(ct, "text/html") || msgs[1].Part("text/html") != htmlOnly.HTML {
		t.Errorf("html-only message has Content-Type %q", ct)
	}
}

func TestSendRefusesUnsafeInput(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	tests := []struct {
		name   string
		change func(*nurture.Email)
		field  string
	}{
		{"display name with CRLF", func(e *nurture.Email) { e.To.Name = "Eve\r\nBcc: x@evil.example" }, "To"},
		{"from name with LF", func(e *nurture.Email) { e.From.Name = "Team\nBcc: x@evil.example" }, "From"},
		{"subject with CRLF", func(e *nurture.Email) { e.Subject = "Hi\r\nBcc: x@evil.example" }, "Subject"},
		{"subject with NUL", func(e *nurture.Email) { e.Subject = "Hi\x00" }, "Subject"},
		{"subject with C1 control", func(e *nurture.Email) { e.Subject = "Hi\u0085there" }, "Subject"},
		{"subject not UTF-8", func(e *nurture.Email) { e.Subject = "Hi \xff" }, "Subject"},
		{"header value with CRLF", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "X-Tag", Value: "a\r\nBcc: x@evil.example"}}
		}, "X-Tag"},
		{"header name with CRLF", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "X-Tag\r\nBcc", Value: "x@evil.example"}}
		}, "Headers"},
		{"header name with colon", func(e *nurture.Email) { e.Headers = []nurture.Header{{Name: "X-Tag:", Value: "v"}} }, "Headers"},
		{"header name with space", func(e *nurture.Email) { e.Headers = []nurture.Header{{Name: "X Tag", Value: "v"}} }, "Headers"},
		{"empty header name", func(e *nurture.Email) { e.Headers = []nurture.Header{{Name: "", Value: "v"}} }, "Headers"},
		{"non-ASCII header name", func(e *nurture.Email) { e.Headers = []nurture.Header{{Name: "X-Tägg", Value: "v"}} }, "Headers"},
		{"Bcc as extra header", func(e *nurture.Email) { e.Headers = []nurture.Header{{Name: "bcc", Value: "x@evil.example"}} }, "bcc"},
		{"DKIM-Signature as extra header", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "DKIM-Signature", Value: "v=1; d=evil.example"}}
		}, "DKIM-Signature"},
		{"Content-Type as extra header", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "Content-Type", Value: "text/plain"}}
		}, "Content-Type"},
		{"header given twice", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "X-Tag", Value: "a"}, {Name: "x-tag", Value: "b"}}
		}, "x-tag"},
		{"Reply-To not an address", func(e *nurture.Email) {
			e.Headers = []nurture.Header{{Name: "Reply-To", Value: "not an address"}}
		}, "Reply-To"},
		{"address with CRLF", func(e *nurture.Email) { e.To.Address = "joerg@example.com\r\nRCPT TO:<x@evil.example>" }, "To"},
		{"address with angle bracket", func(e *nurture.Email) { e.To.Address = "joerg@example.com>, <x@evil.example" }, "To"},
		{"address missing", func(e *nurture.Email) { e.From.Address = "" }, "From"},
		{"message id missing", func(e *nurture.Email) { e.MessageID = "" }, "MessageID"},
		{"message id with brackets", func(e *nurture.Email) { e.MessageID = "<a@b>" }, "MessageID"},
		{"message id with CRLF", func(e *nurture.Email) { e.MessageID = "a@b\r\nBcc: x@evil.example" }, "MessageID"},
		{"message id without @", func(e *nurture.Email) { e.MessageID = "abc" }, "MessageID"},
		{"no body", func(e *nurture.Email) { e.Text, e.HTML = "", "" }, "Text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmail("refused")
			tt.change(e)
			err := b.mailer.Send(t.Context(), e)
			var ne *nurture.Error
			if !errors.As(err, &ne) || ne.Code != nurture.CodeInvalid || ne.Field != tt.field {
				t.Fatalf("Send: %v (%T), want an invalid *nurture.Error on field %q", err, err, tt.field)
			}
			var de *nurture.DeliveryError
			if errors.As(err, &de) {
				t.Fatalf("refused input reported as a delivery failure: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		// Runs after the subtests: nothing may have reached the relay.
		if n := b.relay.Sessions(); n != 0 {
			t.Errorf("%d connections made for refused input", n)
		}
		if n := len(b.relay.Messages()); n != 0 {
			t.Errorf("%d messages delivered for refused input", n)
		}
	})
	if err := b.mailer.Send(t.Context(), nil); nurture.ErrorCodeOf(err) != nurture.CodeInvalid {
		t.Errorf("Send(nil) = %v, want invalid", err)
	}
}

// Issue 9: a 20,000-character first name (in the display name and the
// subject) made header lines over 998 octets, which relays refuse. Every
// header line now folds within 78 octets and the name reads back whole;
// only a header section bigger than relays take is refused, by us, before
// any connection is used.
func TestSendFoldsHugeNames(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	for i, name := range []string{strings.Repeat("a", 20000), strings.Repeat("Jörg ", 1000)} {
		e := newEmail("huge-name")
		e.To.Name = name
		e.Subject = "Welcome, " + name + "!"
		if err := b.mailer.Send(t.Context(), e); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := b.relay.WaitForMessages(t, i+1, 5*time.Second)[i]
		header, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
		for i, line := range strings.Split(header, "\r\n") {
			if len(line) > 78 {
				t.Fatalf("header line %d is %d octets: %.100q", i, len(line), line)
			}
		}
		parsed, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		to, err := parsed.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Name != name {
			t.Errorf("To reads back as %v (%v)", to, err)
		}
		if got := m.Header("Subject"); got != e.Subject {
			t.Errorf("Subject reads back as %.80q", got)
		}
	}

	e := newEmail("too-big")
	e.To.Name = strings.Repeat("Jörg ", 4000)
	e.Subject = "Welcome, " + e.To.Name
	err := b.mailer.Send(t.Context(), e)
	if nurture.ErrorCodeOf(err) != nurture.CodeInvalid || nurture.DeliveryKindOf(err) != "" || !strings.Contains(err.Error(), "header") {
		t.Fatalf("Send = %v, want an invalid error about the header's size", err)
	}
	if got := len(b.relay.Messages()); got != 2 {
		t.Errorf("relay has %d messages, want the 2 before", got)
	}
}
