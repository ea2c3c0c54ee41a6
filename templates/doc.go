// Package templates owns Nurture's email templates and turns one of them,
// for one contact, into the subject, preheader, topic and both bodies of an
// email.
//
// The templates are files written in Go's html/template, embedded in the
// binary (Default) or read from any fs.FS, such as a directory that replaces
// them (Load). Every file is parsed and tried with sample data when the Set
// is loaded, so a broken template stops the process at start rather than
// failing a send at night.
//
// # File format
//
// Under the root of the file system:
//
//	mail/_layout.html       {{define "layout"}}: the page around every email; it calls {{template "body" .}}
//	mail/_partials/*.html   shared {{define "name"}} blocks, such as "button" and "footer"
//	mail/<name>.html        one email, made of these blocks:
//	                          {{define "subject"}}   required, plain text
//	                          {{define "preheader"}} optional, plain text: the preview line of inboxes
//	                          {{define "topic"}}     required, a constant: onboarding, education,
//	                                                 product, marketing or transactional
//	                          {{define "body"}}      required, HTML placed in the layout
//	mail/<name>.txt         optional hand-written text body (text/template); without it the
//	                        text body is generated from the HTML
//
// A name is lower case letters, digits, '-' and '_', and does not start with
// '_'. Files of other kinds under mail/ (a README, say) are ignored.
//
// Subject and preheader are executed with text/template, so they are plain
// text ("Ben & Jerry's", never "Ben &amp; Jerry&#39;s"), then reduced to one
// line: control characters, line breaks included, become spaces, runs of
// spaces collapse and the ends are trimmed. A contact's name can therefore
// never add a header to the email. The body is executed with html/template,
// whose contextual escaping keeps contact data text in HTML and inside
// attributes and URLs.
//
// Templates see a Data value (.Contact, .Message, .Links, .Product) and,
// once computed, .Subject and .Preheader. A missing value, such as an
// attribute the product never sent, prints nothing in every part. The topic
// is read once, at load time, so it must not depend on the data. Functions:
//
//	default FALLBACK VALUE  VALUE, or FALLBACK when VALUE is nil, blank text or an
//	                        empty list or map: {{firstName .Contact | default "there"}}
//	firstName CONTACT       the first name on one line, or "" when unknown
//	attr CONTACT KEY        an attribute the product sent, or nil: {{attr .Contact "plan" | default "free"}}
//	dict K1 V1 ...          a map, to hand several values to a partial
//	upper, lower, trim      as strings.ToUpper, ToLower and TrimSpace
//	mso LITERAL             LITERAL in an Outlook conditional comment (for the layout)
//
// # What it must not do
//
// It renders and nothing else: it does not read the store, decide whether
// an email may be sent (suppression, consent and preferences are the
// sender's last-moment checks), sign tokens or build the links it is given,
// or talk to a relay. It imports only the domain package, the standard
// library and golang.org/x/net/html.
package templates
