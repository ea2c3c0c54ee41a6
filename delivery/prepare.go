package delivery

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// prepare loads what the checks need for the whole batch, then checks,
// renders and composes each message. An error here is the store's: every
// claim is given back.
func (d *Deliverer) prepare(ctx context.Context, claimed []nurture.Message) ([]*item, error) {
	store := d.cfg.Store
	contactIDs := make([]int64, len(claimed))
	for i, m := range claimed {
		contactIDs[i] = m.ContactID
	}
	contacts, companies, err := store.ContactsWithCompanies(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	var emails []string
	for _, c := range contacts {
		if c.Email != "" {
			emails = append(emails, c.Email)
		}
	}
	suppressed, err := store.SuppressedAmong(ctx, emails)
	if err != nil {
		return nil, err
	}
	optOuts, err := store.OptOuts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	var optIns map[int64][]nurture.Topic
	if len(d.cfg.RequireOptIn) > 0 {
		if optIns, err = store.OptIns(ctx, contactIDs); err != nil {
			return nil, err
		}
	}
	engagement, err := store.EngagementOf(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	var sent map[int64]int
	if d.cfg.FrequencyCap > 0 {
		if sent, err = store.SentSince(ctx, contactIDs, d.cfg.Clock.Now().Add(-24*time.Hour)); err != nil {
			return nil, err
		}
	}

	work := make([]*item, len(claimed))
	for i := range claimed {
		m := claimed[i]
		w := &item{msg: m}
		work[i] = w
		if d.elsewhere(&m) {
			// The contact moved to another region after the task was
			// queued: this relay must not send it. Not an attempt, not a
			// failure: its own region's queue gets it.
			w.release(fmt.Sprintf("region %s: handed to its own region's queue (this worker's relay is %s's)", d.regionOf(&m), d.cfg.Region), nil)
			w.elsewhere = true
			continue
		}
		c := contacts[m.ContactID]
		switch {
		case c == nil:
			w.skip("contact erased or gone")
			continue
		case c.Email == "":
			w.skip("contact has no email address")
			continue
		case suppressed[c.Email] != "":
			w.skip("address suppressed: " + string(suppressed[c.Email]))
			continue
		}
		unsubscribe := d.cfg.Links.Unsubscribe(&m) // one link for the body and the headers
		r, err := d.render(&m, c, companies[c.CompanyID], engagement[c.ID], unsubscribe)
		if err != nil {
			w.settle(nurture.StatusFailed, err.Error(), err)
			continue
		}
		w.outcome.Topic = r.Topic
		if r.Topic != nurture.TopicTransactional {
			if !c.HeldSince.IsZero() {
				w.skip(nurture.HoldReason)
				continue
			}
			if slices.Contains(optOuts[c.ID], r.Topic) {
				w.skip("unsubscribed from " + string(r.Topic))
				continue
			}
			if slices.Contains(d.cfg.RequireOptIn, r.Topic) && !slices.Contains(optIns[c.ID], r.Topic) {
				w.skip("no consent: " + string(r.Topic) + " email needs the contact's opt-in, and they gave none")
				continue
			}
			if d.cfg.FrequencyCap > 0 && sent[c.ID] >= d.cfg.FrequencyCap {
				w.skip(fmt.Sprintf("frequency cap: %d emails in 24 hours", sent[c.ID]))
				continue
			}
			if sent != nil {
				sent[c.ID]++ // a second message of the batch to the same person counts the first
			}
		}
		w.email = d.compose(&m, c, r, unsubscribe)
		if nurture.IsExportRequest(m.DedupeKey) || m.Template == nurture.ExportTemplate {
			d.attachExport(ctx, w, c)
		}
	}
	return work, nil
}

// attachExport attaches the contact's export document to w's email, read
// from the store now: an export email carries the data as it is when it
// leaves, and the document is never kept anywhere else. The export
// template goes only to a person who asked for it, with their own data.
func (d *Deliverer) attachExport(ctx context.Context, w *item, c *nurture.Contact) {
	if !nurture.IsExportRequest(w.msg.DedupeKey) || w.msg.Template != nurture.ExportTemplate {
		err := nurture.FieldError("template", "%s goes only with a person's request for their data, and such a request only with it", nurture.ExportTemplate)
		w.email = nil
		w.settle(nurture.StatusFailed, err.Error(), err)
		return
	}
	if d.cfg.Exports == nil {
		err := nurture.Errorf(nurture.CodeInvalid, "export email: no exporter configured")
		w.email = nil
		w.settle(nurture.StatusFailed, err.Error(), err)
		return
	}
	doc, err := d.cfg.Exports.ExportContact(ctx, c.ID)
	switch {
	case nurture.ErrorCodeOf(err) == nurture.CodeNotFound:
		w.email = nil
		w.skip("contact erased or gone")
	case err != nil:
		w.email = nil
		w.settle(nurture.StatusDeferred, "read the export: "+err.Error(), err)
	default:
		w.email.Attachments = []nurture.Attachment{{Filename: nurture.ExportFilename(d.cfg.Clock.Now()),
			ContentType: "application/json", Data: doc}}
	}
}

// render renders m's template for c, of company co (nil: none), with
// tracked links.
func (d *Deliverer) render(m *nurture.Message, c *nurture.Contact, co *nurture.Company, e *nurture.EngagementSummary, unsubscribe string) (*templates.Rendered, error) {
	links := d.cfg.Links
	if e == nil {
		e = &nurture.EngagementSummary{}
	}
	r, err := d.cfg.Renderer.Render(m.Template, templates.Data{
		Contact:    *c,
		Company:    templates.CompanyOf(co),
		Engagement: *e,
		Message:    templates.MessageInfo{ID: m.ID, Template: m.Template},
		Product:    d.cfg.Product,
		Subject:    m.Subject,
		Links: templates.Links{
			Unsubscribe:   unsubscribe,
			Preferences:   unsubscribe,
			ViewInBrowser: links.View(m),
			Confirm:       links.Confirm(m),
		},
		Track: &templates.Tracking{
			Click:     func(i int, target string) string { return links.Click(m, i, target) },
			OpenPixel: links.Open(m),
		},
	})
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "template",
			Message: fmt.Sprintf("render %s: %v", m.Template, err)}
	}
	return r, nil
}
