package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/testkit"
)

// rightsWords are what the data-rights pages say in one language, as a
// person reads them.
type rightsWords struct {
	exportLink, exportConfirm, exportSent, exportLimited string
	eraseLink, eraseConfirm, eraseDone                   string
}

// The preference page's data-rights flows in a real browser with scripts
// off, in each of its four languages, by clicks alone: "email me a copy
// of my data" (the link, the confirmation, the post, the answer; a second
// request within the hour gets the page that says when) and "delete my
// data" (the link, the confirmation, the post, the done page; the contact
// is gone and the link then names no one). Screenshots go to
// testdata/artifacts. Chromium is found and skipped (or, under CI=true,
// required) as in TestBrowserPreferencePage.
func TestBrowserDataRightsPages(t *testing.T) {
	t.Parallel()
	br := testkit.Browser(t) // skips without chromium, except under CI=true
	artifacts, err := filepath.Abs(filepath.Join("testdata", "artifacts"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	signer, err := nurture.NewSigner(strings.Repeat("browser-rights-secret-", 2))
	require.NoError(t, err)
	b := setup(t, func(c *api.Config) { c.Recipients.Signer = signer })
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	languages := []struct {
		lang  string
		words rightsWords
	}{
		{"en", rightsWords{"email me a copy of my data", "Send me my data", "Done: a copy of your data is on its way to your inbox.",
			"A copy was sent to you less than an hour ago. You can ask for another in 60 minutes.",
			"delete my data", "Delete my data for good", "Your data is deleted."}},
		{"fr", rightsWords{"m'envoyer une copie de mes données", "M'envoyer mes données", "C'est fait : une copie de vos données est en route",
			"Une copie vous a été envoyée il y a moins d'une heure. Vous pourrez en demander une autre dans 60 minutes.",
			"supprimer mes données", "Supprimer définitivement mes données", "Vos données sont supprimées."}},
		{"de", rightsWords{"Kopie meiner Daten senden", "Meine Daten senden", "Erledigt: Eine Kopie Ihrer Daten ist auf dem Weg",
			"Vor weniger als einer Stunde wurde Ihnen bereits eine Kopie gesendet. Sie können in 60 Minuten eine weitere anfordern.",
			"meine Daten löschen", "Meine Daten endgültig löschen", "Ihre Daten sind gelöscht."}},
		{"es", rightsWords{"enviarme una copia de mis datos", "Enviarme mis datos", "Hecho: una copia de tus datos va de camino",
			"Te enviamos una copia hace menos de una hora. Podrás pedir otra dentro de 60 minutos.",
			"borrar mis datos", "Borrar mis datos definitivamente", "Tus datos están borrados."}},
	}
	for _, l := range languages {
		t.Run(l.lang, func(t *testing.T) {
			w := l.words
			email := "rights-" + l.lang + "@example.com"
			c, _, err := b.store.UpsertContact(ctx, &nurture.Contact{Email: email, FirstName: "Ada", Locale: l.lang})
			require.NoError(t, err)
			m, _, err := b.store.CreateMessage(ctx, nurture.Message{DedupeKey: "browser-rights:" + l.lang,
				ContactID: c.ID, Template: "welcome", SendAt: received})
			require.NoError(t, err)
			pageURL := srv.URL + "/u/" + signer.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: m.ID, ContactID: c.ID, IssuedAt: received})
			exports := func() int {
				var n int
				require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1 AND template = $2`,
					c.ID, nurture.ExportTemplate).Scan(&n))
				return n
			}

			tab := newTab(t, br)
			_, err = chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			require.NoError(t, err)

			// Export: the link, the confirmation, the post.
			navigate(tab, t, pageURL)
			clickAndWaitForLoad(tab, t, linkNamed(t, document(tab, t), w.exportLink), "the export page")
			doc := rightsPage(t, tab, l.lang)
			require.Contains(t, doc.text(), email)
			require.Contains(t, doc.text(), w.exportConfirm)
			require.Zero(t, exports(), "showing the page queues nothing")
			screenshot(tab, t, filepath.Join(artifacts, "export-"+l.lang+".png"), 800)
			clickAndWaitForLoad(tab, t, buttonNamed(t, doc, w.exportConfirm), "the page after asking")
			doc = rightsPage(t, tab, l.lang)
			require.Contains(t, roleText(t, doc, "status"), w.exportSent)
			require.Equal(t, 1, exports())
			screenshot(tab, t, filepath.Join(artifacts, "export-"+l.lang+"-sent.png"), 800)

			// Back to the preferences, and again: too soon.
			clickAndWaitForLoad(tab, t, doc.find(func(n *domNode) bool { return n.NodeName == "A" }), "back to the preferences")
			clickAndWaitForLoad(tab, t, linkNamed(t, document(tab, t), w.exportLink), "the export page again")
			clickAndWaitForLoad(tab, t, buttonNamed(t, rightsPage(t, tab, l.lang), w.exportConfirm), "the page after asking again")
			doc = rightsPage(t, tab, l.lang)
			require.Equal(t, w.exportLimited, strings.TrimSpace(roleText(t, doc, "alert")))
			require.Equal(t, 1, exports(), "nothing more within the hour")
			screenshot(tab, t, filepath.Join(artifacts, "export-"+l.lang+"-limited.png"), 800)

			// Delete: the link, the confirmation, the post, the done page.
			navigate(tab, t, pageURL)
			clickAndWaitForLoad(tab, t, linkNamed(t, document(tab, t), w.eraseLink), "the deletion page")
			doc = rightsPage(t, tab, l.lang)
			require.Contains(t, doc.text(), email)
			_, err = b.store.Contact(ctx, c.ID)
			require.NoError(t, err, "showing the page erases nothing")
			screenshot(tab, t, filepath.Join(artifacts, "erase-"+l.lang+".png"), 800)
			clickAndWaitForLoad(tab, t, buttonNamed(t, doc, w.eraseConfirm), "the page after deleting")
			doc = rightsPage(t, tab, l.lang)
			require.Contains(t, roleText(t, doc, "status"), w.eraseDone)
			require.NotContains(t, doc.text(), email, "the done page shows the address no more")
			screenshot(tab, t, filepath.Join(artifacts, "erase-"+l.lang+"-done.png"), 800)
			_, err = b.store.Contact(ctx, c.ID)
			require.Equal(t, nurture.CodeNotFound, nurture.ErrorCodeOf(err), "the contact is gone")
			require.Zero(t, exports(), "their export email with them")

			// The link names no one now.
			navigate(tab, t, pageURL)
			require.NotContains(t, document(tab, t).text(), email)
			require.NotContains(t, document(tab, t).text(), w.exportLink)
		})
	}
}

// rightsPage reads the tab's document and checks what every data-rights
// page must be: in the language, readable on a phone, with no script.
func rightsPage(t *testing.T, tab context.Context, lang string) *domNode {
	t.Helper()
	doc := document(tab, t)
	html := doc.find(func(n *domNode) bool { return n.NodeName == "HTML" })
	require.NotNil(t, html)
	require.Equal(t, lang, html.attr("lang"))
	require.NotNil(t, doc.find(func(n *domNode) bool {
		return n.NodeName == "META" && n.attr("name") == "viewport" && strings.Contains(n.attr("content"), "width=device-width")
	}), "viewport meta")
	require.Nil(t, doc.find(func(n *domNode) bool { return n.NodeName == "SCRIPT" }), "the page needs no script")
	return doc
}

// linkNamed finds the link whose text is name.
func linkNamed(t *testing.T, doc *domNode, name string) *domNode {
	t.Helper()
	n := doc.find(func(n *domNode) bool { return n.NodeName == "A" && strings.TrimSpace(n.text()) == name })
	require.NotNil(t, n, "a link %q", name)
	return n
}

// buttonNamed finds the button whose text is name.
func buttonNamed(t *testing.T, doc *domNode, name string) *domNode {
	t.Helper()
	n := doc.find(func(n *domNode) bool { return n.NodeName == "BUTTON" && strings.TrimSpace(n.text()) == name })
	require.NotNil(t, n, "a button %q", name)
	return n
}

// roleText is the text of the element of that ARIA role.
func roleText(t *testing.T, doc *domNode, role string) string {
	t.Helper()
	n := doc.find(func(n *domNode) bool { return n.attr("role") == role })
	require.NotNil(t, n, "an element of role %s", role)
	return n.text()
}
