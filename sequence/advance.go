package sequence

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nurture-email/nurture"
)

// maxDecisions bounds the rounds of one batch: sends in a row, decisions
// made again because an enrollment changed meanwhile, and enrollments of
// one contact taken one after another.
const maxDecisions = 50

// Advance advances enrollment id if it is due: AdvanceBatch of one.
func (e *Engine) Advance(ctx context.Context, id int64) error {
	return e.AdvanceBatch(ctx, []int64{id})
}

// AdvanceBatch advances the enrollments ids that are due, in rounds: a
// round loads them in one query and the facts of their contacts in a few,
// decides each in Go, applies every decision in one transaction and queues
// the emails created as one send batch. After a send an enrollment is
// decided again in the next round (the next step may be another send, or a
// wait), as is one that changed while its decision was being made (an
// event woke it, another advance came first: its decision was dropped). An
// enrollment that is not due, or has ended, is left alone, so a batch
// queued twice does nothing the second time; the store's revision check
// and the dedupe key of each step's email are what make a step run once.
func (e *Engine) AdvanceBatch(ctx context.Context, ids []int64) error {
	pending := slices.Compact(slices.Sorted(slices.Values(ids)))
	for range maxDecisions {
		if len(pending) == 0 {
			return nil
		}
		again, created, err := e.advanceRound(ctx, pending)
		e.enqueue(ctx, created)
		if err != nil {
			return err
		}
		pending = again
	}
	return nil
}

// item is one enrollment of a round, on its way to a decision.
type item struct {
	en    *nurture.Enrollment
	st    State
	seq   *Sequence
	moved bool
}

// advanceRound decides and applies once for each of ids that is due, and
// returns those to decide again and the messages created.
func (e *Engine) advanceRound(ctx context.Context, ids []int64) (again []int64, created []*nurture.Message, err error) {
	ens, err := e.cfg.Store.Enrollments(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	now := e.cfg.Clock.Now().UTC()
	var (
		items   []item
		updates []nurture.EnrollmentUpdate
		sends   []bool // by update: whether it is a send, decided again once applied
		seen    = map[int64]bool{}
	)
	for i := range ens {
		en := &ens[i]
		if en.Status != nurture.EnrollmentActive || en.NextRun.After(now) {
			continue
		}
		if seen[en.ContactID] {
			// One enrollment of a contact per round: the next one's facts
			// and frequency cap then count the email this one creates.
			again = append(again, en.ID)
			continue
		}
		seen[en.ContactID] = true
		var st State
		if err := json.Unmarshal(en.State, &st); err != nil {
			updates, sends = append(updates, e.fail(en, now, fmt.Sprintf("its state does not read: %v", err))), append(sends, false)
			continue
		}
		seq, moved, err := e.version(ctx, en, st.Step)
		if err != nil {
			if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
				updates, sends = append(updates, e.fail(en, now, err.Error())), append(sends, false)
				continue
			}
			return nil, nil, err
		}
		items = append(items, item{en: en, st: st, seq: seq, moved: moved})
	}

	reqs := make([]nurture.FactsRequest, len(items))
	contacts := make([]int64, len(items))
	for i, it := range items {
		reqs[i] = nurture.FactsRequest{ContactID: it.en.ContactID, Needs: it.seq.Needs().Facts(), Since: it.st.Started}
		contacts[i] = it.en.ContactID
	}
	var facts []*nurture.Facts
	if len(reqs) > 0 {
		if facts, err = e.cfg.Store.LoadFactsBatch(ctx, reqs); err != nil {
			return nil, nil, err
		}
	}
	var sent map[int64][]time.Time
	if e.cfg.Cap > 0 && len(contacts) > 0 {
		if sent, err = e.cfg.Store.RecentSendsBatch(ctx, contacts, now.Add(-e.cfg.CapPeriod)); err != nil {
			return nil, nil, err
		}
	}
	for i, it := range items {
		if facts[i] == nil {
			updates, sends = append(updates, e.end(it.en, now, nurture.EnrollmentExited, "the contact was erased")), append(sends, false)
			continue
		}
		in := Input{Sequence: it.seq, State: it.st, Facts: facts[i], Now: now, DefaultZone: e.cfg.DefaultZone, Zones: &e.zones, Window: e.cfg.Window}
		if e.cfg.Cap > 0 {
			in.Cap = Cap{Limit: e.cfg.Cap, Period: e.cfg.CapPeriod, Sent: sent[it.en.ContactID]}
		}
		d, err := Decide(in)
		if err != nil {
			updates, sends = append(updates, e.fail(it.en, now, err.Error())), append(sends, false)
			continue
		}
		u, err := e.update(it.en, it.seq, d, now)
		if err != nil {
			return nil, nil, err
		}
		send := d.Action == ActSend
		if send {
			// Decide again at once, on the facts as they stand once the
			// email exists; a decision that is not another send is
			// applied with the send, in the same update.
			if next, ok := e.afterSend(in, d, now); ok {
				nu, err := e.update(it.en, it.seq, next, now)
				if err != nil {
					return nil, nil, err
				}
				nu.Message, nu.Reasons, nu.Decisions = u.Message, u.Reasons, 2
				nu.History = append(u.History, nu.History...)
				u, send = nu, false
			}
		}
		if it.moved {
			u.Version = it.seq.Version
			u.History = append([]nurture.EnrollmentRecord{{Step: it.st.Step, Kind: "version",
				Detail: "moved from version " + it.en.Version + " to " + it.seq.Version, At: now}}, u.History...)
		}
		updates, sends = append(updates, u), append(sends, send)
	}
	if len(updates) == 0 {
		return again, nil, nil
	}
	res, err := e.cfg.Store.ApplyEnrollments(ctx, updates)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range res {
		switch {
		case !r.Applied:
			again = append(again, updates[i].ID) // it changed meanwhile: decide again
		case sends[i]:
			again = append(again, updates[i].ID)
		}
		if r.Message != nil {
			created = append(created, r.Message)
		}
	}
	slices.Sort(again)
	return again, created, nil
}

// afterSend makes the decision that follows the send d, on in's facts with
// the send's email added as the store would load it once created (dated
// now, counted by the frequency cap unless transactional). ok is false
// when that decision is another send, or fails: the enrollment is then
// decided again in the next round, on the store's facts.
func (e *Engine) afterSend(in Input, d Decision, now time.Time) (next Decision, ok bool) {
	if d.Email == nil {
		return Decision{}, false
	}
	f := *in.Facts
	f.Emails = append(slices.Clone(f.Emails), nurture.EmailFacts{Template: d.Email.Template, Topic: d.Email.Topic,
		Sequence: in.Sequence.ID, Step: d.Email.Step, SentAt: now})
	in.Facts, in.State = &f, d.State
	if in.Cap.Limit > 0 && d.Email.Topic != nurture.TopicTransactional {
		in.Cap.Sent = append(slices.Clone(in.Cap.Sent), now)
	}
	next, err := Decide(in)
	if err != nil || next.Action == ActSend {
		return Decision{}, false
	}
	return next, true
}

// enqueue queues the delivery of the messages created, as send batches
// named after their first message (a name no other batch has).
func (e *Engine) enqueue(ctx context.Context, msgs []*nurture.Message) {
	byQueue := map[string][]int64{}
	var queues []string
	for _, m := range msgs {
		q := m.TaskQueue() // its class in its region
		if _, ok := byQueue[q]; !ok {
			queues = append(queues, q)
		}
		byQueue[q] = append(byQueue[q], m.ID)
	}
	for _, q := range queues {
		ids := byQueue[q]
		if _, err := e.cfg.Enqueuer.EnqueueSendBatch(ctx, "seq:"+strconv.FormatInt(ids[0], 10), q, ids); err != nil {
			// The messages are in the store, marked queued now: the
			// reconciler queues them again after its grace.
			e.cfg.Logger.Warn("queue sequence emails", "messages", len(ids), "message_id", ids[0], "err", err)
		}
	}
}

// fail is the update that ends an enrollment that cannot go on, saying why.
func (e *Engine) fail(en *nurture.Enrollment, now time.Time, why string) nurture.EnrollmentUpdate {
	e.cfg.Logger.Warn("sequence enrollment failed", "enrollment_id", en.ID, "contact_id", en.ContactID, "sequence_id", en.Sequence, "reason", why)
	return e.end(en, now, nurture.EnrollmentFailed, why)
}

// end is the update that ends an enrollment with status, saying why.
func (e *Engine) end(en *nurture.Enrollment, now time.Time, status nurture.EnrollmentStatus, why string) nurture.EnrollmentUpdate {
	return nurture.EnrollmentUpdate{
		ID: en.ID, Revision: en.Revision, Status: status, Reason: why, Step: en.Step, Visit: en.Visit, State: en.State, At: now,
		History: []nurture.EnrollmentRecord{{Step: en.Step, Kind: string(status), Detail: why, At: now}},
	}
}
