package mailer_test

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/mailer"
)

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	e := newEmail("welcome-1")

	before := time.Now().Add(-time.Second)
	require.NoError(t, b.mailer.Send(t.Context(), e), "Send")
	m := b.relay.WaitForMessages(t, 1, 5*time.Second)[0]

	require.Equal(t, "team@nurture.test", m.From, "envelope sender")
	require.Equal(t, "joerg@example.com", strings.Join(m.To, ","), "envelope recipients")
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
		require.Equal(t, want, m.Header(name), name)
	}
	date, err := mail.ParseDate(m.Header("Date"))
	require.NoError(t, err, "Date %q", m.Header("Date"))
	require.False(t, date.Before(before) || date.After(time.Now().Add(time.Second)), "Date = %q, want now", m.Header("Date"))
	require.True(t, strings.HasPrefix(m.Header("Content-Type"), "multipart/alternative;"),
		"Content-Type = %q, want multipart/alternative", m.Header("Content-Type"))
	require.Equal(t, e.Text, strings.ReplaceAll(m.Part("text/plain"), "\r\n", "\n"), "text part")
	require.Equal(t, e.HTML, m.Part("text/html"), "html part")
	data := string(m.Data)
	plain, html := strings.Index(data, "Content-Type: text/plain; charset=UTF-8"), strings.Index(data, "Content-Type: text/html; charset=UTF-8")
	require.False(t, plain < 0 || html < 0 || plain > html, "want a UTF-8 text/plain part before a UTF-8 text/html part:\n%s", data)
	require.Equal(t, 2, strings.Count(data, "Content-Transfer-Encoding: quoted-printable"), "quoted-printable parts")
	require.Empty(t, m.User, "authenticated without credentials")
}

func TestSendSinglePart(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	textOnly, htmlOnly := newEmail("text-only"), newEmail("html-only")
	textOnly.HTML, htmlOnly.Text = "", ""
	for _, e := range []*nurture.Email{textOnly, htmlOnly} {
		require.NoError(t, b.mailer.Send(t.Context(), e), "Send %s", e.MessageID)
	}
	msgs := b.relay.WaitForMessages(t, 2, 5*time.Second)
	require.True(t, strings.HasPrefix(msgs[0].Header("Content-Type"), "text/plain"), "text-only message has Content-Type %q", msgs[0].Header("Content-Type"))
	require.NotEmpty(t, msgs[0].Part("text/plain"), "the text-only message's text part")
	require.True(t, strings.HasPrefix(msgs[1].Header("Content-Type"), "text/html"), "html-only message has Content-Type %q", msgs[1].Header("Content-Type"))
	require.Equal(t, htmlOnly.HTML, msgs[1].Part("text/html"), "the html-only message's html part")
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
		{"file name with CRLF", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: "a.json\r\nBcc: x@evil.example", ContentType: "application/json"}}
		}, "Attachments[0].Filename"},
		{"file name with a quote", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: `a".json`, ContentType: "application/json"}}
		}, "Attachments[0].Filename"},
		{"file name with a path", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: "../etc/passwd", ContentType: "text/plain"}}
		}, "Attachments[0].Filename"},
		{"file name empty", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{ContentType: "application/json"}}
		}, "Attachments[0].Filename"},
		{"content type with a parameter", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: "a.json", ContentType: "application/json; boundary=x"}}
		}, "Attachments[0].ContentType"},
		{"content type with CRLF", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: "a.json", ContentType: "application/json\r\nBcc: x@evil.example"}}
		}, "Attachments[0].ContentType"},
		{"multipart content type", func(e *nurture.Email) {
			e.Attachments = []nurture.Attachment{{Filename: "a.eml", ContentType: "multipart/mixed"}}
		}, "Attachments[0].ContentType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmail("refused")
			tt.change(e)
			err := b.mailer.Send(t.Context(), e)
			var ne *nurture.Error
			require.ErrorAs(t, err, &ne, "Send")
			require.Equal(t, nurture.CodeInvalid, ne.Code, "Send: %v", err)
			require.Equal(t, tt.field, ne.Field, "Send: %v", err)
			var de *nurture.DeliveryError
			require.NotErrorAs(t, err, &de, "refused input reported as a delivery failure")
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
	err := b.mailer.Send(t.Context(), nil)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "Send(nil) = %v", err)
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
		require.NoError(t, b.mailer.Send(t.Context(), e), "Send")
		m := b.relay.WaitForMessages(t, i+1, 5*time.Second)[i]
		header, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
		for i, line := range strings.Split(header, "\r\n") {
			require.LessOrEqual(t, len(line), 78, "header line %d: %.100q", i, line)
		}
		parsed, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		require.NoError(t, err)
		to, err := parsed.Header.AddressList("To")
		require.NoError(t, err, "To")
		require.Len(t, to, 1, "To")
		require.Equal(t, name, to[0].Name, "To reads back")
		require.Equal(t, e.Subject, m.Header("Subject"), "Subject reads back")
	}

	e := newEmail("too-big")
	e.To.Name = strings.Repeat("Jörg ", 4000)
	e.Subject = "Welcome, " + e.To.Name
	err := b.mailer.Send(t.Context(), e)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "Send = %v", err)
	require.Empty(t, nurture.DeliveryKindOf(err), "Send = %v", err)
	require.ErrorContains(t, err, "header", "want an error about the header's size")
	require.Len(t, b.relay.Messages(), 2, "messages at the relay: want the 2 before")
}
