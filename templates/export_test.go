package templates

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// The email that carries a person's copy of their data speaks their
// language (en, fr, de, es; English for any other), is transactional and
// tracks nothing: go test ./templates -update rewrites its golden files.
func TestDataExportEmail(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, tc := range []struct{ locale, lang, subject, words string }{
		{"en-GB", "en", "A copy of your data at Acme Cloud", "attached is a copy of everything"},
		{"fr_FR.UTF-8", "fr", "Une copie de vos données chez Acme Cloud", "vous trouverez ci-joint une copie"},
		{"de-AT", "de", "Eine Kopie Ihrer Daten bei Acme Cloud", "finden Sie im Anhang eine Kopie"},
		{"ES", "es", "Una copia de tus datos en Acme Cloud", "te enviamos adjunta una copia"},
		{"pt-BR", "en", "A copy of your data at Acme Cloud", "attached is a copy of everything"},
		{"", "en", "A copy of your data at Acme Cloud", "attached is a copy of everything"},
	} {
		t.Run(tc.locale, func(t *testing.T) {
			t.Parallel()
			for _, who := range []string{"", "_unknown"} {
				d := full()
				if who != "" {
					d = unknown()
				}
				d.Contact.Locale = tc.locale
				r, err := s.Render("data-export", d)
				require.NoError(t, err)
				require.Equal(t, nurture.TopicTransactional, r.Topic)
				require.Equal(t, tc.subject, r.Subject)
				require.Contains(t, r.HTML, `<html lang="`+tc.lang+`">`)
				require.Contains(t, unwrap(r.Text), tc.words)
				require.NotContains(t, r.HTML, "links.test", "nothing tracked")
				require.NotContains(t, r.HTML, "/u/tok123", "no unsubscribe link: the person asked for it")
				checkSafeHTML(t, r.HTML)
				if tc.locale == "pt-BR" || tc.locale == "" {
					continue // English, as en-GB
				}
				text := fmt.Sprintf("Subject: %s\nTopic: %s\n\n%s", r.Subject, r.Topic, r.Text)
				name := "data-export_" + tc.lang + who
				golden(t, name+".html.golden", r.HTML)
				golden(t, name+".txt.golden", text)
			}
		})
	}
	// Without a product name nothing reads oddly.
	d := unknown()
	d.Product = nurture.Product{}
	r, err := s.Render("data-export", d)
	require.NoError(t, err)
	require.Equal(t, "A copy of your data", r.Subject)
	require.Contains(t, unwrap(r.Text), "everything we hold about you")
	require.NotContains(t, r.HTML, "<no value>")
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for locale, want := range map[string]string{
		"fr": "fr", "fr-CA": "fr", "de_DE.UTF-8": "de", " ES ": "es", "en-Latn-US": "en", "": "", "@euro": "",
	} {
		require.Equal(t, want, language(nurture.Contact{Locale: locale}), locale)
	}
}
