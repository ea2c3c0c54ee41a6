package campaign

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nurture-email/nurture"
)

// MaxTestAddresses is how many addresses one test send may name.
const MaxTestAddresses = 10

// TestStore is what test sends need of the store.
type TestStore interface {
	ContactByEmail(ctx context.Context, email string) (*nurture.Contact, error)
	CreateMessage(ctx context.Context, m nurture.Message) (*nurture.Message, bool, error)
}

// SendEnqueuer hands one message to delivery.
type SendEnqueuer interface {
	EnqueueSend(ctx context.Context, m *nurture.Message) error
}

// Tester sends a campaign's test emails: to contacts named by address, so
// that each email renders with a real profile, one per variant of an A/B
// test, on the critical queue. They are not the campaign's: no audience
// row, no campaign id, so its figures never count them; their dedupe key
// (camp-test:<campaign>:<contact>:<variant>:<time>) says what they were.
type Tester struct {
	Store    TestStore
	Enqueuer SendEnqueuer
	Clock    nurture.Clock // default: the wall clock
}

// TestEmail is one test email sent.
type TestEmail struct {
	Email     string
	MessageID int64
	Variant   string // the A/B variant's name, or ""
}

// Send sends c's test emails to the contacts of addresses (1 to
// MaxTestAddresses). An address that is not a contact's is an error naming
// it (addresses[2]); nothing is sent then.
func (t *Tester) Send(ctx context.Context, c *nurture.Campaign, addresses []string) ([]TestEmail, error) {
	if len(addresses) == 0 || len(addresses) > MaxTestAddresses {
		return nil, nurture.FieldError("addresses", "must list 1 to %d addresses of contacts", MaxTestAddresses)
	}
	clock := t.Clock
	if clock == nil {
		clock = nurture.SystemClock{}
	}
	contacts := make([]*nurture.Contact, len(addresses))
	for i, a := range addresses {
		field := "addresses[" + strconv.Itoa(i) + "]"
		email, err := nurture.NormalizeEmail(a)
		if err != nil {
			return nil, nurture.FieldError(field, "is not an email address")
		}
		ct, err := t.Store.ContactByEmail(ctx, email)
		if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
			return nil, nurture.FieldError(field, "is no contact's address: test emails go to contacts, so that they render with a real profile")
		}
		if err != nil {
			return nil, err
		}
		contacts[i] = ct
	}
	type version struct{ name, template, subject string }
	versions := []version{{"", c.Template, c.Subject}}
	if c.AB != nil {
		versions = versions[:0]
		for _, v := range c.AB.Variants {
			tmpl, subject := v.Template, v.Subject
			if tmpl == "" {
				tmpl = c.Template
			}
			if subject == "" {
				subject = c.Subject
			}
			versions = append(versions, version{v.Name, tmpl, subject})
		}
	}
	now := clock.Now()
	var out []TestEmail
	for _, ct := range contacts {
		for i, v := range versions {
			key := fmt.Sprintf("camp-test:%d:%d:%d:%d", c.ID, ct.ID, i, now.UnixNano())
			m, _, err := t.Store.CreateMessage(ctx, nurture.Message{DedupeKey: key, ContactID: ct.ID, Template: v.template,
				Subject: v.subject, Queue: "critical", SendAt: now, EnqueuedAt: now})
			if err != nil {
				return out, err
			}
			if err := t.Enqueuer.EnqueueSend(ctx, m); err != nil {
				return out, err
			}
			out = append(out, TestEmail{Email: ct.Email, MessageID: m.ID, Variant: v.name})
		}
	}
	return out, nil
}
