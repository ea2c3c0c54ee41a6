package delivery_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
)

// TestDeliverShowsTheLinkedCompany: in one batch, the email to a contact
// of a company shows the company record's industry (research filled it,
// no group call said it), and the email to a contact without one shows
// the contact's own, as the relay receives them.
func TestDeliverShowsTheLinkedCompany(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ada, _, err := b.store.UpsertContact(ctx, &nurture.Contact{ExternalID: "u1", Email: "ada@initech.example", FirstName: "Ada", Industry: "Software"})
	require.NoError(t, err)
	bob, _, err := b.store.UpsertContact(ctx, &nurture.Contact{ExternalID: "u2", Email: "bob@example.com", FirstName: "Bob", Industry: "Retail"})
	require.NoError(t, err)
	noTraits := func(map[string]any) (*nurture.Contact, error) { return &nurture.Contact{}, nil }
	_, err = b.store.Ingest(ctx, []nurture.Call{{Type: nurture.EventGroup, MessageID: "g1", UserID: "u1", GroupID: "initech", Name: "initech",
		Company: &nurture.Company{Name: "Initech", Domain: "initech.example"}, Properties: map[string]any{}, Timestamp: b.clock.Now()}},
		noTraits, b.clock.Now())
	require.NoError(t, err)
	ada, err = b.store.Contact(ctx, ada.ID)
	require.NoError(t, err)
	require.NotZero(t, ada.CompanyID, "the group call linked the contact")
	_, err = b.pool.Exec(ctx, `UPDATE companies SET industry = 'Manufacturing' WHERE id = $1`, ada.CompanyID)
	require.NoError(t, err)

	var ids []int64
	for _, c := range []*nurture.Contact{ada, bob} {
		m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "camp:x:" + c.Email, ContactID: c.ID,
			Template: "feature-integrations", SendAt: b.clock.Now()})
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	require.NoError(t, b.deliver(ctx, ids...))

	got := map[string]string{}
	for _, m := range b.smtp.Messages() {
		got[m.To[0]] = textPart(t, m)
	}
	require.Contains(t, got["ada@initech.example"], "Teams in Manufacturing like yours")
	require.Contains(t, got["ada@initech.example"], "Connect it to the tools Initech already uses")
	require.Contains(t, got["bob@example.com"], "Teams in Retail like yours")
}

// textPart returns the decoded text/plain part of a message the relay
// received.
func textPart(t *testing.T, m smtptest.Message) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		require.NoError(t, err, "no text/plain part")
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			body, err := io.ReadAll(p)
			require.NoError(t, err)
			return strings.Join(strings.Fields(string(body)), " ") // the text wraps its lines
		}
	}
}
