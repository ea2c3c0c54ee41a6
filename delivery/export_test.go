package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/internal/smtptest"
)

// exportBundle is a delivery bundle whose Deliverer reads exports from
// the store, with a contact in France who asked for a copy of their data.
func exportBundle(t *testing.T) (b *bundle, contact int64, msg *nurture.Message) {
	t.Helper()
	b = setup(t)
	b.store.ErasureKey = erasureKey
	b.d = b.deliverer(t, func(c *delivery.Config) { c.Exports = b.store })
	ctx := context.Background()
	c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: "zoe@example.fr", FirstName: "Zoé", Locale: "fr-FR",
		Attributes: map[string]any{"plan": "pro"}})
	require.NoError(t, err)
	msg, next, err := b.store.RequestExport(ctx, c.ID, b.clock.Now())
	require.NoError(t, err)
	require.Zero(t, next)
	require.NotNil(t, msg)
	return b, c.ID, msg
}

// attachments parses a relayed message with net/mail and mime/multipart
// and returns its files by name, decoded, with their media types.
func attachments(t *testing.T, m smtptest.Message) (files map[string][]byte, types map[string]string) {
	t.Helper()
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	mediaType, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mediaType)
	files, types = map[string][]byte{}, map[string]string{}
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return files, types
		}
		require.NoError(t, err)
		if p.FileName() == "" {
			continue // the bodies
		}
		require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		require.NoError(t, err)
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		files[p.FileName()], types[p.FileName()] = data, ct
	}
}

// An export email reaches the relay as a multipart/mixed whose JSON file
// is the contact's export document, read when the email was sent, in
// their language; it is transactional (no unsubscribe headers).
func TestDeliverExportAttachesTheDocument(t *testing.T) {
	t.Parallel()
	b, contact, msg := exportBundle(t)
	ctx := context.Background()
	require.Equal(t, nurture.ExportTemplate, msg.Template)
	require.True(t, nurture.IsExportRequest(msg.DedupeKey))

	require.NoError(t, b.deliver(ctx, msg.ID))
	require.Equal(t, nurture.StatusSent, b.status(t, msg.ID).Status)
	relayed := b.smtp.Messages()
	require.Len(t, relayed, 1)
	m := relayed[0]
	require.Equal(t, []string{"zoe@example.fr"}, m.To)
	require.Equal(t, "Une copie de vos données chez Acme Cloud", m.Header("Subject"))
	require.Empty(t, m.Header("List-Unsubscribe"), "transactional")
	require.Contains(t, m.Part("text/plain"), "Bonjour Zoé")

	files, types := attachments(t, m)
	name := nurture.ExportFilename(b.clock.Now())
	require.Len(t, files, 1)
	require.Contains(t, files, name)
	require.Equal(t, "application/json", types[name])
	var doc map[string]any
	require.NoError(t, json.Unmarshal(files[name], &doc), "the attachment is JSON")
	require.InDelta(t, float64(nurture.ExportVersion), doc["version"], 0)
	require.Equal(t, "zoe@example.fr", doc["contact"].(map[string]any)["email"])
	require.Equal(t, map[string]any{"plan": "pro"}, doc["traits"])
	messages := doc["messages"].([]any)
	require.NotEmpty(t, messages, "the document lists the export email itself")
	require.Equal(t, nurture.ExportTemplate, messages[0].(map[string]any)["template"])

	// The same document GET /v1/contacts/{id}/export serves, but for the
	// moment it was made and the email's own sending.
	want, err := b.store.ExportContact(ctx, contact)
	require.NoError(t, err)
	var wantDoc map[string]any
	require.NoError(t, json.Unmarshal(want, &wantDoc))
	for _, section := range []string{"profile", "traits", "contact", "consents", "suppression", "events", "anonymousIds"} {
		require.Equal(t, wantDoc[section], doc[section], section)
	}
}

// An erased contact gets nothing: the email is skipped at the last moment
// (or gone with the contact), and no file leaves.
func TestDeliverExportOfAnErasedContactSendsNothing(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"erased", "marked erased"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, contact, msg := exportBundle(t)
			ctx := context.Background()
			if name == "erased" {
				require.NoError(t, b.store.EraseContact(ctx, contact, nurture.ErasedBy{}))
			} else {
				// An erasure that has marked the contact and not yet
				// deleted its rows.
				_, err := b.pool.Exec(ctx, `UPDATE contacts SET erased_at = now() WHERE id = $1`, contact)
				require.NoError(t, err)
			}
			_ = b.deliver(ctx, msg.ID)
			require.Empty(t, b.smtp.Messages())
		})
	}
}

// The export template goes only with a request, a request only with it:
// a campaign or sequence cannot mail people their data, nor a request
// another template.
func TestDeliverExportTemplateOnlyOnRequest(t *testing.T) {
	t.Parallel()
	b, contact, _ := exportBundle(t)
	ctx := context.Background()
	for key, template := range map[string]string{"camp:1:" + "x": nurture.ExportTemplate, "export:0:1": "welcome"} {
		m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: contact, Template: template, SendAt: b.clock.Now()})
		require.NoError(t, err)
		_ = b.deliver(ctx, m.ID)
		got := b.status(t, m.ID)
		require.Equal(t, nurture.StatusFailed, got.Status, key)
		require.Contains(t, got.LastError, nurture.ExportTemplate)
	}
	require.Empty(t, b.smtp.Messages())
}
