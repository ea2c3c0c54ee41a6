package api

import (
	"context"
	"embed"
	"errors"
	"html/template"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

//go:embed pages/*.html
var pageFiles embed.FS

// The preference page and the data-rights pages share their head and
// stylesheet (pages/_head.html); each is parsed with it.
var (
	preferencesTemplate = template.Must(template.ParseFS(pageFiles, "pages/preferences.html", "pages/_head.html"))
	deletionTemplate    = template.Must(template.ParseFS(pageFiles, "pages/deletion.html", "pages/_head.html"))
	exportTemplate      = template.Must(template.ParseFS(pageFiles, "pages/export.html", "pages/_head.html"))
)

// writePage answers with one of the recipient pages: never cached, no
// script, no framing, posting only to itself, no referrer. A client that
// left before the page was written is not an error.
func (a *API) writePage(c *gin.Context, tmpl *template.Template, name string, page any, code int) {
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Referrer-Policy", "no-referrer")
	c.Status(code)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := tmpl.Execute(c.Writer, page); err != nil && !errors.Is(err, context.Canceled) {
		a.cfg.Logger.Error("render "+name+" page", "err", err)
	}
}

// deletionPage is what the "delete my data" page shows: the confirmation
// form, or (Done) that the data is deleted.
type deletionPage struct {
	Lang, Product, Email, Action, Back string
	T                                  deletionText
	Done                               bool
	FormField, FormToken               string
}

var confirmTemplate = template.Must(template.ParseFS(pageFiles, "pages/confirm.html"))

// preferencePage is what the preference page shows.
type preferencePage struct {
	Lang    string
	T       pageText
	Product string
	Email   string
	Action  string
	Status  string // "", "saved" or "stale"
	Topics  []topicChoice
	AllOff  bool
	// FormField and FormToken are the hidden field that proves a post
	// comes from this page (API.pageForm).
	FormField, FormToken string
	// CanExport and CanErase say whether "email me a copy of my data" and
	// "delete my data" are served, and so linked.
	CanExport, CanErase bool
}

type topicChoice struct {
	Topic string
	Label topicLabel
	On    bool
}

type topicLabel struct{ Name, Hint string }

type pageText struct {
	Title, Intro, Choose, Save, All, Saved, Stale, Rights, ExportLink, Erase string
	Topics                                                                   map[nurture.Topic]topicLabel
	Deletion                                                                 deletionText
	Export                                                                   exportText
}

// deletionText is the "delete my data" page: the confirmation, and what
// it says once done.
type deletionText struct {
	Title, Intro, Confirm, Back, Done string
}

// pageTexts holds the page in each language it speaks.
var pageTexts = map[string]pageText{
	"en": {
		Title: "Email preferences", Intro: "Choose what we send to", Choose: "Send me:",
		Save: "Save my choices", All: "Unsubscribe from everything", Saved: "Your choices are saved.",
		Stale:  "Nothing was changed: this page was out of date. Please make your choice again.",
		Rights: "Your data:", ExportLink: "email me a copy of my data", Erase: "delete my data",
		Deletion: deletionText{Title: "Delete my data", Intro: "This deletes everything we hold about you: your profile, your activity and every email we sent you. We keep no copy of your address, only a keyed fingerprint so that no email reaches you again without your new consent. It cannot be undone.", Confirm: "Delete my data for good", Back: "Keep my data", Done: "Your data is deleted. No more email will reach you from us."},
		Export:   exportText{Title: "Email me a copy of my data", Intro: "We will email a copy of everything we hold about you to this address, as a JSON file attached to the email. You can ask for one copy an hour.", Confirm: "Send me my data", Back: "Back to my preferences", Sent: "Done: a copy of your data is on its way to your inbox. It may take a few minutes to arrive.", Limited: "A copy was sent to you less than an hour ago. You can ask for another in %s.", Minute: "%d minute", Minutes: "%d minutes"},
		Topics: map[nurture.Topic]topicLabel{
			nurture.TopicOnboarding: {"Getting started", "Tips for your first weeks"},
			nurture.TopicEducation:  {"Guides and how-tos", "Learn to get more out of the product"},
			nurture.TopicProduct:    {"Product news", "New features and changes"},
			nurture.TopicMarketing:  {"Newsletters and offers", "Events, stories and promotions"},
		},
	},
	"fr": {
		Title: "Préférences e-mail", Intro: "Choisissez ce que nous envoyons à", Choose: "Envoyez-moi :",
		Save: "Enregistrer mes choix", All: "Me désabonner de tout", Saved: "Vos choix sont enregistrés.",
		Stale:  "Rien n'a été modifié : cette page n'était plus à jour. Veuillez refaire votre choix.",
		Rights: "Vos données :", ExportLink: "m'envoyer une copie de mes données", Erase: "supprimer mes données",
		Deletion: deletionText{Title: "Supprimer mes données", Intro: "Cela supprime tout ce que nous détenons sur vous : votre profil, votre activité et chaque e-mail que nous vous avons envoyé. Nous ne gardons aucune copie de votre adresse, seulement une empreinte chiffrée pour qu'aucun e-mail ne vous parvienne sans votre nouveau consentement. C'est irréversible.", Confirm: "Supprimer définitivement mes données", Back: "Garder mes données", Done: "Vos données sont supprimées. Vous ne recevrez plus d'e-mail de notre part."},
		Export:   exportText{Title: "M'envoyer une copie de mes données", Intro: "Nous enverrons à cette adresse une copie de tout ce que nous détenons sur vous, dans un fichier JSON joint à l'e-mail. Vous pouvez demander une copie par heure.", Confirm: "M'envoyer mes données", Back: "Revenir à mes préférences", Sent: "C'est fait : une copie de vos données est en route vers votre boîte de réception. Elle peut mettre quelques minutes à arriver.", Limited: "Une copie vous a été envoyée il y a moins d'une heure. Vous pourrez en demander une autre dans %s.", Minute: "%d minute", Minutes: "%d minutes"},
		Topics: map[nurture.Topic]topicLabel{
			nurture.TopicOnboarding: {"Premiers pas", "Des conseils pour vos premières semaines"},
			nurture.TopicEducation:  {"Guides et tutoriels", "Tirer le meilleur du produit"},
			nurture.TopicProduct:    {"Nouveautés produit", "Nouvelles fonctions et changements"},
			nurture.TopicMarketing:  {"Lettres d'information et offres", "Événements, témoignages et promotions"},
		},
	},
	"de": {
		Title: "E-Mail-Einstellungen", Intro: "Wählen Sie, was wir senden an", Choose: "Senden Sie mir:",
		Save: "Auswahl speichern", All: "Von allem abmelden", Saved: "Ihre Auswahl ist gespeichert.",
		Stale:  "Es wurde nichts geändert: Diese Seite war nicht mehr aktuell. Bitte treffen Sie Ihre Auswahl erneut.",
		Rights: "Ihre Daten:", ExportLink: "Kopie meiner Daten senden", Erase: "meine Daten löschen",
		Deletion: deletionText{Title: "Meine Daten löschen", Intro: "Damit löschen wir alles, was wir über Sie gespeichert haben: Ihr Profil, Ihre Aktivität und jede E-Mail, die wir Ihnen gesendet haben. Wir behalten keine Kopie Ihrer Adresse, nur einen verschlüsselten Fingerabdruck, damit Sie ohne Ihre erneute Einwilligung keine E-Mail mehr erreicht. Das lässt sich nicht rückgängig machen.", Confirm: "Meine Daten endgültig löschen", Back: "Meine Daten behalten", Done: "Ihre Daten sind gelöscht. Sie erhalten keine E-Mails mehr von uns."},
		Export:   exportText{Title: "Kopie meiner Daten senden", Intro: "Wir senden an diese Adresse eine Kopie von allem, was wir über Sie gespeichert haben, als JSON-Datei im Anhang der E-Mail. Sie können eine Kopie pro Stunde anfordern.", Confirm: "Meine Daten senden", Back: "Zurück zu meinen Einstellungen", Sent: "Erledigt: Eine Kopie Ihrer Daten ist auf dem Weg in Ihr Postfach. Es kann einige Minuten dauern, bis sie ankommt.", Limited: "Vor weniger als einer Stunde wurde Ihnen bereits eine Kopie gesendet. Sie können in %s eine weitere anfordern.", Minute: "%d Minute", Minutes: "%d Minuten"},
		Topics: map[nurture.Topic]topicLabel{
			nurture.TopicOnboarding: {"Erste Schritte", "Tipps für die ersten Wochen"},
			nurture.TopicEducation:  {"Anleitungen", "Mehr aus dem Produkt herausholen"},
			nurture.TopicProduct:    {"Produktneuigkeiten", "Neue Funktionen und Änderungen"},
			nurture.TopicMarketing:  {"Newsletter und Angebote", "Veranstaltungen, Geschichten und Aktionen"},
		},
	},
	"es": {
		Title: "Preferencias de correo", Intro: "Elige qué enviamos a", Choose: "Envíame:",
		Save: "Guardar mis opciones", All: "Darme de baja de todo", Saved: "Tus opciones se han guardado.",
		Stale:  "No se ha cambiado nada: esta página estaba desactualizada. Vuelve a hacer tu elección.",
		Rights: "Tus datos:", ExportLink: "enviarme una copia de mis datos", Erase: "borrar mis datos",
		Deletion: deletionText{Title: "Borrar mis datos", Intro: "Esto borra todo lo que guardamos sobre ti: tu perfil, tu actividad y cada correo que te enviamos. No guardamos ninguna copia de tu dirección, solo una huella cifrada para que no te llegue ningún correo sin tu nuevo consentimiento. No se puede deshacer.", Confirm: "Borrar mis datos definitivamente", Back: "Conservar mis datos", Done: "Tus datos están borrados. Ya no recibirás correos nuestros."},
		Export:   exportText{Title: "Enviarme una copia de mis datos", Intro: "Enviaremos a esta dirección una copia de todo lo que guardamos sobre ti, en un archivo JSON adjunto al correo. Puedes pedir una copia por hora.", Confirm: "Enviarme mis datos", Back: "Volver a mis preferencias", Sent: "Hecho: una copia de tus datos va de camino a tu bandeja de entrada. Puede tardar unos minutos en llegar.", Limited: "Te enviamos una copia hace menos de una hora. Podrás pedir otra dentro de %s.", Minute: "%d minuto", Minutes: "%d minutos"},
		Topics: map[nurture.Topic]topicLabel{
			nurture.TopicOnboarding: {"Primeros pasos", "Consejos para tus primeras semanas"},
			nurture.TopicEducation:  {"Guías y tutoriales", "Aprende a sacar más partido al producto"},
			nurture.TopicProduct:    {"Novedades del producto", "Nuevas funciones y cambios"},
			nurture.TopicMarketing:  {"Boletines y ofertas", "Eventos, historias y promociones"},
		},
	},
}
