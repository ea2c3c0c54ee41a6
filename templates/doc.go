// Package templates owns Nurture's email templates and turns one of them,
// for one contact, into the subject, preheader, topic and both bodies of an
// email, ready for mail clients: CSS inlined, links tracked.
//
// The templates are files written in Go's html/template, embedded in the
// binary (Default) or read from any fs.FS, such as a directory that replaces
// them (Load). Every file is parsed and tried with sample data when the Set
// is loaded, so a broken template stops the process at start rather than
// failing a send at night.
//
// The embedded starters: welcome, onboarding-tips and check-in (a short
// personal note on the plain "note" page) (onboarding), feature-education
// and the three feature lessons feature-reports, feature-automation and
// feature-integrations (education), demo-offer, re-engagement and
// newsletter (marketing). One is the system's own: data-export
// (transactional), the email that carries a person's copy of their data
// (docs/export.md), in English, French, German and Spanish.
//
// The package also embeds the starter sequences that send them
// (sequences/*.yaml, see Sequences); the sequence package reads them.
//
// # File format
//
// Under the root of the file system:
//
//	mail/_layout.html       {{define "layout"}}: the page around every email; it calls {{template "body" .}}
//	mail/_layout-NAME.html  optional other pages, each {{define "layout-NAME"}}, for the emails that
//	                        choose it with their "page" block (the starters add "note": a plain
//	                        page without stylesheet, for a short personal email)
//	mail/_partials/*.html   shared {{define "name"}} blocks, such as "button", "footer", "greeting",
//	                        "signoff", "callout", "divider" and "article"
//	mail/<name>.html        one email, made of these blocks:
//	                          {{define "subject"}}   required, plain text
//	                          {{define "preheader"}} optional, plain text: the preview line of inboxes
//	                          {{define "topic"}}     required, a constant: onboarding, education,
//	                                                 product, marketing or transactional
//	                          {{define "tracking"}}  optional, a constant: all (the default), clicks,
//	                                                 opens or none
//	                          {{define "page"}}      optional, a constant: the page around the body,
//	                                                 default (_layout.html) or NAME (_layout-NAME.html)
//	                          {{define "body"}}      required, HTML placed in the layout
//	                        and any other blocks of its own
//	mail/<name>.txt         optional hand-written text body (text/template); without it the
//	                        text body is generated from the HTML
//
// A name is lower case letters, digits, '-' and '_', and does not start with
// '_'. Files of other kinds under mail/ (a README, say) are ignored. The
// topic, the tracking and the page are read once, at load time, so they
// must not depend on the data.
//
// Subject and preheader are executed with text/template, so they are plain
// text ("Ben & Jerry's", never "Ben &amp; Jerry&#39;s"), then reduced to one
// line: control characters, line breaks included, become spaces, runs of
// spaces collapse and the ends are trimmed. A contact's name can therefore
// never add a header to the email. The body is executed with html/template,
// whose contextual escaping keeps contact data text in HTML and inside
// attributes and URLs.
//
// # What templates see
//
// Templates execute on .Contact (the profile, with .Contact.Department
// and .Contact.Seniority as the product sent them or research derived
// them from the job title, and .Contact.Attributes), .Company (Name,
// Domain, Industry, Size, Description: CompanyOf the company record the
// contact belongs to, which the caller reads and passes in; Render fills
// what it lacks from the contact's Company, Industry and TeamSize, so
// {{with .Company.Industry}}teams in {{.}} like yours{{else}}teams like
// yours{{end}} works for everyone), .Engagement (what the contact did:
// LastSeen, Actions...), .Message (ID, Template, Sequence, Step, Campaign),
// .Links (Unsubscribe, Preferences, ViewInBrowser), .Product and, once
// computed, .Subject and .Preheader. A missing value, such as an attribute
// the product never sent, prints nothing in every part. Functions:
//
//	default FALLBACK VALUE  VALUE, or FALLBACK when VALUE is nil, blank text or an
//	                        empty list or map: {{firstName .Contact | default "there"}}
//	firstName CONTACT       the first name on one line, or "" when unknown
//	attr CONTACT KEY        an attribute the product sent, or nil: {{attr .Contact "plan" | default "free"}}
//	localDate CONTACT TIME  the date in the contact's time zone, written for their locale
//	                        (en-US, en-GB and other English, fr, de, es; else "5 March 2025"),
//	                        or "" when unknown; TIME is a time.Time or an attribute holding an
//	                        RFC 3339 time, a date or Unix seconds:
//	                        {{localDate .Contact .Engagement.LastSeen | default "a while ago"}}
//	localTime CONTACT TIME  the same with the time of day and the zone: "March 5, 2025 at 5:30 PM EST"
//	language CONTACT        the language of the contact's locale in lower case ("fr" for fr-CA),
//	                        or "": {{if eq (language .Contact) "fr"}}Bonjour{{else}}Hello{{end}}
//	did ENGAGEMENT NAME...  whether the contact did any of these actions (track events) at least
//	                        once; case, spaces, '_', '-' and '.' do not matter
//	audience CONTACT        marketing, sales, support, design, engineering, product, operations,
//	                        leadership or "", from the contact's role, department or title
//	asset PRODUCT PATH      an image under Product.AssetsURL, or "" without one
//	resolve BASE REF        REF resolved against the URL BASE, or "" when BASE is not absolute:
//	                        {{resolve .Product.URL "/changelog"}}
//	dict K1 V1 ...          a map, to hand several values to a partial
//	partial NAME K1 V1 ...  the block NAME executed with (dict K1 V1 ...), as {{template NAME (dict ...)}},
//	                        for the text of the body (not an attribute); partial NAME DATA passes DATA.
//	                        With plain values (text, numbers, a Product) the HTML is remembered, so
//	                        that a campaign executes its stories and buttons once, not per recipient
//	upper, lower, trim      as strings.ToUpper, ToLower and TrimSpace
//	mso LITERAL             LITERAL in an Outlook conditional comment (for the layout)
//
// # From template to email
//
// Render executes the subject and the preheader, then the layout around the
// body, and makes one pass over the tokens of that HTML (stream.go): the
// ones nothing changes are copied as they are, the start tags that change
// are written again, and the text body is generated on the way. The pass
// keeps the stack of open elements a parser would, for what depends on
// ancestors, but does not repair the document: HTML a browser would repair
// reaches the mail client as written, which repairs it the same way. What
// could be read two ways is made plain: a tag cut off by the end is dropped,
// a stray '<' is escaped, an unclosed comment or <style> is closed, and a
// start tag whose attributes are ambiguous is written again. A <script>
// ends where a browser ends it (after "<!--<script>", a "</script>" does
// not). Inside SVG and MathML, the content of a <style>, <title>, <script>
// and the like is copied unchanged: browsers read it as markup, simpler
// readers as raw text, and both read the copy as they read the original;
// when the input ends inside one of them or inside a <![CDATA[ section,
// nothing is added, not even the open pixel.
//
// CSS inlining (inline.go): the rules of <style> elements are copied into
// the style attribute of each element they select, so templates write plain
// HTML with the layout's classes (listed in _layout.html). What cannot be
// inlined, such as @media rules for narrow screens and dark mode, stays in
// <style>. The parsed stylesheet is cached, as it rarely depends on the
// data, and so is the style each kind of element gets (its tag, id, classes
// and style attribute, and those of its ancestors): the repeated structure
// of a campaign costs a map lookup. A template whose <style> does depend on
// the data works, at the cost of a second pass for each email.
//
// Tracking (track.go), when the caller passes Data.Track: every <a href> to
// an absolute http(s) URL is replaced with the URL Track.Click returns for
// it, and an open pixel (Track.OpenPixel, a 1x1 <img> with an empty alt) is
// added at the end of the body, as far as the template's tracking block
// allows. Left alone: the recipient's own links (Links.Unsubscribe,
// Preferences, ViewInBrowser, wherever they appear), links marked
// data-notrack (<a href="..." data-notrack>; the mark is removed), and
// links to other schemes (mailto:, tel:) or that nurture.SafeLinkTarget
// refuses. The index handed to Click counts the tracked links in document
// order from 0, so the same template and data give the same indexes. Links
// inside Outlook conditional comments are not seen, hence not tracked.
//
// The text body is the final HTML turned to text (see HTMLToText), so it
// carries the tracked URLs too; in a hand-written .txt, a URL that is the
// target of a tracked link is replaced with that link's tracked URL.
//
// What does not depend on the recipient is worked out once: the parsed
// stylesheets and the styles they give (above), the blocks called with
// {{partial}} and plain values (the stories of a newsletter), the product's
// URLs that resolve builds, and which targets nurture.SafeLinkTarget
// accepts. The buffers and the state of the pass are pooled.
//
// # What it must not do
//
// It renders and nothing else: it does not read the store, decide whether
// an email may be sent (suppression, consent and preferences are the
// sender's last-moment checks), sign tokens or build the links it is given,
// or talk to a relay. It imports only the domain package, the standard
// library and golang.org/x/net/html.
package templates
