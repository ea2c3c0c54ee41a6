package delivery

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// compose builds the email with the headers that mailbox providers and
// RFC 8058 ask of bulk senders.
func (d *Deliverer) compose(m *nurture.Message, c *nurture.Contact, r *templates.Rendered, unsubscribe string) *nurture.Email {
	from := d.cfg.From.Address
	domain := from[strings.LastIndexByte(from, '@')+1:]
	e := &nurture.Email{
		MessageID: MessageIDHeader(d.cfg.MessageIDs, m.ID, from),
		From:      d.cfg.From,
		To:        mail.Address{Name: c.Name(), Address: c.Email},
		Subject:   r.Subject,
		HTML:      r.HTML,
		Text:      r.Text,
	}
	campaign := strings.HasPrefix(m.DedupeKey, "camp:")
	stream := "lifecycle"
	if campaign {
		stream = "campaign"
	}
	e.Headers = append(e.Headers, nurture.Header{Name: "Feedback-ID",
		Value: fmt.Sprintf("%s:%s:%s:nurture", headerWord(m.Template), r.Topic, stream)})
	if r.Topic == nurture.TopicTransactional {
		return e
	}
	value := "<" + unsubscribe + ">"
	if mailto := unsubscribeMailto(d.cfg.UnsubscribeMailto, unsubscribe); mailto != "" {
		value += ", <" + mailto + ">"
	}
	e.Headers = append(e.Headers,
		nurture.Header{Name: "List-Unsubscribe", Value: value},
		nurture.Header{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		nurture.Header{Name: "List-Id", Value: fmt.Sprintf("%s %s <%s.%s>", headerWord(d.cfg.Product.Name), r.Topic, r.Topic, domain)},
	)
	if campaign {
		e.Headers = append(e.Headers, nurture.Header{Name: "Precedence", Value: "bulk"})
	}
	return e
}

// headerWord keeps only characters that are safe in a header's free text.
func headerWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '<' || r == '>' || r == ',' || r == ';' || r == ':' {
			return -1
		}
		return r
	}, s)
}

// MessageIDHeader is the Message-ID of message id: derived from the id and
// the installation's key (nurture.MessageIDs), so a retried delivery
// carries the same Message-ID and receivers can tell it is the same email,
// while another installation's message of the same id has another.
func MessageIDHeader(ids nurture.MessageIDs, id int64, from string) string {
	return ids.Header(id, from[strings.LastIndexByte(from, '@')+1:])
}
