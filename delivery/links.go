package delivery

import (
	"net/url"
	"strings"

	"github.com/nurture-email/nurture"
)

// Linker makes the signed recipient links of one installation: each one a
// capability for exactly one message, contact and purpose.
type Linker struct {
	Signer  *nurture.Signer
	BaseURL string        // NURTURE_PUBLIC_URL, without a trailing slash
	Clock   nurture.Clock // stamps links with when they were made; default the system clock
}

func (l Linker) link(path string, t nurture.Token) string {
	clock := l.Clock
	if clock == nil {
		clock = nurture.SystemClock{}
	}
	t.IssuedAt = clock.Now()
	return l.BaseURL + path + l.Signer.Sign(t)
}

// Click is the tracked link to target, the index-th tracked link of the message.
func (l Linker) Click(m *nurture.Message, index int, target string) string {
	if !nurture.SafeLinkTarget(target) {
		return target // left as written: the endpoint would refuse to redirect to it anyway
	}
	return l.link("/c/", nurture.Token{Purpose: nurture.PurposeClick, MessageID: m.ID, ContactID: m.ContactID, LinkIndex: index, URL: target})
}

// Open is the URL of the message's open pixel.
func (l Linker) Open(m *nurture.Message) string {
	return l.link("/o/", nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.ID, ContactID: m.ContactID})
}

// Unsubscribe is the unsubscribe and preference page, and the one-click
// (RFC 8058) POST target.
func (l Linker) Unsubscribe(m *nurture.Message) string {
	return l.link("/u/", nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: m.ID, ContactID: m.ContactID})
}

// View is the email in a browser.
func (l Linker) View(m *nurture.Message) string {
	return l.link("/v/", nurture.Token{Purpose: nurture.PurposeView, MessageID: m.ID, ContactID: m.ContactID})
}

// Confirm is the link that confirms the opt-in a confirmation email asks
// for (nurture.OptInTopic of its dedupe key); "" for any other message.
func (l Linker) Confirm(m *nurture.Message) string {
	if _, ok := nurture.OptInTopic(m.DedupeKey); !ok {
		return ""
	}
	return l.link("/k/", nurture.Token{Purpose: nurture.PurposeConfirm, MessageID: m.ID, ContactID: m.ContactID})
}

// unsubscribeMailto is the mailto: form of List-Unsubscribe, when an inbox
// that processes such mail is configured.
func unsubscribeMailto(address, unsubscribeURL string) string {
	if address == "" {
		return ""
	}
	token := unsubscribeURL[strings.LastIndexByte(unsubscribeURL, '/')+1:]
	return "mailto:" + address + "?subject=" + url.QueryEscape("unsubscribe "+token)
}
