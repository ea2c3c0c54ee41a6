package nurture

// TemplateWelcome is the template of the welcome email, which a signed_up
// event starts (Triggered).
const TemplateWelcome = "welcome"

// TriggeredTemplate is a template the engine sends by itself, whatever the
// operator's templates are, and what makes it send it.
type TriggeredTemplate struct {
	Name string // the template's name: mail/<Name>.html
	On   string // what sends it, as an error message says it: "a signed_up event"
}

// TriggeredTemplates lists the templates the domain starts emails with
// (Triggered). With one of them missing, every call that starts it would be
// accepted and its email would fail at send time, so the engine refuses to
// start without them.
func TriggeredTemplates() []TriggeredTemplate {
	return []TriggeredTemplate{{Name: TemplateWelcome, On: "a " + EventSignedUp + " event"}}
}
